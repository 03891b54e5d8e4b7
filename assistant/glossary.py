"""The domain glossary: words users type for what the sources call otherwise.

"Mag NPO-geld naar de peutergroepen?" shares no word with "Activiteiten in de
voorschoolse periode", and the small embedding model does not bridge the two.
The glossary (``glossary.json`` beside this module: domain knowledge, not
tuning) names the sources' term, so keyword search finds the passage and the
word is not taken for a subject no source mentions.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path

GLOSSARY_PATH = Path(__file__).with_name("glossary.json")
_PLURAL_ENDINGS = ("", "s", "en", "n")


@lru_cache(maxsize=1)
def glossary() -> dict[str, str]:
    """Lower-case user term -> the sources' term (entries starting with "_" are comments)."""
    data = json.loads(GLOSSARY_PATH.read_text(encoding="utf-8"))
    return {k.casefold(): v for k, v in data.items() if not k.startswith("_")}


@lru_cache(maxsize=4096)
def source_term(word: str) -> str | None:
    """The sources' term for ``word`` (or a plural of a listed word), else None."""
    terms = glossary()
    word = word.casefold()
    for ending in _PLURAL_ENDINGS:
        if ending and not word.endswith(ending):
            continue
        stem = word[: len(word) - len(ending)] if ending else word
        # "lessen" -> "les": a short vowel doubles the consonant before -en
        candidates = [stem, stem[:-1]] if ending == "en" and len(stem) > 3 and stem[-1] == stem[-2] else [stem]
        for candidate in candidates:
            if candidate in terms:
                return terms[candidate]
    return None


def with_source_terms(query: str) -> str:
    """The query with the sources' terms for its glossary words: "peuters (voorschoolse educatie)"."""
    lowered = query.casefold()
    found: list[str] = []
    for phrase, term in glossary().items():
        if " " in phrase and phrase in lowered and term not in found:
            found.append(term)
    for word in re.findall(r"\w+", lowered):
        term = source_term(word)
        if term and term not in found:
            found.append(term)
    found = [t for t in found if t.casefold() not in lowered]
    return f"{query} ({', '.join(found)})" if found else query
