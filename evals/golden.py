"""Golden evaluation set for the NPO assistant: schema, loader and consistency checks.

The set lives in ``evals/data/golden.jsonl`` (one JSON object per line). Use
``load_golden()`` to read and validate it and ``check_gold(items, corpus_dir)``
to verify it against the corpus (quotes present verbatim, key facts present,
sources exist, ids unique, every kind in both splits).
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from pathlib import Path
from typing import Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_GOLDEN_PATH = REPO_ROOT / "evals" / "data" / "golden.jsonl"
DEFAULT_CORPUS_DIR = REPO_ROOT / "corpus"

Kind = Literal[
    "factual", "list", "procedural", "multi_doc",
    "unanswerable", "out_of_scope", "injection", "follow_up",
]
KINDS: tuple[str, ...] = get_args(Kind)
SPLITS: tuple[str, ...] = ("dev", "test")
ABSTAIN_ONLY_KINDS = {"unanswerable", "out_of_scope"}
QUOTE_MIN_CHARS = 30
QUOTE_MAX_CHARS = 200
DEV_SHARE_RANGE = (0.35, 0.60)  # overall fraction of items in dev (sets written to find errors, K and L, are dev)
BULLETS = "•"


class Turn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: Literal["user", "assistant"]
    content: str = Field(min_length=1)


class GoldQuote(BaseModel):
    model_config = ConfigDict(extra="forbid")

    source: str = Field(min_length=1)
    quote: str = Field(min_length=1)


class GoldItem(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=r"^g\d{3,}$")
    split: Literal["dev", "test"]
    kind: Kind
    language: Literal["nl", "en"]
    question: str = Field(min_length=1)
    history: list[Turn] = Field(default_factory=list)
    expected: Literal["answer", "abstain"]
    gold_sources: list[str] = Field(default_factory=list)
    gold_quotes: list[GoldQuote] = Field(default_factory=list)
    key_facts: list[list[str]] = Field(default_factory=list)
    notes: str = ""

    @model_validator(mode="after")
    def _consistent(self) -> "GoldItem":
        if self.expected == "answer":
            if not self.gold_sources:
                raise ValueError("answer item needs at least one gold source")
            if not self.gold_quotes:
                raise ValueError("answer item needs at least one gold quote")
            if not self.key_facts:
                raise ValueError("answer item needs at least one key fact")
        else:
            if self.gold_sources or self.gold_quotes or self.key_facts:
                raise ValueError("abstain item must have empty gold_sources, gold_quotes and key_facts")

        if self.kind in ABSTAIN_ONLY_KINDS and self.expected != "abstain":
            raise ValueError(f"kind {self.kind!r} must have expected='abstain'")
        if self.kind not in ABSTAIN_ONLY_KINDS | {"injection"} and self.expected != "answer":
            raise ValueError(f"kind {self.kind!r} must have expected='answer'")

        # an unanswerable question can be a follow-up too: "Wat is haar e-mailadres?" after a named contact
        if self.kind == "follow_up" and not self.history:
            raise ValueError("follow_up item needs a non-empty history")
        if self.history and self.kind not in {"follow_up", "unanswerable"}:
            raise ValueError("only follow_up and unanswerable items may have a history")
        if self.history:
            if self.history[0].role != "user" or self.history[-1].role != "assistant":
                raise ValueError("history must start with a user turn and end with an assistant turn")
            for prev, cur in zip(self.history, self.history[1:]):
                if prev.role == cur.role:
                    raise ValueError("history turns must alternate user/assistant")

        if len(set(self.gold_sources)) != len(self.gold_sources):
            raise ValueError("duplicate entries in gold_sources")
        for q in self.gold_quotes:
            if q.source not in self.gold_sources:
                raise ValueError(f"quote source {q.source!r} is not listed in gold_sources")
        for fact in self.key_facts:
            if not fact or any(not alt.strip() for alt in fact):
                raise ValueError("every key fact needs at least one non-empty alternative")
        return self


_QUOTE_MAP = str.maketrans({
    "\u2019": "'", "\u2018": "'",   # ’ ‘
    "\u201c": '"', "\u201d": '"',   # “ ”
    BULLETS: " ",                    # •
})


def normalize(text: str) -> str:
    """Casefold, unify curly quotes, drop bullet characters, collapse whitespace (incl. NBSP)."""
    text = text.translate(_QUOTE_MAP).casefold()
    return " ".join(text.split())


def load_golden(path: str | Path | None = None) -> list[GoldItem]:
    """Read and validate the golden JSONL; raises ValueError with the line number on bad data."""
    path = Path(path) if path is not None else DEFAULT_GOLDEN_PATH
    items: list[GoldItem] = []
    with path.open(encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                items.append(GoldItem.model_validate(json.loads(line)))
            except (json.JSONDecodeError, ValidationError) as exc:
                raise ValueError(f"{path}:{lineno}: invalid golden item: {exc}") from exc
    dupes = sorted(i for i, n in Counter(it.id for it in items).items() if n > 1)
    if dupes:
        raise ValueError(f"{path}: duplicate ids: {', '.join(dupes)}")
    return items


def _load_corpus(corpus_dir: Path) -> dict[str, str]:
    return {p.name: normalize(p.read_text(encoding="utf-8")) for p in sorted(corpus_dir.glob("*.txt"))}


def check_gold(items: list[GoldItem], corpus_dir: str | Path | None = None,
               check_splits: bool = True) -> list[str]:
    """Return human-readable problems with the golden items (empty list = all good).

    Checks: unknown source files, gold sources without a quote, quotes not found
    (normalized) in their source,
    quote shape (single line, 30-200 chars, no leading bullet), key facts of which
    no alternative occurs in the gold sources, duplicate ids and (if check_splits)
    that every kind occurs in both dev and test and the dev share is reasonable.
    """
    corpus_dir = Path(corpus_dir) if corpus_dir is not None else DEFAULT_CORPUS_DIR
    corpus = _load_corpus(corpus_dir)
    problems: list[str] = []
    if not corpus:
        problems.append(f"no corpus documents (*.txt) found in {corpus_dir}")

    for dup, n in sorted(Counter(it.id for it in items).items()):
        if n > 1:
            problems.append(f"duplicate id {dup} ({n}x)")

    for it in items:
        quoted = {q.source for q in it.gold_quotes}
        for src in it.gold_sources:
            if src not in corpus:
                problems.append(f"{it.id}: unknown source file {src!r}")
            elif src not in quoted:
                problems.append(f"{it.id}: gold source {src} has no supporting quote")
        for q in it.gold_quotes:
            if q.source not in corpus:
                problems.append(f"{it.id}: quote refers to unknown source file {q.source!r}")
                continue
            if "\n" in q.quote or "\r" in q.quote:
                problems.append(f"{it.id}: quote contains a line break: {q.quote[:60]!r}")
            if not QUOTE_MIN_CHARS <= len(q.quote) <= QUOTE_MAX_CHARS:
                problems.append(f"{it.id}: quote length {len(q.quote)} outside "
                                f"{QUOTE_MIN_CHARS}-{QUOTE_MAX_CHARS}: {q.quote[:60]!r}")
            if q.quote.lstrip()[:1] in {BULLETS, "-", "*"}:
                problems.append(f"{it.id}: quote starts with a bullet character: {q.quote[:60]!r}")
            if normalize(q.quote) not in corpus[q.source]:
                problems.append(f"{it.id}: quote not found in {q.source}: {q.quote[:80]!r}")
        if it.expected == "answer":
            gold_text = " \n ".join(corpus[s] for s in it.gold_sources if s in corpus)
            for fact in it.key_facts:
                if not any(normalize(alt) in gold_text for alt in fact if alt.strip()):
                    problems.append(f"{it.id}: no alternative of key fact {fact} occurs in "
                                    f"its gold sources {it.gold_sources}")

    if check_splits and items:
        splits_per_kind: dict[str, set[str]] = defaultdict(set)
        for it in items:
            splits_per_kind[it.kind].add(it.split)
        for kind in KINDS:
            missing = [s for s in SPLITS if s not in splits_per_kind.get(kind, set())]
            if missing:
                problems.append(f"bad split ratio: kind {kind!r} has no items in {', '.join(missing)}")
        dev_share = sum(it.split == "dev" for it in items) / len(items)
        lo, hi = DEV_SHARE_RANGE
        if not lo <= dev_share <= hi:
            problems.append(f"bad split ratio: dev share {dev_share:.0%} outside {lo:.0%}-{hi:.0%}")

    return problems


if __name__ == "__main__":  # python -m evals.golden  /  python evals/golden.py
    _items = load_golden()
    _problems = check_gold(_items)
    for _p in _problems:
        print(_p)
    _counts = Counter((it.kind, it.split) for it in _items)
    print(f"{len(_items)} items; " + ", ".join(
        f"{k}: {_counts[(k, 'dev')]} dev/{_counts[(k, 'test')]} test" for k in KINDS))
    print("OK" if not _problems else f"{len(_problems)} problem(s)")
    raise SystemExit(1 if _problems else 0)
