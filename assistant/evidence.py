"""Sentence-level evidence: the few sentences that answer the question.

A 1.5B model reads ~80 tokens/s on two cores, so it gets the best sentences of
the retrieved passages rather than whole chunks. The same selection is the
extractive answer when no LLM is used.
"""

from __future__ import annotations

import math
import re
import threading
from dataclasses import dataclass
from typing import Any

import numpy as np
from langchain_core.embeddings import Embeddings

from ingest.chunking import split_sentences
from ingest.clean import POINTER
from ingest.index import KeywordIndex, Snapshot

from .questions import ANSWER_TYPES, INLINE_ENUMERATION, answer_types, asked_category
from .retrieval import Hit

_MIN_SENT_CHARS = 25
_LIST_ITEM = re.compile(r"^(- |\d+[.)] )")
# an item that is only a title, its text on the lines below: "- Online informatie en kennisdeling" (no end mark)
_TITLE_ITEM = re.compile(r"^(- |\d+[.)] )[^\n]{1,98}[^\s.!?;:,]$")
# "E-mail: a@b.nl", "Tel: 06-..." under a lead-in such as "Neem contact op met X:"
_LABEL_LINE = re.compile(r"^[A-Z][\w-]{0,15}\.?:\s*\S")
# A sentence that leans on the one before it ("Dit staat voor Data, Duiden, ...")
_ANAPHOR = re.compile(
    r"^(Dit|Deze|Dat|Die|Daarom|Daarna|Daarmee|Daarvoor|Daarbij|Hierbij|Hiervoor|Hiermee|Hierdoor|Zij|Ze|Hij)\b"
)


# the line after a list that says what to do in its cases: "Neem dan contact op met …", "Kijk dan op …"
_CONSEQUENCE = re.compile(r"\s*\n\s*(?:[A-Z][a-z]+ dan|Dan)\b[^\n]{3,200}")


def _enumerates(text: str) -> bool:
    """Three or more things in one line; a line is searched up to 600 characters (the regex is quadratic
    on an unbroken run of words, which an uploaded document may hold)."""
    return any(INLINE_ENUMERATION.search(line[:600]) for line in text.splitlines())


@dataclass(frozen=True)
class Sentence:
    n: int  # the number of the source it belongs to
    source: str
    text: str
    start: int  # span in the document text
    end: int
    score: float = 0.0
    heading: str = ""  # the section heading: scored with the sentence, not quoted


def _list_start(doc_text: str, start: int, max_chars: int = 1200) -> int:
    """The first item of the list that the item at ``start`` belongs to (a chunk may start mid-list).

    Looks back at most ``max_chars`` (a unit's size): a document of nothing but
    bullets must not be scanned from the top for every question.
    """
    pos = start
    while pos > max(0, start - max_chars):
        line_end = doc_text.rfind("\n", 0, pos)
        if line_end < 0:
            break
        prev_start = doc_text.rfind("\n", 0, line_end) + 1
        if not _LIST_ITEM.match(doc_text[prev_start:line_end].strip()):
            break
        pos = prev_start + len(doc_text[prev_start:line_end]) - len(doc_text[prev_start:line_end].lstrip())
    return pos


def _list_end(doc_text: str, start: int, max_chars: int = 1200) -> int:
    """Where the list starting at ``start`` (its lead-in or first item) ends in the document.

    An item that is only a title ("- Online informatie en kennisdeling", with its paragraph on
    the very next line) keeps that paragraph: the title alone says nothing of what is offered.
    """
    spans = split_sentences(doc_text[start : start + max_chars + 400], start)
    end = spans[0][1] if spans else start
    in_list = bool(spans) and bool(_LIST_ITEM.match(spans[0][2]))
    titled = bool(spans) and bool(_TITLE_ITEM.match(spans[0][2]))  # the last item was a title
    in_body = False  # in the paragraph under a title item
    for s2, e2, t2 in spans[1:]:
        gap = doc_text[end:s2]
        same_line = "\n" not in gap  # an item's second sentence
        item = bool(_LIST_ITEM.match(t2))
        body = not item and ((titled and gap.count("\n") == 1) or (in_body and same_line))
        if not (item or _LABEL_LINE.match(t2) or (in_list and same_line) or body) or e2 - start > max_chars:
            break
        in_list = in_list or item or bool(_LABEL_LINE.match(t2))
        titled, in_body = item and bool(_TITLE_ITEM.match(t2)), body
        end = e2
    return end


