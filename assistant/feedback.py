"""Feedback store: one SQLite file with a row per 👍/👎 on an answer.

Safe for several Streamlit sessions at once: every call opens its own
connection (WAL journal, busy timeout), so no connection is shared between
threads. The schema is created when the store is opened.
"""

from __future__ import annotations

import csv
import io
import json
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

_SCHEMA = """
CREATE TABLE IF NOT EXISTS feedback (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at   TEXT    NOT NULL,
    question     TEXT    NOT NULL,
    answer       TEXT    NOT NULL,
    sources_json TEXT    NOT NULL DEFAULT '[]',
    mode         TEXT    NOT NULL DEFAULT '',
    model        TEXT    NOT NULL DEFAULT '',
    rating       INTEGER NOT NULL CHECK (rating IN (-1, 1)),
    comment      TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS feedback_created_at ON feedback (created_at);
"""

COLUMNS = ("id", "created_at", "question", "answer", "sources_json", "mode", "model", "rating", "comment")


class FeedbackStore:
    """Append-only store of user feedback on answers."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._create()

    def _create(self, attempts: int = 200) -> None:
        """WAL journal and schema; retried, because switching the journal mode does not wait for a lock.

        Sessions opening a new file at once got "database is locked" from the
        PRAGMA (3 of 60 runs of six threads) although the busy timeout is set.
        """
        for attempt in range(attempts):
            try:
                with self._connect() as conn:
                    if str(conn.execute("PRAGMA journal_mode").fetchone()[0]).lower() != "wal":
                        conn.execute("PRAGMA journal_mode=WAL")
                    conn.executescript(_SCHEMA)
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or attempt == attempts - 1:
                    raise
                time.sleep(0.05)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        conn = sqlite3.connect(self.path, timeout=30.0)
        try:
            conn.execute("PRAGMA busy_timeout = 30000")
            conn.row_factory = sqlite3.Row
            with conn:  # commits on success, rolls back on error
                yield conn
        finally:
            conn.close()

    def add(
        self,
        question: str,
        answer: str,
        sources_json: str | list[Any] | None = None,
        mode: str = "",
        model: str = "",
        rating: int = 1,
        comment: str = "",
    ) -> int:
        """Store one rating (1 = 👍, -1 = 👎); returns the new row id."""
        if rating not in (1, -1):
            raise ValueError("rating must be 1 or -1")
        if sources_json is None:
            sources_json = "[]"
        elif not isinstance(sources_json, str):
            sources_json = json.dumps(sources_json, ensure_ascii=False)
        created = datetime.now(timezone.utc).isoformat(timespec="seconds")
        with self._connect() as conn:
            cur = conn.execute(
                "INSERT INTO feedback (created_at, question, answer, sources_json, mode, model, rating, comment)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (created, question, answer, sources_json, mode or "", model or "", rating, comment or ""),
            )
            return int(cur.lastrowid)

    def update(self, row_id: int, rating: int | None = None, comment: str | None = None) -> bool:
        """Change the rating and/or comment of an existing row; False when the row is unknown."""
        if rating is not None and rating not in (1, -1):
            raise ValueError("rating must be 1 or -1")
        sets, args = [], []
        if rating is not None:
            sets.append("rating = ?")
            args.append(rating)
        if comment is not None:
            sets.append("comment = ?")
            args.append(comment)
        if not sets:
            return self.get(row_id) is not None
        with self._connect() as conn:
            cur = conn.execute(f"UPDATE feedback SET {', '.join(sets)} WHERE id = ?", (*args, row_id))
            return cur.rowcount == 1

    def get(self, row_id: int) -> dict[str, Any] | None:
        with self._connect() as conn:
            row = conn.execute("SELECT * FROM feedback WHERE id = ?", (row_id,)).fetchone()
        return dict(row) if row else None

    def list(self) -> list[dict[str, Any]]:
        """All rows, oldest first."""
        with self._connect() as conn:
            rows = conn.execute("SELECT * FROM feedback ORDER BY id").fetchall()
        return [dict(r) for r in rows]

    def count(self) -> int:
        with self._connect() as conn:
            return int(conn.execute("SELECT COUNT(*) FROM feedback").fetchone()[0])

    def export_csv(self) -> str:
        """All rows as CSV text (header first), for a download button."""
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(COLUMNS)
        for row in self.list():
            writer.writerow([row[c] for c in COLUMNS])
        return out.getvalue()
