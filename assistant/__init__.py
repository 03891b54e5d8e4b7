"""Retrieval, prompting, generation, verification and citation for the NPO-assistent."""

from __future__ import annotations

import threading

from settings import Settings, get_settings

from .assistant import Assistant
from .types import Answer, Citation, RemovedClaim, Source, StreamEvent

__all__ = ["Answer", "Assistant", "Citation", "RemovedClaim", "Source", "StreamEvent", "get_assistant"]

_INSTANCES: dict[Settings, Assistant] = {}
_LOCK = threading.Lock()


def get_assistant(settings: Settings | None = None) -> Assistant:
    """The process-wide assistant for these settings (models and index opened once)."""
    settings = settings or get_settings()
    with _LOCK:
        if settings not in _INSTANCES:
            _INSTANCES[settings] = Assistant(settings)
        return _INSTANCES[settings]
