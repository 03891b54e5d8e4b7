"""Shared fixtures: a real index over a copy of the corpus, in a temp dir."""

from __future__ import annotations

import os
import shutil
import socket
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("OMP_NUM_THREADS", str(os.cpu_count() or 2))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

from settings import Settings  # noqa: E402

CORPUS = ROOT / "corpus"


def free_port() -> int:
    """A free TCP port on 127.0.0.1 for a server started by a test."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_settings(tmp: Path, **overrides: object) -> Settings:
    """Settings pointing at a fresh copy of the corpus and an empty data dir under ``tmp``."""
    corpus = tmp / "corpus"
    if not corpus.exists():
        shutil.copytree(CORPUS, corpus)
    return Settings(corpus_dir=corpus, data_dir=tmp / "data", feedback_db=tmp / "feedback.sqlite3", **overrides)


@pytest.fixture(scope="session")
def indexed_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """Settings whose index holds the whole corpus (ingested once per test session)."""
    from assistant import get_assistant

    settings = make_settings(tmp_path_factory.mktemp("shared"))
    report = get_assistant(settings).ingest()
    assert report.ok, report.failed
    return settings


@pytest.fixture(scope="session")
def assistant(indexed_settings: Settings):
    from assistant import get_assistant

    return get_assistant(indexed_settings)
