"""Data the assistant hands to its clients (app, CLI, evals)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Mode = Literal["chat", "draft", "extractive"]


@dataclass(frozen=True)
class Source:
    """A retrieved passage shown to the user and numbered [n] for the model."""

    n: int
    chunk_id: str
    source: str  # file name in corpus/
    title: str
    kind: str
    date: str | None
    section: str
    text: str  # the passage (exact span of the document text)
    start: int  # character span of ``text`` in the document text
    end: int
    score: float = 0.0

    def label(self) -> str:
        return f"{self.title}" + (f" — {self.section}" if self.section and self.section != self.title else "")


@dataclass(frozen=True)
class Citation:
    """One [n] in the answer, resolved to the exact quote that supports it."""

    n: int
    source: str  # file name in corpus/
    title: str
    section: str
    quote: str  # exact substring of the document text
    start: int  # character span of ``quote`` in the document text
    end: int


@dataclass(frozen=True)
class RemovedClaim:
    text: str
    reason: str  # Dutch, e.g. "bedrag '€ 50 miljoen' staat niet in bron [2]"


@dataclass
class Answer:
    question: str
    text: str
    mode: Mode
    citations: list[Citation] = field(default_factory=list)
    sources: list[Source] = field(default_factory=list)
    abstained: bool = False
    reason: str = ""  # why it abstained or fell back ("" for a normal answer)
    removed: list[RemovedClaim] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)  # seconds per stage
    standalone_question: str = ""
    search_query: str = ""  # what was searched: the standalone question, in Dutch
    model: str = ""
    fallback: bool = False  # True when the extractive path replaced the LLM
    notice: str = ""  # for a fallback: why the answer quotes the sources, in Dutch
    evidence_score: float = 0.0  # best evidence sentence (dense + term overlap); calibrates abstention
    # probability that the model's reply starts with its refusal marker (llama.cpp backend; None elsewhere)
    refusal_probability: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class StreamEvent:
    """What ``Assistant.stream`` yields: sources first, then tokens, then the answer."""

    kind: Literal["sources", "token", "answer"]
    sources: list[Source] | None = None
    token: str = ""
    answer: Answer | None = None
