"""Text cleaning shared by documents and queries.

Cleaning runs once, before chunking; chunk offsets point into the cleaned text,
which is what the UI shows. It fixes what makes passages hard to find: bullet
glyphs, stray markdown emphasis, odd whitespace, and upper-case acronyms typed
with the digit zero instead of the letter O ("00G0" -> "OOGO").
"""

from __future__ import annotations

import re
import unicodedata

_BULLET_LINE = re.compile(r"^[ \t]*[•●▪◦·‣∙\-–*][ \t]+(?=\S)", re.MULTILINE)
_EMPHASIS = re.compile(r"(\*{1,2})(?=\S)([^*\n]+?)(?<=\S)\1")
_QUOTE_PREFIX = re.compile(r"^[ \t]*>+[ \t]?", re.MULTILINE)
_ANGLE_URL = re.compile(r"<(https?://[^>\s]+)>")
# An all-caps token (3+ chars) made of letters and zeros with at least one of each.
_ZERO_ACRONYM = re.compile(r"\b(?=[A-Z0]*[A-Z])(?=[A-Z0]*0)[A-Z0]{3,}\b")
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"), None)
_SPACES = {ord(c): " " for c in "\u00a0\u2002\u2003\u2007\u2009\u202f\t"}
# Navigation, not content: "Zie ook 'Wat is de rol van de MR?'", "Lees meer ...", a letterhead.
# Such a sentence names a topic without saying anything about it.
POINTER = re.compile(
    r"^(- )?(Zie ook|Lees meer|Lees hoeveel|Lees hier|Bekijk ook|Meer informatie (vindt|leest) u|Retouradres)\b", re.I
)


def fix_zero_acronyms(text: str) -> str:
    """Replace the digit 0 by the letter O inside all-caps acronyms ("00G0" -> "OOGO")."""
    return _ZERO_ACRONYM.sub(lambda m: m.group(0).replace("0", "O"), text)


def clean_text(raw: str) -> str:
    """Normalise a document's text for chunking, display and search."""
    text = unicodedata.normalize("NFC", raw.replace("\r\n", "\n").replace("\r", "\n"))
    text = text.translate(_INVISIBLE).translate(_SPACES)
    text = _QUOTE_PREFIX.sub("", text)
    text = _BULLET_LINE.sub("- ", text)
    text = _EMPHASIS.sub(r"\2", text)
    text = _ANGLE_URL.sub(r"\1", text)
    text = fix_zero_acronyms(text)
    lines = [re.sub(r" {2,}", " ", line).strip() for line in text.split("\n")]
    text = "\n".join(lines)
    text = re.sub(r"\n{3,}", "\n\n", text)
    return text.strip()


def clean_query(question: str) -> str:
    """The same fixes for a user's question, so it matches cleaned passages."""
    return re.sub(r"\s+", " ", fix_zero_acronyms(question.translate(_INVISIBLE))).strip()
