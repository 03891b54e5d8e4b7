"""FeedbackStore: schema on open, add/list/update, CSV export, concurrent writers."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
import threading

import pytest

from assistant.feedback import COLUMNS, FeedbackStore


def test_schema_created_on_open(tmp_path):
    path = tmp_path / "sub" / "feedback.sqlite3"
    FeedbackStore(path)
    assert path.is_file()
    with sqlite3.connect(path) as conn:
        cols = [r[1] for r in conn.execute("PRAGMA table_info(feedback)")]
        mode = conn.execute("PRAGMA journal_mode").fetchone()[0]
    assert tuple(cols) == COLUMNS
    assert mode.lower() == "wal"


def test_add_and_list(tmp_path):
    store = FeedbackStore(tmp_path / "f.sqlite3")
    sources = [{"n": 1, "source": "a.txt", "title": "A"}]
    first = store.add("Vraag?", "Antwoord [1].", json.dumps(sources), "chat", "qwen", 1, "Goed")
    second = store.add("Vraag 2?", "Weet ik niet.", sources, "extractive", "extractief", -1, "")
    assert second == first + 1
    rows = store.list()
    assert [r["id"] for r in rows] == [first, second]
    assert rows[0]["question"] == "Vraag?"
    assert rows[0]["rating"] == 1 and rows[1]["rating"] == -1
    assert json.loads(rows[1]["sources_json"]) == sources  # a list is stored as JSON
    assert rows[0]["comment"] == "Goed"
    assert rows[0]["created_at"].endswith("+00:00")
    assert store.count() == 2


def test_reopen_keeps_rows(tmp_path):
    path = tmp_path / "f.sqlite3"
    FeedbackStore(path).add("q", "a", "[]", "chat", "m", 1, "")
    assert len(FeedbackStore(path).list()) == 1


def test_update_comment_and_rating(tmp_path):
    store = FeedbackStore(tmp_path / "f.sqlite3")
    row = store.add("q", "a", "[]", "chat", "m", 1, "")
    assert store.update(row, comment="Bron [2] klopt niet", rating=-1)
    got = store.get(row)
    assert got["comment"] == "Bron [2] klopt niet" and got["rating"] == -1
    assert not store.update(row + 100, comment="x")


@pytest.mark.parametrize("rating", [0, 2, -2])
def test_bad_rating_refused(tmp_path, rating):
    store = FeedbackStore(tmp_path / "f.sqlite3")
    with pytest.raises(ValueError):
        store.add("q", "a", "[]", "chat", "m", rating, "")


def test_export_csv(tmp_path):
    store = FeedbackStore(tmp_path / "f.sqlite3")
    assert store.export_csv().strip() == ",".join(COLUMNS)
    store.add("Wat is \"NPO\", precies?", "Regel 1\nRegel 2", "[]", "chat", "m", -1, "puntkomma; en komma,")
    rows = list(csv.DictReader(io.StringIO(store.export_csv())))
    assert len(rows) == 1
    assert rows[0]["question"] == 'Wat is "NPO", precies?'
    assert rows[0]["answer"] == "Regel 1\nRegel 2"
    assert rows[0]["rating"] == "-1"
    assert rows[0]["comment"] == "puntkomma; en komma,"


def test_concurrent_writers(tmp_path):
    """Several sessions (threads, separate store objects) write at once without losing rows."""
    path = tmp_path / "f.sqlite3"
    errors: list[BaseException] = []

    def worker(k: int) -> None:
        try:
            store = FeedbackStore(path)
            for i in range(25):
                store.add(f"q{k}-{i}", "a", "[]", "chat", "m", 1 if i % 2 else -1, "")
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    rows = FeedbackStore(path).list()
    assert len(rows) == 150
    assert len({r["question"] for r in rows}) == 150
