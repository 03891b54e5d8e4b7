"""Reading and writing bulk question files (CSV / JSONL) for the app and ``python -m assistant batch``.

Input rows: ``id``, ``question`` and optionally ``history`` (a JSON list of
{role, content}), ``sender_name`` (or ``name``, as in ``python -m assistant batch``)
and ``gemeente``. The app refuses a whole file that it cannot use (one Dutch
message) and takes at most ``MAX_ROWS`` questions at a time; the CLI reads
leniently: a bad row becomes a row with an ``error`` and the rest continues.
File-level problems are raised as ``BulkFileError`` with a Dutch message.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

MAX_ROWS = 200
SUFFIXES = (".csv", ".jsonl")
QUESTION_KEYS = ("question", "vraag")
EXAMPLE_CSV = (
    "id,question,history\n"
    "1,Hoeveel geld krijgen gemeenten uit het Nationaal Programma Onderwijs?,\n"
    '2,Over welke periode loopt dat?,"[{""role"": ""user"", ""content"": ""Hoeveel geld krijgen gemeenten uit het NPO?""}]"\n'
)
OUTPUT_COLUMNS = ("id", "question", "answer", "abstained", "citations", "timings", "error")


class BulkFileError(Exception):
    """A bulk file that cannot be used; ``str(error)`` is a Dutch message."""


@dataclass
class BulkRow:
    id: str
    question: str
    history: list[dict[str, str]] = field(default_factory=list)
    sender_name: str | None = None
    gemeente: str | None = None
    error: str = ""  # lenient reading only: why this row cannot be answered


def _decode(data: bytes) -> str:
    if b"\x00" in data[:4096]:
        raise BulkFileError(
            "Het bestand kon niet als tekst worden gelezen (het lijkt een binair bestand, "
            "bijvoorbeeld een Excel-bestand). Sla het op als CSV (UTF-8) of JSONL."
        )
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise BulkFileError(  # pragma: no cover - cp1252 decodes almost everything
        "De tekencodering van het bestand is onbekend; sla het op als UTF-8."
    )


def _history(value: Any, line: int) -> list[dict[str, str]]:
    if value in (None, "", []):
        return []
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as exc:
            raise BulkFileError(f"Regel {line}: de kolom 'history' bevat geen geldige JSON.") from exc
    if not isinstance(value, list) or not all(
        isinstance(t, dict) and isinstance(t.get("content"), str) and t.get("role") in ("user", "assistant")
        for t in value
    ):
        raise BulkFileError(
            f"Regel {line}: 'history' moet een lijst zijn van beurten met 'role' (user of assistant) en 'content'."
        )
    return [{"role": t["role"], "content": t["content"]} for t in value]


def _row(record: dict[str, Any], line: int, number: int, lenient: bool = False) -> BulkRow | None:
    record = {str(k).strip().lower(): v for k, v in record.items() if k is not None}
    question = next((record[k] for k in QUESTION_KEYS if k in record), None)
    question = "" if question is None else str(question).strip()
    ident = str(record.get("id") or "").strip() or str(number)
    if not question:
        return BulkRow(ident, "", error="Geen vraag in deze rij.") if lenient else None
    sender = str(record.get("sender_name") or record.get("name") or "").strip() or None
    gemeente = str(record.get("gemeente") or "").strip() or None
    try:
        history = _history(record.get("history"), line)
    except BulkFileError as exc:
        if not lenient:
            raise
        return BulkRow(ident, question, error=str(exc))
    return BulkRow(ident, question, history, sender, gemeente)


def _check_columns(keys: set[str]) -> None:
    if not any(k in keys for k in QUESTION_KEYS):
        found = ", ".join(sorted(keys)) or "geen"
        raise BulkFileError(
            f"De kolom 'question' ontbreekt (gevonden: {found}). "
            "Verwacht worden de kolommen id, question en optioneel history."
        )


def parse_bulk(name: str, data: bytes, max_rows: int = MAX_ROWS, lenient: bool = False) -> list[BulkRow]:
    """The question rows of an uploaded CSV or JSONL file (``lenient``: bad rows kept with an error)."""
    suffix = Path(name).suffix.lower()
    if suffix not in SUFFIXES:
        raise BulkFileError(
            f"Bestandstype '{suffix or '(geen)'}' wordt niet ondersteund. "
            "Upload een .csv- of .jsonl-bestand met de kolommen id, question en optioneel history."
        )
    if not data or not data.strip():
        raise BulkFileError("Het bestand is leeg.")
    text = _decode(data)
    if not text.strip():
        raise BulkFileError("Het bestand is leeg.")

    records: list[tuple[int, dict[str, Any]]] = []
    if suffix == ".jsonl":
        for line_no, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
                problem = "" if isinstance(obj, dict) else "geen JSON-object met de sleutels id en question"
            except json.JSONDecodeError:
                problem = "geen geldige JSON"
            if problem:
                if not lenient:
                    raise BulkFileError(f"Regel {line_no} is {problem}.")
                obj = {"id": f"regel-{line_no}", "question": "", "_error": f"Regel {line_no} is {problem}."}
            records.append((line_no, obj))
        _check_columns({str(k).strip().lower() for _, obj in records for k in obj})
    else:
        sample = text[:4096]
        try:
            dialect: Any = csv.Sniffer().sniff(sample, delimiters=",;\t")
        except csv.Error:
            dialect = csv.excel
        reader = csv.DictReader(io.StringIO(text), dialect=dialect)
        _check_columns({(f or "").strip().lower() for f in reader.fieldnames or []})
        try:
            for rec in reader:
                records.append((reader.line_num, rec))
        except csv.Error as exc:
            raise BulkFileError(f"Het CSV-bestand is ongeldig (regel {reader.line_num}).") from exc

    rows = []
    for i, (line, rec) in enumerate(records, start=1):
        row = _row(rec, line, i, lenient)
        if row is not None:
            row.error = rec.get("_error", row.error) if isinstance(rec, dict) else row.error
            rows.append(row)
    if not rows:
        raise BulkFileError("Het bestand bevat geen vragen (de kolom 'question' is overal leeg).")
    if len(rows) > max_rows:
        raise BulkFileError(
            f"Het bestand bevat {len(rows)} vragen; het maximum is {max_rows} per keer. "
            "Splits het bestand in kleinere delen."
        )
    return rows


def result_row(row: BulkRow, answer: Any | None = None, error: str = "") -> dict[str, Any]:
    """One output row (the same fields as ``python -m assistant batch``)."""
    if answer is None:
        return {"id": row.id, "question": row.question, "answer": "", "abstained": "",
                "citations": "[]", "timings": "{}", "error": error}
    data = answer.to_dict() if hasattr(answer, "to_dict") else dict(answer)
    return {
        "id": row.id,
        "question": row.question,
        "answer": data.get("text", ""),
        "abstained": bool(data.get("abstained")),
        "citations": json.dumps(data.get("citations", []), ensure_ascii=False),
        "timings": json.dumps(data.get("timings", {})),
        "error": error,
    }


def results_csv(rows: list[dict[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=OUTPUT_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for r in rows:
        writer.writerow({k: r.get(k, "") for k in OUTPUT_COLUMNS})
    return out.getvalue()
