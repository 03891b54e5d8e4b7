"""Evaluation metrics: pure functions over plain data.

Everything here works on plain dicts (``Answer.to_dict()``, a batch prediction
row, a ``Source`` as dict) and golden items, so the same code scores our
pipeline, the naive baseline and any external system's predictions.

Retrieval (computed only over items with ``expected == "answer"``)
    evidence hit@k   some retrieved passage among the first k contains a gold
                     quote: ``normalize(quote) in normalize(passage)``. When a
                     quote spans two adjacent chunks neither contains it whole,
                     so a passage also counts when it contains one contiguous
                     run of at least 60 % of the quote's words (and at least
                     5 words) -- see :func:`evidence_match`.
    document hit@k   some passage among the first k comes from a gold source.
    MRR              1 / rank of the first evidence passage (0 when none).
    nDCG@10          binary relevance = evidence match per passage; the ideal
                     ranking holds the relevant passages that were retrieved
                     plus one per gold quote that no retrieved passage covers.

Answers
    fact_correct     every key-fact group has one alternative in the answer
                     (after :func:`canon`, which also unifies numbers:
                     "€ 8,5 miljard" == "8,5 miljard euro" == "EUR 8.5 billion").
    citations        resolved: every [n] in the text names a citation/source;
                     gold: the cited sources include a gold source;
                     valid: at least one marker, all resolve, and gold.
    groundedness     share of the answer's (non-trivial) sentences that carry
                     an [n] (or sit in a paragraph closed by one) whose cited
                     text contains every figure of the sentence exactly (after
                     canon) and >= 50 % of its content words.
    abstention       abstain_accuracy over expected-abstain items;
                     false_abstain_rate over expected-answer items.
    correct          answer items: all facts present and not abstained;
                     abstain items: abstained and no euro amount/figure in the text.
    latency          p50/p95 of timings "sources", "first_token", "total".
"""

from __future__ import annotations

import math
import re
import statistics
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

try:  # the golden-set module owns the shared normalisation
    from evals.golden import normalize as _golden_normalize
except ImportError:  # pragma: no cover - only while golden.py is being written
    _golden_normalize = None

PARTIAL_QUOTE_SHARE = 0.60
PARTIAL_QUOTE_MIN_WORDS = 5
GROUNDED_WORD_SHARE = 0.50
LATENCY_KEYS = ("sources", "first_token", "total")


# ------------------------------------------------------------------ normalise
_QUOTES = str.maketrans({"‘": "'", "’": "'", "‚": "'", "‛": "'", "“": '"', "”": '"', "„": '"', "«": '"', "»": '"'})
_BULLET = re.compile(r"^[ \t]*(?:[•●▪◦·‣∙*\-–]|\d+[.)])[ \t]+", re.MULTILINE)


def _fallback_normalize(text: str) -> str:
    text = unicodedata.normalize("NFKC", text or "").translate(_QUOTES)
    text = _BULLET.sub("", text)
    return re.sub(r"\s+", " ", text.casefold()).strip()


def normalize(text: str) -> str:
    """The golden set's normalisation (casefold, whitespace, quotes, bullets)."""
    if _golden_normalize is not None:
        return _golden_normalize(text or "")
    return _fallback_normalize(text)


