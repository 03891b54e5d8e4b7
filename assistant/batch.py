"""Batch answering for ``python -m assistant batch``: one output row per input row."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from .assistant import Assistant
from .bulkfile import OUTPUT_COLUMNS, BulkRow, result_row
from .types import Mode

CLI_MAX_ROWS = 5000


def answer_rows(
    assistant: Assistant,
    rows: list[BulkRow],
    mode: Mode,
    progress: Callable[[int, int], None] | None = None,
) -> Iterator[dict[str, Any]]:
    """Answer each row; a bad row keeps its error and the rest continues."""
    for i, row in enumerate(rows):
        if row.error:
            yield result_row(row, error=row.error)
        else:
            try:
                answer = assistant.ask(row.question, row.history, mode=mode,
                                       sender_name=row.sender_name, gemeente=row.gemeente)
                yield result_row(row, answer)
            except Exception as exc:  # noqa: BLE001 - one bad row must not stop the batch
                yield result_row(row, error=f"Deze vraag kon niet worden verwerkt ({type(exc).__name__}).")
        if progress:
            progress(i + 1, len(rows))


def write_rows(path: Path, rows: list[dict[str, Any]]) -> None:
    """JSONL or CSV by the output suffix; written to a temp file, then renamed."""
    tmp = path.with_name(f".{path.name}.tmp")
    if path.suffix.lower() == ".csv":
        with tmp.open("w", encoding="utf-8", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=OUTPUT_COLUMNS)
            writer.writeheader()
            for row in rows:
                writer.writerow({k: row.get(k, "") for k in OUTPUT_COLUMNS})
    else:
        with tmp.open("w", encoding="utf-8") as fh:
            for row in rows:
                data = dict(row)
                for key in ("citations", "timings"):
                    if isinstance(data.get(key), str):
                        data[key] = json.loads(data[key] or "null")
                fh.write(json.dumps(data, ensure_ascii=False) + "\n")
    tmp.replace(path)
