"""Near-duplicate passages across documents.

The web page and the letter repeat the same timeline nearly word for word.
Retrieval should not spend two of its few slots on two copies, so chunks whose
word 5-gram shingles largely overlap (containment) get one shared group id.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable

_WORD = re.compile(r"\w+", re.UNICODE)


def shingles(text: str, n: int = 5) -> set[int]:
    words = _WORD.findall(text.casefold())
    if len(words) < n:
        return {hash(" ".join(words))} if words else set()
    return {hash(" ".join(words[i : i + n])) for i in range(len(words) - n + 1)}


def near_duplicate_groups(
    chunks: Iterable[tuple[str, str, str]], threshold: float = 0.6
) -> dict[str, str]:
    """Map chunk id -> group id for chunks with a near-duplicate in another document.

    ``chunks`` yields (chunk_id, source, text). Candidate pairs come from an
    inverted shingle index, so the cost grows with overlap, not with n².
    The group id is the smallest chunk id in the group; unique chunks are absent.
    """
    sets: dict[str, set[int]] = {}
    source_of: dict[str, str] = {}
    postings: dict[int, list[str]] = defaultdict(list)
    for chunk_id, source, text in chunks:
        sh = shingles(text)
        sets[chunk_id], source_of[chunk_id] = sh, source
        for s in sh:
            postings[s].append(chunk_id)

    parent: dict[str, str] = {}

    def find(x: str) -> str:
        while parent.get(x, x) != x:
            x = parent[x]
        return x

    for chunk_id, sh in sets.items():
        overlap: dict[str, int] = defaultdict(int)
        for s in sh:
            plist = postings[s]
            if len(plist) > 50:  # boilerplate phrase, says nothing about duplication
                continue
            for other in plist:
                if other != chunk_id and source_of[other] != source_of[chunk_id]:
                    overlap[other] += 1
        for other, shared in overlap.items():
            smaller = min(len(sh), len(sets[other])) or 1
            if shared / smaller >= threshold:
                a, b = find(chunk_id), find(other)
                if a != b:
                    parent[max(a, b)] = min(a, b)
    members = set(parent) | set(parent.values())
    return {cid: find(cid) for cid in members}