def repeats(a: Sentence, b: Sentence) -> bool:
    """Same span region (a sentence and its context) or the same words in another document."""
    if a.source == b.source and a.start < b.end and b.start < a.end:
        return True
    ta, tb = " ".join(a.text.split()).casefold(), " ".join(b.text.split()).casefold()
    return ta in tb or tb in ta


class EvidenceSelector:
    """Scores the sentences of retrieved passages against the question."""

    def __init__(
        self,
        embeddings: Embeddings,
        overlap_weight: float = 0.2,
        type_weight: float = 0.12,
        margin: float = 0.12,
        max_sentences: int = 5,
        max_chars: int = 900,
        max_candidates: int = 150,
        window_chars: int = 400,
    ) -> None:
        self.embeddings = embeddings
        self.overlap_weight = overlap_weight
        self.type_weight = type_weight
        self.margin = margin
        self.max_sentences = max_sentences
        self.max_chars = max_chars
        # every candidate is embedded at query time; the corpus needs at most ~90 per
        # question, a long document without headings would need thousands
        self.max_candidates = max_candidates
        self.window_chars = window_chars
        self._cache: dict[str, np.ndarray] = {}
        self._lock = threading.Lock()

    def _vectors(self, texts: list[str]) -> np.ndarray:
        with self._lock:
            missing = [t for t in dict.fromkeys(texts) if t not in self._cache]
            if missing:
                for text, vec in zip(missing, self.embeddings.embed_documents(missing)):
                    self._cache[text] = np.asarray(vec, dtype=np.float32)
                if len(self._cache) > 50_000:
                    self._cache.clear()
            return np.stack([self._cache[t] for t in texts])

    def candidates(self, snapshot: Snapshot, hits: list[Hit]) -> list[Sentence]:
        """Sentences of every hit, plus the rest of its section when it is a fragment.

        A list travels as one unit with its lead-in (or its heading), even when
        the chunker split it; a sentence starting "Dit ..." travels with the one
        before it.
        """
        out: list[Sentence] = []
        seen: set[tuple[str, int, int]] = set()
        blocks: list[tuple[str, int, int]] = []  # lists already taken as one unit

        def add(n: int, rec: Any, start: int, end: int, text: str, prior: float) -> None:
            key = (rec.source, start, end)
            if len(out) >= self.max_candidates:
                return
            if key in seen or len(text) < _MIN_SENT_CHARS and not (_LIST_ITEM.match(text) or _LABEL_LINE.match(text)):
                return
            if POINTER.match(text):
                return  # "Zie ook ...", "Lees meer over ...", a letterhead: not an answer
            seen.add(key)
            heading = rec.section if rec.section and rec.section != rec.title else ""
            out.append(Sentence(n, rec.source, text, start, end, prior, heading))

        for n, hit in enumerate(hits, start=1):
            records = [hit.record]
            if hit.record.section_parts > 1:
                records += snapshot.neighbours(hit.record)
            for rec in records:
                prior = 1.0 if rec is hit.record else 0.85
                spans = split_sentences(rec.text, rec.start)
                doc_text = snapshot.documents.get(rec.source, {}).get("text", "")
                for i, (start, end, text) in enumerate(spans):
                    previous = spans[i - 1][2] if i else ""
                    in_block = any(src == rec.source and a <= start < b for src, a, b in blocks)
                    if not in_block and (text.endswith(":") or (_LIST_ITEM.match(text) and not _LIST_ITEM.match(previous))):
                        # a list with its lead-in, read on in the document past the chunk's end
                        block_start = start if text.endswith(":") else _list_start(doc_text, start)
                        block_end = _list_end(doc_text, block_start)
                        if block_end > end or block_start < start:
                            blocks.append((rec.source, block_start, block_end))
                            add(n, rec, block_start, block_end, doc_text[block_start:block_end], prior)
                            if text.endswith(":"):
                                continue  # a bare lead-in says nothing
                    elif i and _ANAPHOR.match(text) and not previous.endswith(":"):
                        # scored and quoted together with the sentence it refers to
                        start = spans[i - 1][0]
                        text = doc_text[start:end] or text
                    j = i
                    while text.endswith(",") and j + 1 < len(spans) and j < i + 3 and doc_text:
                        # a line that goes on below: "Met vriendelijke groet, / de minister voor ..., / Arie Slob"
                        j += 1
                        end = spans[j][1]
                        text = doc_text[start:end]
                    add(n, rec, start, end, text, prior)
        return out

    def rank(
        self, question: str, query_vector: list[float], sentences: list[Sentence], keywords: KeywordIndex
    ) -> list[Sentence]:
        """Sentences best first: dense similarity + stemmed term overlap + passage prior."""
        if not sentences:
            return []
        vectors = self._vectors([f"{s.heading}\n{s.text}" if s.heading else s.text for s in sentences])
        dense = vectors @ np.asarray(query_vector, dtype=np.float32)
        q_terms = set(keywords.query_terms(question) + keywords.compound_parts(question))
        types = answer_types(question)
        wanted = [ANSWER_TYPES[t][1] for t in types]
        # a list question is also answered by one sentence naming several of what it asks for:
        # "Met welke partijen …?" by "in samenwerking met scholen, kinderopvang, … en andere partijen"
        category = set(keywords.query_terms(asked_category(question))) if "list" in types else set()
        scored = []
        for sent, sim in zip(sentences, dense):
            # per line: a long list must not win on the sheer number of words it holds
            overlap = max(keywords.weighted_overlap(q_terms, line) for line in sent.text.splitlines() if line.strip())
            rank_prior = 1.0 / math.sqrt(sent.n)
            typed = self.type_weight if any(p.search(sent.text) for p in wanted) else 0.0
            if category and not typed and category & keywords.document_terms(sent.text) and _enumerates(sent.text):
                typed = self.type_weight
            score = float(sim) + self.overlap_weight * overlap + 0.04 * rank_prior * sent.score + typed
            scored.append(Sentence(sent.n, sent.source, sent.text, sent.start, sent.end, score, sent.heading))
        scored.sort(key=lambda s: s.score, reverse=True)
        return scored

    def cover(self, selected: list[Sentence], part_bests: list[Sentence]) -> list[Sentence]:
        """The selection plus the best unit of every sub-question it leaves out.

        "Zit de CED-Groep in het consortium, en met welke werkwijze werkt zij?"
        ranks the consortium sentences on top; the second half needs its own.
        """
        out = list(selected)
        for unit in part_bests:
            if any(repeats(unit, s) for s in out):
                continue
            if len(out) >= self.max_sentences:
                weakest = min((s for s in out if s not in part_bests), key=lambda s: s.score, default=None)
                if weakest is None:
                    break
                out.remove(weakest)
            out.append(unit)
        return sorted(out, key=lambda s: (s.n, s.start))

    def extend(self, selected: list[Sentence], ranked: list[Sentence], max_chars: int) -> list[Sentence]:
        """``selected`` plus the next best sentences that fit a larger budget (what a long list crowded out)."""
        out = list(selected)
        used = sum(len(s.text) for s in out)
        best = ranked[0].score if ranked else 0.0
        for sent in ranked:
            if len(out) >= self.max_sentences or sent.score < best - self.margin:
                break
            if used + len(sent.text) > max_chars or any(repeats(sent, c) for c in out):
                continue
            out.append(sent)
            used += len(sent.text)
        return sorted(out, key=lambda s: (s.n, s.start))

    def select(self, ranked: list[Sentence]) -> list[Sentence]:
        """The top sentences within a budget, in source then document order."""
        max_sentences, max_chars = self.max_sentences, self.max_chars
        chosen: list[Sentence] = []
        used = 0
        best = ranked[0].score if ranked else 0.0
        for sent in ranked:
            if len(chosen) >= max_sentences:
                break
            if chosen and sent.score < best - self.margin:
                break  # far weaker than the best: noise, not evidence
            if used + len(sent.text) > max_chars and chosen:
                continue
            inner = [c for c in chosen if c.source == sent.source and sent.start <= c.start and c.end <= sent.end]
            if inner and len(inner) == sum(repeats(sent, c) for c in chosen) and sent.score >= inner[0].score - self.margin / 2:
                # nearly as good and it contains what was chosen: the line with its lead-in, the item with its list
                chosen = [c for c in chosen if c not in inner]
                used -= sum(len(c.text) for c in inner)
            elif any(repeats(sent, c) for c in chosen):
                continue
            chosen.append(sent)
            used += len(sent.text)
        return sorted(chosen, key=lambda s: (s.n, s.start))

    def widen(self, selected: list[Sentence], snapshot: Snapshot) -> list[Sentence]:
        """Each chosen sentence with the next one of its paragraph, a list item with the next item.

        e5-small ranks "De regie ligt bij scholen, dus als die besluiten om (deel)plannen
        op niveau van het samenwerkingsverband uit te werken, kan dat." first; the answer
        to "op welk niveau verantwoorden?" is the short sentence after it. Lists and
        multi-line units are already whole. Overlapping units merge into one quote.
        """
        if self.window_chars <= 0:
            return selected
        widened: list[Sentence] = []
        for sent in selected:
            doc = snapshot.documents.get(sent.source, {}).get("text", "")
            if doc and "\n" in sent.text.strip() and doc[sent.start : sent.end] == sent.text:
                # a list followed by what to do in those cases: "… • of als u een fusiegemeente bent …"
                # -> "Neem dan contact op met Eline Verheijen"
                after = _CONSEQUENCE.match(doc, sent.end)
                if after and _LIST_ITEM.match(sent.text.strip().splitlines()[-1].strip()):
                    end = after.end()
                    sent = Sentence(sent.n, sent.source, doc[sent.start : end], sent.start, end, sent.score, sent.heading)
            if not doc or "\n" in sent.text.strip() or doc[sent.start : sent.end] != sent.text:
                widened.append(sent)
                continue
            para_end = doc.find("\n", sent.end)
            para_end = len(doc) if para_end < 0 else para_end
            following = split_sentences(doc[sent.end : para_end], sent.end)
            end = following[0][1] if following else sent.end
            if not (following and not POINTER.match(following[0][2]) and end - sent.start <= self.window_chars):
                end = sent.end
            line_start = doc.rfind("\n", 0, sent.start) + 1
            if end == para_end and _LIST_ITEM.match(doc[line_start:]) and _LIST_ITEM.match(doc[para_end + 1 :]):
                # the end of a list item: the next item follows ("In juli: ..." -> "In of na de zomer: ...")
                next_end = doc.find("\n", para_end + 1)
                next_end = len(doc) if next_end < 0 else next_end
                if next_end - sent.start <= self.window_chars:
                    end = next_end
            if end > sent.end:
                sent = Sentence(sent.n, sent.source, doc[sent.start : end], sent.start, end, sent.score, sent.heading)
            widened.append(sent)
        merged: list[Sentence] = []
        for sent in sorted(widened, key=lambda s: (s.source, s.start)):
            last = merged[-1] if merged else None
            if last and last.source == sent.source and sent.start < last.end:
                doc = snapshot.documents[sent.source]["text"]
                end = max(last.end, sent.end)
                merged[-1] = Sentence(
                    min(last.n, sent.n), last.source, doc[last.start : end], last.start, end,
                    max(last.score, sent.score), last.heading,
                )
            else:
                merged.append(sent)
        return sorted(merged, key=lambda s: (s.n, s.start))
