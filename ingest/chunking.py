"""Structure-aware chunking of cleaned text.

Plain-text letters and web pages have no markup, so headings are recognised by
shape: a short line without closing punctuation (or a question, as in FAQ
pages) followed by body text. Sections are packed into chunks of at most
``max_chars``; every chunk is an exact span of the document text, so its
offsets let the UI show it in place.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

# Bump when the same text would be cut into other chunks: an index built by an
# older chunker is then stale and the next ingest re-chunks every document.
CHUNKER_VERSION = 2

_BULLET = re.compile(r"^(- |\d+[.)] )")
_MD_HEADING = re.compile(r"^(#{1,6}) +(.+?)\s*#*$")
_SENT_SPLIT = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9€(\"'‘“-])|\n+")
_SENTENCE_END = re.compile(r"(?<=[.!?;:])\s+(?=[A-Z0-9€(\"'‘“])")


@dataclass(frozen=True)
class Chunk:
    source: str
    ordinal: int
    start: int
    end: int
    text: str
    section: str  # heading path, " > " joined; "" before the first heading
    section_part: int  # 1-based position inside its section
    section_parts: int  # number of chunks its section was split into

    @property
    def chunk_id(self) -> str:
        """Stable across runs: same source, place and text give the same id."""
        digest = hashlib.sha256(f"{self.source}|{self.start}|{self.text}".encode()).hexdigest()
        return f"{self.source}:{self.start}:{digest[:12]}"


@dataclass
class _Line:
    start: int
    end: int
    text: str


def _lines(text: str) -> list[_Line]:
    out, pos = [], 0
    for raw in text.split("\n"):
        if raw.strip():
            out.append(_Line(pos, pos + len(raw), raw))
        else:
            out.append(_Line(pos, pos, ""))
        pos += len(raw) + 1
    return out


def _looks_like_body(line: str) -> bool:
    return (
        len(line) >= 60
        or bool(_BULLET.match(line))
        or (line[-1] in ".:!" and len(line.split()) >= 4)
    )


def _heading_level(lines: list[_Line], i: int) -> int:
    """0 when line i is no heading, else its level (markdown '#' count, or 1)."""
    line = lines[i].text
    md = _MD_HEADING.match(line)
    if md:
        return len(md.group(1))
    if not line or _BULLET.match(line) or len(line) > 120:
        return 0
    words = line.split()
    is_question = line.endswith("?") and len(words) <= 25
    if not is_question and (len(words) > 12 or len(line) > 90 or line[-1] in ".,;:!)"):
        return 0
    if not (line[0].isupper() or line[0].isdigit()):
        return 0
    previous = next((l.text for l in reversed(lines[:i]) if l.text), "")
    if previous.endswith(","):
        return 0  # it completes the line before: "de minister voor ..., / Arie Slob"
    nxt = next((l.text for l in lines[i + 1 :] if l.text), None)
    if nxt is None or not _looks_like_body(nxt):
        return 0
    return 1


def _split_long(start: int, text: str, max_chars: int) -> list[tuple[int, int]]:
    """Split one over-long paragraph at sentence ends into spans <= max_chars."""
    spans, cur = [], 0
    cuts = [m.start() for m in _SENTENCE_END.finditer(text)] + [len(text)]
    last = 0
    for cut in cuts:
        if cut - cur > max_chars and last > cur:
            spans.append((cur, last))
            cur = last
            while text[cur : cur + 1].isspace():
                cur += 1
        last = cut
    spans.append((cur, len(text)))
    # a single sentence longer than max_chars stays whole: cutting words helps nobody
    return [(start + a, start + b) for a, b in spans if text[a:b].strip()]


def chunk_text(source: str, text: str, max_chars: int = 700, min_chars: int = 120) -> list[Chunk]:
    """Chunks of ``text`` (already cleaned) with heading paths and exact offsets."""
    lines = _lines(text)
    sections: list[tuple[str, list[_Line]]] = []
    path: list[tuple[int, str]] = []
    body: list[_Line] = []
    for i, line in enumerate(lines):
        level = _heading_level(lines, i)
        if level:
            if any(l.text for l in body):
                sections.append((" > ".join(h for _, h in path), body))
            body = []
            md = _MD_HEADING.match(line.text)
            title = md.group(2) if md else line.text
            path = [(lvl, h) for lvl, h in path if lvl < level] + [(level, title)]
        else:
            body.append(line)
    if any(l.text for l in body):
        sections.append((" > ".join(h for _, h in path), body))

    chunks: list[Chunk] = []
    for section, sec_lines in sections:
        # paragraphs: runs of non-empty lines; bullets stay with their run
        units: list[tuple[int, int]] = []
        for line in sec_lines:
            if not line.text:
                continue
            if len(line.text) > max_chars:
                units.extend(_split_long(line.start, line.text, max_chars))
            else:
                units.append((line.start, line.end))
        spans: list[tuple[int, int]] = []
        cur_start, cur_end = None, None
        for a, b in units:
            if cur_start is None:
                cur_start, cur_end = a, b
            elif b - cur_start <= max_chars or cur_end - cur_start < min_chars:
                cur_end = b
            else:
                spans.append((cur_start, cur_end))
                cur_start, cur_end = a, b
        if cur_start is not None:
            spans.append((cur_start, cur_end))
        # a tiny tail joins the previous span of the same section
        if len(spans) > 1 and spans[-1][1] - spans[-1][0] < min_chars:
            spans[-2:] = [(spans[-2][0], spans[-1][1])]
        # lone fragments (a repeated title, page furniture) carry no answer
        spans = [(a, b) for a, b in spans if b - a >= 50 or len(spans) == 1 and b - a >= 25]
        for part, (a, b) in enumerate(spans, start=1):
            chunks.append(
                Chunk(source, len(chunks), a, b, text[a:b], section, part, len(spans))
            )
    return chunks


def embedding_text(title: str, section: str, text: str) -> str:
    """What is embedded and keyword-indexed: the chunk with its title and heading path."""
    header = f"{title} — {section}" if section and section != title else title
    return f"{header}\n{text}"


def split_sentences(text: str, offset: int = 0) -> list[tuple[int, int, str]]:
    """(start, end, sentence) spans; list items and lines count as sentences."""
    out, pos = [], 0
    for match in _SENT_SPLIT.finditer(text):
        out.append((pos, match.start()))
        pos = match.end()
    out.append((pos, len(text)))
    merged: list[tuple[int, int]] = []
    for a, b in out:
        if merged and re.fullmatch(r"\s*\d{1,2}[.)]\s*", text[merged[-1][0] : merged[-1][1]]):
            merged[-1] = (merged[-1][0], b)  # "1." opens a numbered item, it does not end a sentence
        else:
            merged.append((a, b))
    spans = []
    for a, b in merged:
        seg = text[a:b]
        stripped = seg.strip()
        if not stripped:
            continue
        a += len(seg) - len(seg.lstrip())
        b = a + len(stripped)
        spans.append((offset + a, offset + b, stripped))
    return spans


def chunk_sentences(text: str, offset: int = 0, min_chars: int = 15) -> list[tuple[int, int, str]]:
    """The sentences of a chunk that carry meaning on their own (or the whole chunk)."""
    spans = [s for s in split_sentences(text, offset) if len(s[2]) >= min_chars]
    return spans or [(offset, offset + len(text), text)]
