"""The index: Chroma (dense) + bm25s (keywords) + a record of what is indexed.

Every ingest writes a new *generation* directory and switches the ``CURRENT``
pointer with one atomic rename when it is complete. Readers keep serving the
generation they opened until they see the pointer change, and a crash
half-way leaves the previous generation serving.

A generation holds:
  chroma/            the persistent Chroma store (local mode)
  records.sqlite3    LangChain's SQL record manager (what was embedded, by hash)
  bm25/              the bm25s index over the same chunks
  chunks.jsonl       every chunk with its metadata (the BM25 corpus and doc store)
  documents.json     per document: title, kind, date, text, chunks, indexed_at
  duplicates.json    chunk id -> near-duplicate group id
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import bm25s
import chromadb
import numpy as np
import Stemmer
from langchain_chroma import Chroma
from langchain_core.documents import Document
from langchain_core.embeddings import Embeddings

from settings import Settings

from .chunking import chunk_sentences, split_sentences
from .clean import POINTER, clean_query

CURRENT = "CURRENT"
DUTCH_STOPWORDS = "nl"


# ---------------------------------------------------------------- keyword side
def _stemmer() -> Any:
    return Stemmer.Stemmer("dutch")


class KeywordIndex:
    """bm25s over chunk texts with a Dutch Snowball stemmer and Dutch stop words."""

    def __init__(self, retriever: bm25s.BM25, ids: list[str]) -> None:
        self.retriever = retriever
        self.ids = ids
        self.stemmer = _stemmer()
        self._terms_cache: dict[str, set[str]] = {}
        self._idf_cache: dict[str, float] = {}

    @classmethod
    def build(cls, ids: list[str], texts: list[str]) -> KeywordIndex:
        retriever = bm25s.BM25()
        if texts:
            tokens = bm25s.tokenize(
                texts, stopwords=DUTCH_STOPWORDS, stemmer=_stemmer(), show_progress=False
            )
            retriever.index(tokens, show_progress=False)
        return cls(retriever, ids)

    def save(self, path: Path) -> None:
        path.mkdir(parents=True, exist_ok=True)
        if self.ids:
            self.retriever.save(str(path))
        (path / "ids.json").write_text(json.dumps(self.ids))

    @classmethod
    def load(cls, path: Path) -> KeywordIndex:
        ids = json.loads((path / "ids.json").read_text())
        retriever = bm25s.BM25.load(str(path)) if ids else bm25s.BM25()
        return cls(retriever, ids)

    def query_terms(self, query: str) -> list[str]:
        tokens = bm25s.tokenize(
            [clean_query(query)],
            stopwords=DUTCH_STOPWORDS,
            stemmer=self.stemmer,
            return_ids=False,
            show_progress=False,
        )
        return [t for t in tokens[0] if t]

    def compound_parts(self, query: str) -> list[str]:
        """Stemmed parts of the query's compounds that no chunk holds whole.

        Dutch writes compounds as one word: "cultuuractiviteiten" is in no source,
        "cultuur" and "activiteiten" are. A word of 9+ letters whose stem is unknown
        is split once into two known words of 5+ letters (a linking "s" or "en" dropped):
        "jaarrekening" is not about a "jaar".
        """
        vocab = self.retriever.vocab_dict if self.ids else {}
        if not vocab:
            return []
        parts: list[str] = []
        # each word once; a "word" of 40+ letters is no compound but pasted or hostile text (quadratic to split)
        for word in dict.fromkeys(re.findall(r"\b[a-zà-ÿ]{9,40}\b", clean_query(query).casefold())):
            if self.stemmer.stemWord(word) in vocab:
                continue
            for cut in range(5, len(word) - 4):
                head, tail = word[:cut], word[cut:]
                heads = [head] + ([head[:-1]] if head.endswith("s") else []) + ([head[:-2]] if head.endswith("en") else [])
                found = [stem for stem in (self.stemmer.stemWord(h) for h in heads if len(h) >= 5) if stem in vocab]
                tail_stem = self.stemmer.stemWord(tail)
                if found and tail_stem in vocab:
                    parts += [found[0], tail_stem]
                    break
        return parts

    def search(self, query: str, k: int) -> list[tuple[str, float]]:
        """(chunk id, bm25 score) best first; only chunks sharing a term with the query."""
        terms = self.query_terms(query) + self.compound_parts(query)
        if not self.ids or not terms:
            return []
        vocab = self.retriever.vocab_dict
        known = [t for t in terms if t in vocab]
        if not known:
            return []
        scores = self.retriever.get_scores(known)
        k = min(k, len(self.ids))
        top = np.argsort(-scores)[:k]
        return [(self.ids[i], float(scores[i])) for i in top if scores[i] > 0]

    def idf(self, term: str) -> float:
        """Inverse document frequency of a stemmed term (0 for terms in every chunk)."""
        cached = self._idf_cache.get(term)
        if cached is None:
            vocab = self.retriever.vocab_dict if self.ids else {}
            df = int(np.count_nonzero(self.retriever.get_scores([term]))) if term in vocab else 0
            n = len(self.ids)
            cached = float(np.log((n + 1) / (df + 1))) if n else 0.0
            self._idf_cache[term] = cached
        return cached

    def weighted_overlap(self, query_terms: set[str], text: str) -> float:
        """Share of the query's IDF weight that ``text`` covers: rare words count, 'onderwijs' barely."""
        if not query_terms:
            return 0.0
        total = sum(self.idf(t) for t in query_terms) or 1.0
        return sum(self.idf(t) for t in query_terms & self.document_terms(text)) / total

    def document_terms(self, text: str) -> set[str]:
        cached = self._terms_cache.get(text)
        if cached is None:
            cached = set(self.query_terms(text))
            if len(self._terms_cache) > 100_000:
                self._terms_cache.clear()
            self._terms_cache[text] = cached
        return cached