# ------------------------------------------------------------------ numbers
_SCALES = {
    "miljard": 1_000_000_000, "mld": 1_000_000_000, "mrd": 1_000_000_000, "billion": 1_000_000_000, "bn": 1_000_000_000,
    "miljoen": 1_000_000, "mln": 1_000_000, "mio": 1_000_000, "million": 1_000_000,
    "duizend": 1_000, "thousand": 1_000,
}
_SCALE_RE = "|".join(sorted(_SCALES, key=len, reverse=True))
# digits with '.' / ',' separators, e.g. 8,5  1.000.000  1,234.56
_NUM = r"\d+(?:[.,]\d+)*"
_GROUPED_SPACE = re.compile(r"(?<=\d)[\u00a0\u202f\u2009\u2007](?=\d{3}(?!\d))")  # nbsp/thin space groups only
_EURO_BEFORE = re.compile(rf"(?:€|\beur\b\.?|\beuro\b)\s*(?P<num>{_NUM})(?:\s*(?P<scale>{_SCALE_RE})\b)?(?:\s*(?:euro|eur)\b)?")
_NUM_SCALE = re.compile(rf"(?<![\w.,])(?P<num>{_NUM})(?:\s*(?P<scale>{_SCALE_RE})\b)?(?P<cur>\s*(?:euro\b|eur\b|€))?")
_PERCENT = re.compile(r"(\d)\s*(?:%|procent\b|percent\b|pct\b\.?)")
_MARKER = re.compile(r"\[\s*\d+(?:\s*[,;]\s*\d+)*\s*\]")


def parse_number(raw: str) -> float | None:
    """A number written Dutch or English style: 8,5 / 8.5 / 1.000 / 1,000 / 1.234,5."""
    seps = re.findall(r"[.,]", raw)
    if not seps:
        return float(raw)
    groups = re.split(r"[.,]", raw)
    if len(set(seps)) == 2:  # both: the last one is the decimal separator
        dec = seps[-1]
        whole, frac = raw.rsplit(dec, 1)
        return float(re.sub(r"[.,]", "", whole) + "." + frac)
    if len(seps) > 1:  # one separator, repeated: thousands grouping
        if all(len(g) == 3 for g in groups[1:]):
            return float("".join(groups))
        return None
    # a single separator: exactly three digits after it means thousands (1.000, 1,000)
    if len(groups[1]) == 3 and groups[0] != "0":
        return float("".join(groups))
    return float(groups[0] + "." + groups[1])


def _fmt(value: float) -> str:
    if value == int(value):
        return str(int(value))
    return f"{value:.6f}".rstrip("0").rstrip(".")


def canon(text: str) -> str:
    """normalize() plus unified numbers, euro amounts, scale words and percentages.

    "€ 8,5 miljard", "8,5 miljard euro", "EUR 8.5 billion" and
    "8.500.000.000 euro" all become "8500000000 euro".
    """
    text = _GROUPED_SPACE.sub("", text or "")
    text = normalize(text)
    text = _PERCENT.sub(r"\1%", text)

    def euro_first(m: re.Match[str]) -> str:
        return _number_text(m.group("num"), m.group("scale")) + " euro"

    text = _EURO_BEFORE.sub(euro_first, text)

    def number(m: re.Match[str]) -> str:
        out = _number_text(m.group("num"), m.group("scale"))
        return out + (" euro" if m.group("cur") else "")

    text = _NUM_SCALE.sub(number, text)
    return re.sub(r"\s+", " ", text).strip()


def _number_text(raw: str, scale: str | None) -> str:
    value = parse_number(raw)
    if value is None:
        return raw
    if scale:
        value *= _SCALES[scale]
    return _fmt(round(value, 6))


def contains_fact(canon_text: str, alternative: str) -> bool:
    """``alternative`` occurs in the (canonical) text; numbers must not be part of a longer number."""
    alt = canon(alternative)
    if not alt:
        return False
    left = r"(?<!\d)(?<!\d[.,])" if alt[0].isdigit() else ""
    right = r"(?!\d)(?![.,]\d)" if alt[-1].isdigit() else ""
    return re.search(left + re.escape(alt) + right, canon_text) is not None


def facts_present(answer_text: str, key_facts: Sequence[Sequence[str]]) -> tuple[int, int, list[list[str]]]:
    """(groups found, groups total, missing groups)."""
    text = canon(strip_markers(answer_text))
    missing = [list(group) for group in key_facts if not any(contains_fact(text, alt) for alt in group)]
    return len(key_facts) - len(missing), len(key_facts), missing


# ------------------------------------------------------------------ figures
_YEAR = re.compile(r"^(?:19|20)\d\d$")
_FIGURE_TOKEN = re.compile(r"\d+(?:[.,]\d+)*%?")


