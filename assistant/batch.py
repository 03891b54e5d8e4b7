"""Batch answering: a JSONL or CSV file of questions in, one answer row per question out."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Any

from .assistant import Assistant
from .types import Mode

MAX_ROWS = 5000
OUTPUT_FIELDS = ["id", "question", "answer", "abstained", "citations", "timings", "error"]


class BatchInputError(ValueError):
    """The input file as a whole cannot be read; the message is Dutch."""


def read_rows(name: str, data: bytes) -> list[dict[str, Any]]:
    """Rows from JSONL or CSV bytes; a malformed JSONL line becomes a row with an 'error'."""
    if not data.strip():
        raise BatchInputError("Het bestand is leeg.")
    if b"\x00" in data[:4096]:
        raise BatchInputError("Dit lijkt een binair bestand; lever JSONL of CSV aan.")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("cp1252", errors="replace")
    suffix = Path(name).suffix.lower()
    rows: list[dict[str, Any]] = []
    if suffix in (".jsonl", ".json", ".ndjson"):
        for lineno, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                if not isinstance(row, dict):
                    raise ValueError
            except ValueError:
                row = {"id": f"regel-{lineno}", "error": f"Regel {lineno} is geen geldig JSON-object."}
            rows.append(row)
    elif suffix == ".csv":
        sample = text[:4096]
        try:
            dialect = csv.Sniffer().sniff(sample, delimiters=",;\t")
        except csv.Error:
            dialect = csv.excel
        reader = csv.DictReader(io.StringIO(text), dialect=dialect)
        if not reader.fieldnames or "question" not in [f.strip().lower() for f in reader.fieldnames]:
            raise BatchInputError("De CSV mist een kolom 'question'.")
        for row in reader:
            rows.append({(k or "").strip().lower(): v for k, v in row.items()})
    else:
        raise BatchInputError("Alleen .jsonl en .csv worden ondersteund.")
    if len(rows) > MAX_ROWS:
        raise BatchInputError(f"Te veel vragen ({len(rows)}); maximaal {MAX_ROWS} per bestand.")
    return rows


def _history(value: Any) -> list[dict[str, str]]:
    if value in (None, ""):
        return []
    if isinstance(value, str):
        value = json.loads(value)
    if not isinstance(value, list) or not all(isinstance(t, dict) and "content" in t for t in value):
        raise ValueError("history moet een lijst van {role, content} zijn")
    return [{"role": str(t.get("role", "user")), "content": str(t["content"])} for t in value]


def answer_rows(
    assistant: Assistant,
    rows: list[dict[str, Any]],
    mode: Mode,
    progress: Callable[[int, int], None] | None = None,
) -> Iterator[dict[str, Any]]:
    """One output row per input row; a bad row gets an 'error' and the rest continues."""
    for i, row in enumerate(rows):
        row_id = str(row.get("id") or i + 1)
        question = str(row.get("question") or "").strip()
        out: dict[str, Any] = {"id": row_id, "question": question, "answer": "", "abstained": None,
                               "citations": [], "timings": {}, "error": row.get("error", "")}
        if not out["error"]:
            if not question:
                out["error"] = "Geen vraag in deze rij."
            else:
                try:
                    answer = assistant.ask(question, _history(row.get("history")), mode=mode,
                                           sender_name=row.get("name") or None, gemeente=row.get("gemeente") or None)
                    out.update(answer=answer.text, abstained=answer.abstained,
                               citations=[asdict(c) for c in answer.citations], timings=answer.timings)
                except Exception as exc:  # noqa: BLE001 - one bad row must not stop the batch
                    out["error"] = f"Deze vraag kon niet worden verwerkt: {exc}"
        if progress:
            progress(i + 1, len(rows))
        yield out


def write_rows(path: Path, rows: list[dict[str, Any]]) -> None:
    """JSONL or CSV by the output suffix; written to a temp file, then renamed."""
    tmp = path.with_name(f".{path.name}.tmp")
    if path.suffix.lower() == ".csv":
        with tmp.open("w", encoding="utf-8", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=OUTPUT_FIELDS)
            writer.writeheader()
            for row in rows:
                writer.writerow({k: json.dumps(row[k], ensure_ascii=False) if isinstance(row[k], (list, dict)) else row[k]
                                 for k in OUTPUT_FIELDS})
    else:
        with tmp.open("w", encoding="utf-8") as fh:
            for row in rows:
                fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    tmp.replace(path)