class Vocabulary(set):
    """Stemmed corpus terms, with the long words as written in ``written`` (for misspellings)."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.written: set[str] = set()
        self.words: set[str] = set()  # every word of 5+ letters as written: misspellings are corrected to these


# two to five capitalised words, "en" or "van" between them: "Onderwijs, Cultuur en Wetenschap"
_CAPITALISED_RUN = re.compile(r"\b[A-Z][a-zà-ÿ]+(?:,?[ \t]+(?:(?:en|van|voor)[ \t]+)?[A-Z][a-zà-ÿ]+){1,4}\b")


# ---------------------------------------------------------------- records
@dataclass(frozen=True)
class ChunkRecord:
    """One indexed chunk as retrieval and the UI see it."""

    chunk_id: str
    source: str
    title: str
    kind: str
    date: str | None
    section: str
    start: int
    end: int
    ordinal: int
    section_part: int
    section_parts: int
    text: str  # the exact span of the document text
    content: str  # what was embedded: title and heading path + text

    @classmethod
    def from_document(cls, doc: Document) -> ChunkRecord:
        m = doc.metadata
        return cls(
            chunk_id=m["chunk_id"],
            source=m["source"],
            title=m["title"],
            kind=m.get("kind", "document"),
            date=m.get("date") or None,
            section=m.get("section", ""),
            start=int(m["start"]),
            end=int(m["end"]),
            ordinal=int(m["ordinal"]),
            section_part=int(m.get("section_part", 1)),
            section_parts=int(m.get("section_parts", 1)),
            text=m["text"],
            content=doc.page_content,
        )


@dataclass
class Snapshot:
    """A consistent read-only view of one generation."""

    generation: str
    path: Path
    vectorstore: Chroma
    keywords: KeywordIndex
    chunks: dict[str, ChunkRecord]
    documents: dict[str, dict[str, Any]]
    duplicates: dict[str, str]
    sentence_vectors: dict[str, np.ndarray] = field(default_factory=dict)  # chunk id -> (sentences, dim)
    by_source: dict[str, list[ChunkRecord]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        by_source: dict[str, list[ChunkRecord]] = {}
        for rec in self.chunks.values():
            by_source.setdefault(rec.source, []).append(rec)
        for recs in by_source.values():
            recs.sort(key=lambda r: r.ordinal)
        self.by_source = by_source

    def neighbours(self, rec: ChunkRecord, max_distance: int = 8) -> list[ChunkRecord]:
        """The other chunks of the same section, in order.

        Capped at ``max_distance`` chunks either side: a document without headings is
        one long section, and the whole of it would be read (and embedded) per question.
        """
        reach = min(rec.section_parts, max_distance)
        return [
            r
            for r in self.by_source.get(rec.source, [])
            if r.section == rec.section and r.chunk_id != rec.chunk_id and abs(r.ordinal - rec.ordinal) <= reach
        ]

    @cached_property
    def written_out(self) -> dict[str, str]:
        """Acronyms of the names the documents write out in full: "LEA" -> "Lokale Educatieve Agenda".

        A user types the abbreviation a letter never uses; it still names what the letter covers.
        Three letters at least: two-letter ones ("PO") are ambiguous.
        """
        names: dict[str, str] = {}
        for doc in self.documents.values():
            text = "\n".join(str(doc.get(key) or "") for key in ("title", "publisher", "text"))
            for match in _CAPITALISED_RUN.finditer(text):
                run = match.group(0)
                starts = [m.start() for m in re.finditer(r"\b[A-Z]", run)]
                for start in starts:  # "De Gelijke Kansen Alliantie" also gives GKA
                    name = run[start:]
                    capitals = re.findall(r"\b[A-Z]", name)
                    if len(capitals) >= 3:  # "PO" is no "Programma Onderwijs"
                        names.setdefault("".join(capitals), name)
        return names

    @cached_property
    def latest_year(self) -> int | None:
        """The latest year the documents speak of ("tot en met schooljaar 2022-2023": 2023).

        What comes after it, no source can say.
        """
        years = [
            int(y) for doc in self.documents.values() for y in re.findall(r"\b(?:19|20)\d\d\b", str(doc.get("text") or ""))
        ]
        return max(years, default=None)

    @cached_property
    def content_terms(self) -> set[str]:
        """Stemmed terms the documents say something about (``.written``: their long words as written).

        A pointer ("Zie ook 'Wat is de rol van de MR en de GMR?'") names a topic
        the corpus does not cover, so its words do not count.
        """
        terms = Vocabulary()
        for acronym in self.written_out:
            terms |= set(self.keywords.query_terms(acronym))
        for doc in self.documents.values():  # "volgens de FAQ", "het stuk van de CED-Groep": a document by its kind
            publisher = re.sub(r"\(afgeleid[^)]*\)", "", doc.get("publisher") or "")  # the manifest's own remark
            terms |= self.keywords.document_terms(f"{doc.get('kind') or ''}\n{publisher}")
        for rec in self.chunks.values():
            terms |= self.keywords.document_terms(f"{rec.title}\n{rec.section}")
            for _, _, text in split_sentences(rec.text):
                if not POINTER.match(text):
                    terms |= self.keywords.document_terms(text)
                    # and the long words as written: a misspelling is compared with these
                    words = re.findall(r"[a-zà-ÿ]{5,}", text.casefold())
                    terms.words.update(words)
                    terms.written.update(w for w in words if len(w) >= 8)
        return terms

    def section_at(self, source: str, offset: int) -> str:
        """The section heading of the chunk holding character ``offset`` of ``source``."""
        return next((r.section for r in self.by_source.get(source, []) if r.start <= offset < r.end), "")


# ---------------------------------------------------------------- store
class IndexStore:
    """Opens, reads and writes index generations under ``settings.index_dir``."""

    def __init__(self, settings: Settings, embeddings: Embeddings) -> None:
        self.settings = settings
        self.embeddings = embeddings
        self.root = settings.index_dir
        self._server_client: Any = None

    # -- pointer --------------------------------------------------------
    def current_generation(self) -> str | None:
        try:
            name = (self.root / CURRENT).read_text().strip()
        except FileNotFoundError:
            return None
        return name if name and (self.root / name).is_dir() else None

    def _switch(self, generation: str) -> None:
        tmp = self.root / f".{CURRENT}.{uuid.uuid4().hex}"
        tmp.write_text(generation)
        os.replace(tmp, self.root / CURRENT)

    @contextmanager
    def writer_lock(self) -> Iterator[None]:
        """One writer at a time (CLI and app uploads may race)."""
        self.root.mkdir(parents=True, exist_ok=True)
        with (self.root / ".lock").open("w") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    # -- chroma ---------------------------------------------------------
    @property
    def server_mode(self) -> bool:
        return bool(self.settings.chroma_host)

    def _client(self, gen_path: Path) -> Any:
        chroma_settings = chromadb.Settings(anonymized_telemetry=False)
        if self.server_mode:
            if self._server_client is None:
                self._server_client = chromadb.HttpClient(
                    host=self.settings.chroma_host,
                    port=self.settings.chroma_port,
                    settings=chroma_settings,
                )
            return self._server_client
        return chromadb.PersistentClient(path=str(gen_path / "chroma"), settings=chroma_settings)

    def _collection_name(self, generation: str) -> str:
        # in server mode every generation is its own collection on the server
        return f"{self.settings.collection_name}_{generation}" if self.server_mode else self.settings.collection_name

    def vectorstore(self, generation: str) -> Chroma:
        return Chroma(
            client=self._client(self.root / generation),
            collection_name=self._collection_name(generation),
            embedding_function=self.embeddings,
            collection_metadata={"hnsw:space": "cosine"},
        )

    # -- generations ----------------------------------------------------
    def new_generation(self, copy_from: str | None) -> str:
        """Create the next generation directory, optionally as a copy of one."""
        self.root.mkdir(parents=True, exist_ok=True)
        generation = f"g{time.strftime('%Y%m%d%H%M%S')}-{uuid.uuid4().hex[:6]}"
        path = self.root / generation
        if copy_from:
            src = self.root / copy_from
            shutil.copytree(src, path, ignore=shutil.ignore_patterns("bm25"))
            if self.server_mode:
                self._copy_server_collection(copy_from, generation)
        else:
            path.mkdir()
        return generation

    def _copy_server_collection(self, source: str, target: str) -> None:
        client = self._client(self.root / target)
        src = client.get_collection(self._collection_name(source))
        dst = client.get_or_create_collection(
            self._collection_name(target), metadata={"hnsw:space": "cosine"}
        )
        offset, batch = 0, 1000
        while True:
            got = src.get(include=["embeddings", "documents", "metadatas"], limit=batch, offset=offset)
            if not got["ids"]:
                break
            dst.add(
                ids=got["ids"],
                embeddings=got["embeddings"],
                documents=got["documents"],
                metadatas=got["metadatas"],
            )
            offset += len(got["ids"])

    def commit(self, generation: str) -> None:
        """Make ``generation`` the one readers use, then drop old ones."""
        self._switch(generation)
        self.prune(keep={generation})

    def discard(self, generation: str) -> None:
        """Throw away a generation that was never committed."""
        if self.server_mode:
            try:
                self._client(self.root / generation).delete_collection(self._collection_name(generation))
            except Exception:  # noqa: BLE001 - nothing to delete is fine
                pass
        shutil.rmtree(self.root / generation, ignore_errors=True)

    def prune(self, keep: set[str], keep_previous: int = 1) -> None:
        """Remove old generations, keeping the newest ``keep_previous`` besides ``keep``."""
        gens = sorted(
            (p for p in self.root.iterdir() if p.is_dir() and p.name.startswith("g")),
            key=lambda p: p.name,
            reverse=True,
        )
        old = [p for p in gens if p.name not in keep]
        for path in old[keep_previous:]:
            self.discard(path.name)

    # -- reading --------------------------------------------------------
    def all_documents(self, generation: str) -> list[Document]:
        """Every chunk stored in Chroma for a generation."""
        store = self.vectorstore(generation)
        docs: list[Document] = []
        offset, batch = 0, 2000
        while True:
            got = store.get(include=["documents", "metadatas"], limit=batch, offset=offset)
            if not got["ids"]:
                break
            docs.extend(
                Document(page_content=text, metadata=meta)
                for text, meta in zip(got["documents"], got["metadatas"])
            )
            offset += len(got["ids"])
        return docs

    def write_derived(
        self,
        generation: str,
        stored: list[Document],
        documents: dict[str, dict[str, Any]],
        duplicates: dict[str, str],
    ) -> tuple[int, int]:
        """Rebuild chunks.jsonl, BM25 and sentence vectors from what Chroma holds.

        ``stored`` is every chunk Chroma holds for the generation.
        Returns (chunks in the index, sentences newly embedded).
        """
        path = self.root / generation
        records = sorted(
            (ChunkRecord.from_document(d) for d in stored),
            key=lambda r: (r.source, r.ordinal),
        )
        with (path / "chunks.jsonl").open("w", encoding="utf-8") as fh:
            for rec in records:
                fh.write(json.dumps(rec.__dict__, ensure_ascii=False) + "\n")
        shutil.rmtree(path / "bm25", ignore_errors=True)
        KeywordIndex.build([r.chunk_id for r in records], [r.content for r in records]).save(path / "bm25")
        sentences_embedded = self._write_sentence_vectors(path, records)
        (path / "documents.json").write_text(json.dumps(documents, ensure_ascii=False, indent=1))
        (path / "duplicates.json").write_text(json.dumps(duplicates))
        return len(records), sentences_embedded

    def _write_sentence_vectors(self, path: Path, records: list[ChunkRecord]) -> int:
        """Embed each chunk's sentences once; unchanged chunks reuse the previous vectors."""
        old = _load_sentence_vectors(path / "sentences.npz")
        ids: list[str] = []
        vecs: list[np.ndarray] = []
        todo: list[tuple[str, list[str]]] = []
        for rec in records:
            texts = [t for _, _, t in chunk_sentences(rec.text, rec.start)]
            if rec.chunk_id in old and len(old[rec.chunk_id]) == len(texts):
                ids += [rec.chunk_id] * len(texts)
                vecs.append(old[rec.chunk_id])
            else:
                todo.append((rec.chunk_id, texts))
        flat = [t for _, texts in todo for t in texts]
        if flat:
            new = np.asarray(self.embeddings.embed_documents(flat), dtype=np.float32)
            row = 0
            for chunk_id, texts in todo:
                ids += [chunk_id] * len(texts)
                vecs.append(new[row : row + len(texts)])
                row += len(texts)
        matrix = np.concatenate(vecs) if vecs else np.zeros((0, 1), dtype=np.float32)
        tmp = path / "sentences.tmp.npz"
        np.savez(tmp, ids=np.asarray(ids, dtype=str), vecs=matrix)
        os.replace(tmp, path / "sentences.npz")
        return len(flat)

    def read_documents(self, generation: str | None) -> dict[str, dict[str, Any]]:
        if not generation:
            return {}
        path = self.root / generation / "documents.json"
        return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}

    def open_snapshot(self) -> Snapshot | None:
        """The current generation, or None when nothing has been indexed yet."""
        generation = self.current_generation()
        if generation is None:
            return None
        path = self.root / generation
        chunks: dict[str, ChunkRecord] = {}
        with (path / "chunks.jsonl").open(encoding="utf-8") as fh:
            for line in fh:
                rec = ChunkRecord(**json.loads(line))
                chunks[rec.chunk_id] = rec
        return Snapshot(
            generation=generation,
            path=path,
            vectorstore=self.vectorstore(generation),
            keywords=KeywordIndex.load(path / "bm25"),
            chunks=chunks,
            documents=self.read_documents(generation),
            duplicates=json.loads((path / "duplicates.json").read_text()),
            sentence_vectors=_load_sentence_vectors(path / "sentences.npz"),
        )


def _load_sentence_vectors(path: Path) -> dict[str, np.ndarray]:
    if not path.is_file():
        return {}
    data = np.load(path, allow_pickle=False)
    out: dict[str, np.ndarray] = {}
    ids = data["ids"]
    vecs = data["vecs"]
    start = 0
    for i in range(1, len(ids) + 1):
        if i == len(ids) or ids[i] != ids[start]:
            out[str(ids[start])] = vecs[start:i]
            start = i
    return out