def strip_markers(text: str) -> str:
    return _MARKER.sub(" ", text or "")


def figures(text: str) -> list[str]:
    """Canonical figures (numbers, amounts, percentages) of a text, citation markers excluded."""
    return _FIGURE_TOKEN.findall(canon(strip_markers(text)))


def has_amount_or_figure(text: str) -> bool:
    """True when the text states a euro amount or a figure other than a plain year.

    Used for abstentions: a refusal that still names "€ 50 miljoen" or "15 %"
    leaks an (unsupported) number. Years like 2021 and school years like
    2022-2023 are allowed; citation markers [n] are ignored.
    """
    c = canon(strip_markers(text))
    if re.search(r"\d[\d.]*\s*euro|€", c):
        return True
    return any(not _YEAR.match(f) for f in _FIGURE_TOKEN.findall(c))


# ------------------------------------------------------------------ retrieval
def _words(text: str) -> list[str]:
    return text.split(" ")


def evidence_match(quote: str, passage: str, *, _norm_passage: str | None = None) -> bool:
    """Whether ``passage`` holds the gold ``quote``.

    True when normalize(quote) is a substring of normalize(passage), or when a
    contiguous run of >= 60 % of the quote's words (at least 5 words) is, which
    is what a passage holds when the quote straddles a chunk boundary.
    """
    q = normalize(quote)
    p = _norm_passage if _norm_passage is not None else normalize(passage)
    if not q:
        return False
    if q in p:
        return True
    words = _words(q)
    need = max(PARTIAL_QUOTE_MIN_WORDS, math.ceil(PARTIAL_QUOTE_SHARE * len(words)))
    if len(words) < need:
        return False
    return longest_contained_run(words, p) >= need


def longest_contained_run(words: Sequence[str], text: str) -> int:
    """Length of the longest contiguous run of ``words`` that occurs in ``text`` (two pointers)."""
    best, i = 0, 0
    for j in range(1, len(words) + 1):
        while i < j and " ".join(words[i:j]) not in text:
            i += 1
        best = max(best, j - i)
    return best


def evidence_flags(passages: Sequence[str], quotes: Sequence[str]) -> list[set[int]]:
    """For each passage, the indices of the gold quotes it holds."""
    out = []
    for text in passages:
        p = normalize(text)
        out.append({qi for qi, q in enumerate(quotes) if evidence_match(q, text, _norm_passage=p)})
    return out


def first_rank(flags: Sequence[bool]) -> int | None:
    for i, flag in enumerate(flags, start=1):
        if flag:
            return i
    return None


def ndcg_at(flags: Sequence[set[int]], n_quotes: int, k: int = 10) -> float:
    """Binary nDCG@k; the ideal list = retrieved relevant passages + one per uncovered quote."""
    top = flags[:k]
    dcg = sum(1.0 / math.log2(i + 2) for i, f in enumerate(top) if f)
    covered = set().union(*top) if top else set()
    n_relevant = sum(1 for f in top if f) + max(0, n_quotes - len(covered))
    ideal = sum(1.0 / math.log2(i + 2) for i in range(min(k, n_relevant)))
    return dcg / ideal if ideal else 0.0


def retrieval_item_metrics(
    sources: Sequence[Mapping[str, Any]],
    gold_quotes: Sequence[str],
    gold_sources: Sequence[str],
    ks: Iterable[int] = (1, 3, 5),
) -> dict[str, Any]:
    """Per-item retrieval values for a ranked list of source dicts (need "text" and "source")."""
    flags = evidence_flags([s.get("text", "") for s in sources], gold_quotes)
    ev_rank = first_rank([bool(f) for f in flags])
    doc_rank = first_rank([s.get("source") in set(gold_sources) for s in sources])
    out: dict[str, Any] = {"evidence_rank": ev_rank, "doc_rank": doc_rank, "n_retrieved": len(sources)}
    for k in ks:
        out[f"evidence_hit@{k}"] = float(ev_rank is not None and ev_rank <= k)
        out[f"doc_hit@{k}"] = float(doc_rank is not None and doc_rank <= k)
    out["mrr"] = 1.0 / ev_rank if ev_rank else 0.0
    out["ndcg@10"] = ndcg_at(flags, len(gold_quotes), 10)
    return out


# ------------------------------------------------------------------ citations
def cited_numbers(text: str) -> list[int]:
    """Every n of the [n] / [n, m] markers in the text, in order of appearance."""
    out: list[int] = []
    for m in _MARKER.finditer(text or ""):
        out.extend(int(x) for x in re.findall(r"\d+", m.group(0)))
    return out


def _source_map(answer: Mapping[str, Any]) -> dict[int, dict[str, str]]:
    """n -> {"source": file, "text": cited text} from an answer's sources and citations."""
    out: dict[int, dict[str, str]] = {}
    for s in answer.get("sources") or []:
        out.setdefault(int(s["n"]), {"source": s.get("source", ""), "text": ""})
        out[int(s["n"])]["text"] += " " + (s.get("text") or "")
    for c in answer.get("citations") or []:
        entry = out.setdefault(int(c["n"]), {"source": c.get("source", ""), "text": ""})
        entry["source"] = entry["source"] or c.get("source", "")
        entry["text"] += " " + (c.get("quote") or c.get("text") or "")
    return out


def citation_metrics(answer: Mapping[str, Any], gold_sources: Sequence[str]) -> dict[str, Any]:
    """resolved / gold / valid for one answer (None values when the text has no marker)."""
    numbers = cited_numbers(answer.get("text", ""))
    known = _source_map(answer)
    if not numbers:
        return {"n_markers": 0, "citation_resolved": None, "citation_gold": False, "citation_valid": False,
                "unresolved": []}
    unresolved = sorted({n for n in numbers if n not in known})
    cited_sources = {known[n]["source"] for n in numbers if n in known}
    resolved = not unresolved
    gold = bool(cited_sources & set(gold_sources))
    return {
        "n_markers": len(numbers),
        "citation_resolved": resolved,
        "citation_gold": gold,
        "citation_valid": resolved and gold,
        "unresolved": unresolved,
    }


# ------------------------------------------------------------------ groundedness
_STOP = set(
    """de het een en of maar dat die dit deze van voor met aan in op te tot bij om uit over door naar als
    is zijn was waren wordt worden werd kan kunnen kunt zal zullen zou moet moeten mag mogen heeft hebben
    heb had u uw wij we ons onze hun hen ze zij hij er hier daar wat wie welke waar hoe ook nog niet geen wel
    meer veel zeer al alle alleen dan zo dus echter namelijk zoals volgens andere ander the a an and or of to
    in on for with is are was were be this that these those it its by as at from not no yes""".split()
)
_WORD = re.compile(r"[^\W\d_]{3,}")


def content_words(text: str) -> list[str]:
    return [w for w in _WORD.findall(normalize(strip_markers(text))) if w not in _STOP]


_LIST_PREFIX = re.compile(r"^[ \t]*(?:\d+[.)]|[-•*–])[ \t]+", re.MULTILINE)


_SENTENCE_END = re.compile(r"([.!?](?:\s*\[\s*\d+(?:\s*[,;]\s*\d+)*\s*\])*)[ \t]+")


_STRAY_MARKERS = re.compile(r"([.!?:])[ \t]*\n\s*((?:\[\s*\d+(?:\s*[,;]\s*\d+)*\s*\][ \t]*)+)$", re.MULTILINE)


def sentence_blocks(text: str) -> list[list[str]]:
    """Paragraphs of sentences. List items are sentences; "[n]" after a full stop (also on
    the next line) stays with its sentence."""
    text = _STRAY_MARKERS.sub(r"\1 \2", (text or "").strip())
    blocks = []
    for para in re.split(r"\n[ \t]*\n", text):
        para = _LIST_PREFIX.sub("", para)
        para = _SENTENCE_END.sub(r"\1\n", para)
        sentences = [p.strip() for p in para.split("\n") if p.strip()]
        if sentences:
            blocks.append(sentences)
    return blocks


def split_sentences(text: str) -> list[str]:
    """All sentences of an answer, in order (see :func:`sentence_blocks`)."""
    return [s for block in sentence_blocks(text) for s in block]


def _word_supported(word: str, vocab: set[str], prefixes: set[str]) -> bool:
    return word in vocab or (len(word) >= 6 and word[:6] in prefixes)


def sentence_supported(sentence: str, cited_text: str) -> bool:
    """Every figure occurs exactly and >= 50 % of the content words occur in the cited text."""
    src_canon = canon(cited_text)
    src_figs = set(_FIGURE_TOKEN.findall(src_canon))
    if any(f not in src_figs for f in figures(sentence)):
        return False
    words = content_words(sentence)
    if not words:
        return True
    vocab = set(content_words(cited_text))
    prefixes = {w[:6] for w in vocab if len(w) >= 6}
    hits = sum(_word_supported(w, vocab, prefixes) for w in words)
    return hits / len(words) >= GROUNDED_WORD_SHARE


def groundedness(answer: Mapping[str, Any]) -> dict[str, Any]:
    """Share of the answer's substantive sentences supported by the source(s) they cite.

    A sentence without a marker takes the markers of the next sentence of the
    same paragraph (a marker closing a paragraph covers the paragraph); a
    sentence with no marker at all counts as unsupported. Sentences with fewer
    than 3 content words and no figure ("Met vriendelijke groet,") are not counted.
    """
    known = _source_map(answer)
    counted = supported = 0
    unsupported: list[str] = []
    for block in sentence_blocks(answer.get("text", "")):
        inherited: list[int] = []
        markers: list[list[int]] = []
        for sentence in reversed(block):
            own = cited_numbers(sentence)
            inherited = own or inherited
            markers.append(inherited)
        for sentence, numbers in zip(block, reversed(markers)):
            if len(content_words(sentence)) < 3 and not figures(sentence):
                continue
            counted += 1
            numbers = [n for n in numbers if n in known]
            cited = " ".join(known[n]["text"] for n in numbers)
            if numbers and sentence_supported(sentence, cited):
                supported += 1
            else:
                unsupported.append(sentence)
    return {
        "groundedness": supported / counted if counted else None,
        "sentences": counted,
        "unsupported_sentences": unsupported,
    }


# ------------------------------------------------------------------ per item
def _g(item: Any, name: str, default: Any = None) -> Any:
    if isinstance(item, Mapping):
        return item.get(name, default)
    return getattr(item, name, default)


def gold_quote_texts(item: Any) -> list[str]:
    return [q["quote"] if isinstance(q, Mapping) else getattr(q, "quote") for q in _g(item, "gold_quotes", []) or []]


def score_retrieval(item: Any, sources: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    if _g(item, "expected") != "answer":
        return {}
    return retrieval_item_metrics(sources, gold_quote_texts(item), _g(item, "gold_sources", []) or [])


def score_answer(item: Any, answer: Mapping[str, Any] | None) -> dict[str, Any]:
    """Per-item answer metric values; ``answer`` None means the pipeline failed on it."""
    expected = _g(item, "expected")
    if answer is None:
        return {"abstained": False, "correct": False, "fact_correct": False if expected == "answer" else None,
                "failed": True}
    text = answer.get("text", "") or ""
    abstained = bool(answer.get("abstained"))
    out: dict[str, Any] = {"abstained": abstained, "failed": False}
    if expected == "answer":
        found, total, missing = facts_present(text, _g(item, "key_facts", []) or [])
        out["facts_found"] = found
        out["facts_total"] = total
        out["missing_facts"] = missing
        out["fact_correct"] = not missing
        out["correct"] = not missing and not abstained
        if not abstained:
            out.update(citation_metrics(answer, _g(item, "gold_sources", []) or []))
            out.update(groundedness(answer))
    else:
        leak = has_amount_or_figure(text)
        out["figure_in_abstention"] = leak
        out["correct"] = abstained and not leak
    timings = answer.get("timings") or {}
    for key in LATENCY_KEYS:
        if isinstance(timings.get(key), (int, float)):
            out[f"t_{key}"] = float(timings[key])
    return out


def item_row(
    item: Any,
    sources: Sequence[Mapping[str, Any]] | None = None,
    answer: Mapping[str, Any] | None = None,
    *,
    with_answer: bool = True,
    error: str | None = None,
) -> dict[str, Any]:
    """One per-item metrics row: id, kind, expected, retrieval values, answer values."""
    row: dict[str, Any] = {"id": _g(item, "id"), "kind": _g(item, "kind"), "expected": _g(item, "expected")}
    if error:
        row["error"] = error
    if sources is not None:
        row.update(score_retrieval(item, sources))
    if with_answer:
        row.update(score_answer(item, answer))
    return row


# ------------------------------------------------------------------ aggregation
def _mean(values: Iterable[Any]) -> float | None:
    vals = [float(v) for v in values if v is not None]
    return sum(vals) / len(vals) if vals else None


def percentile(values: Sequence[float], q: float) -> float | None:
    """Linear-interpolated percentile (q in 0..100)."""
    vals = sorted(values)
    if not vals:
        return None
    if len(vals) == 1:
        return vals[0]
    pos = (len(vals) - 1) * q / 100
    lo, hi = math.floor(pos), math.ceil(pos)
    return vals[lo] + (vals[hi] - vals[lo]) * (pos - lo)


RETRIEVAL_KEYS = ("evidence_hit@1", "evidence_hit@3", "evidence_hit@5", "doc_hit@1", "doc_hit@5", "mrr", "ndcg@10")


def aggregate(rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Metric means over per-item rows (:func:`item_row`); None where nothing to average."""
    answer_rows = [r for r in rows if r.get("expected") == "answer"]
    abstain_rows = [r for r in rows if r.get("expected") == "abstain"]
    out: dict[str, Any] = {"n": len(rows), "n_answer": len(answer_rows), "n_abstain": len(abstain_rows)}
    retr = [r for r in answer_rows if "mrr" in r]
    for key in RETRIEVAL_KEYS:
        out[key] = _mean(r.get(key) for r in retr)
    scored = [r for r in rows if "correct" in r]
    if scored:
        out["correct"] = _mean(r["correct"] for r in scored)
        ans = [r for r in answer_rows if "correct" in r]
        out["fact_correct"] = _mean(r.get("fact_correct") for r in ans)
        answered = [r for r in ans if not r.get("abstained") and not r.get("failed")]
        out["citation_resolved"] = _mean(r.get("citation_resolved") for r in answered if r.get("n_markers"))
        out["citation_gold"] = _mean(r.get("citation_gold") for r in answered)
        out["citation_valid"] = _mean(r.get("citation_valid") for r in answered)
        out["groundedness"] = _mean(r.get("groundedness") for r in answered)
        out["false_abstain_rate"] = _mean(r.get("abstained") for r in ans)
        abst = [r for r in abstain_rows if "correct" in r]
        out["abstain_accuracy"] = _mean(r.get("abstained") for r in abst)
        out["errors"] = sum(1 for r in scored if r.get("failed"))
        for key in LATENCY_KEYS:
            vals = [r[f"t_{key}"] for r in scored if f"t_{key}" in r]
            out[f"latency_{key}_p50"] = percentile(vals, 50)
            out[f"latency_{key}_p95"] = percentile(vals, 95)
    return out


def aggregate_by_kind(rows: Sequence[Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    kinds: dict[str, list[Mapping[str, Any]]] = {}
    for r in rows:
        kinds.setdefault(r.get("kind", "?"), []).append(r)
    return {k: aggregate(v) for k, v in sorted(kinds.items())}


def summarize(rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Overall metrics plus ``per_kind``."""
    out = aggregate(rows)
    out["per_kind"] = aggregate_by_kind(rows)
    return out


def median(values: Sequence[float]) -> float | None:
    return statistics.median(values) if values else None
