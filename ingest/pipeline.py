"""Ingestion run: load files, chunk, index incrementally, switch generation.

Only new or changed documents are embedded (LangChain's indexing API with a
SQL record manager decides by content hash); documents no longer in the corpus
are removed from Chroma and BM25 alike. Bad files are reported one by one and
never stop the others; their previously indexed version keeps serving.
"""

from __future__ import annotations

import hashlib
import shutil
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from langchain_classic.indexes import SQLRecordManager, index
from langchain_core.documents import Document

from settings import Settings

from .chunking import CHUNKER_VERSION, chunk_text, embedding_text
from .dedup import near_duplicate_groups
from .embeddings import SentenceTransformerEmbeddings
from .index import IndexStore
from .loaders import (
    SUPPORTED_SUFFIXES,
    IngestError,
    LoadedDocument,
    load_file,
    read_manifest,
    sanitize_filename,
)

Progress = Callable[[int, int, str], None]


@dataclass
class IngestReport:
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)  # file -> Dutch message
    chunks_total: int = 0
    chunks_embedded: int = 0
    sentences_embedded: int = 0  # sentence vectors for reranking, embedded alongside new chunks
    seconds: float = 0.0
    generation: str | None = None

    @property
    def ok(self) -> bool:
        return not self.failed

    def summary(self) -> str:
        return (
            f"Documenten: {len(self.added)} toegevoegd, {len(self.updated)} bijgewerkt, "
            f"{len(self.unchanged)} ongewijzigd, {len(self.removed)} verwijderd, "
            f"{len(self.failed)} mislukt. Fragmenten in de index: {self.chunks_total} "
            f"({self.chunks_embedded} opnieuw ingebed). Duur: {self.seconds:.1f} s."
        )


def chunker_signature(settings: Settings) -> str:
    """What decides chunk boundaries: an index made with another signature is stale."""
    return f"v{CHUNKER_VERSION}/{settings.chunk_max_chars}/{settings.chunk_min_chars}"


def index_is_stale(settings: Settings) -> bool:
    """True when the index is missing, corpus/ differs from what was indexed, or the chunker changed.

    Needs no models: it compares file hashes and the recorded chunker signature.
    """
    store = IndexStore(settings, embeddings=None)  # type: ignore[arg-type]
    indexed = store.read_documents(store.current_generation())
    if not indexed:
        return True
    on_disk = {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in settings.corpus_dir.iterdir()
        if p.is_file() and not p.name.startswith(".") and p.name != "manifest.json"
    }
    if on_disk != {name: doc.get("sha256") for name, doc in indexed.items()}:
        return True
    return any(doc.get("chunker") != chunker_signature(settings) for doc in indexed.values())


def chunk_documents(doc: LoadedDocument, settings: Settings) -> list[Document]:
    """LangChain documents for one loaded file, one per chunk."""
    out = []
    for chunk in chunk_text(doc.source, doc.text, settings.chunk_max_chars, settings.chunk_min_chars):
        out.append(
            Document(
                page_content=embedding_text(doc.title, chunk.section, chunk.text),
                metadata={
                    "chunk_id": chunk.chunk_id,
                    "source": doc.source,
                    "title": doc.title,
                    "kind": doc.kind,
                    "date": doc.meta.date or "",
                    "section": chunk.section,
                    "start": chunk.start,
                    "end": chunk.end,
                    "ordinal": chunk.ordinal,
                    "section_part": chunk.section_part,
                    "section_parts": chunk.section_parts,
                    "text": chunk.text,
                },
            )
        )
    return out


def _collect_files(paths: Iterable[Path]) -> tuple[list[Path], dict[str, str]]:
    files, failed = [], {}
    for path in paths:
        if path.is_dir():
            for child in sorted(path.iterdir()):
                if child.is_file() and not child.name.startswith(".") and child.name != "manifest.json":
                    files.append(child)
        elif path.is_file():
            files.append(path)
        else:
            failed[path.name] = "Het bestand bestaat niet."
    return files, failed


class Ingestor:
    """Runs ingests against one index store with one embeddings model."""

    def __init__(self, settings: Settings, embeddings: SentenceTransformerEmbeddings) -> None:
        self.settings = settings
        self.embeddings = embeddings
        self.store = IndexStore(settings, embeddings)

    def _record_manager(self, generation: str) -> SQLRecordManager:
        path = self.store.root / generation / "records.sqlite3"
        manager = SQLRecordManager(
            f"chroma/{self.settings.collection_name}", db_url=f"sqlite:///{path}"
        )
        manager.create_schema()
        return manager

    def run(
        self,
        paths: list[Path] | None = None,
        rebuild: bool = False,
        delete: Iterable[str] = (),
        progress: Progress | None = None,
    ) -> IngestReport:
        """Ingest ``paths`` (default: the whole corpus folder, which also removes deleted files).

        Files outside the corpus folder are copied into it first, so the corpus
        folder stays the one library of sources.
        """
        started = time.perf_counter()
        corpus = self.settings.corpus_dir
        corpus.mkdir(parents=True, exist_ok=True)
        full_sync = not paths
        files, failed = _collect_files(paths or [corpus])
        files = [f for f in files if f.name not in set(delete)]
        report = IngestReport(failed=dict(failed))
        manifest = read_manifest(self.settings.manifest_path)
        max_bytes = int(self.settings.max_file_mb * 1_000_000)

        loaded: list[tuple[Path, LoadedDocument]] = []
        for i, path in enumerate(files):
            if progress:
                progress(i, len(files), path.name)
            name = path.name if path.parent.resolve() == corpus.resolve() else sanitize_filename(path.name)
            try:
                if path.suffix.lower() not in SUPPORTED_SUFFIXES:
                    raise IngestError(
                        f"Bestandstype '{path.suffix or '(geen)'}' wordt niet ondersteund; "
                        f"toegestaan zijn {', '.join(SUPPORTED_SUFFIXES)}."
                    )
                doc = load_file(path, manifest.get(name), max_bytes)
                doc = LoadedDocument(source=name, text=doc.text, sha256=doc.sha256, meta=doc.meta)
                loaded.append((path, doc))
            except IngestError as exc:
                report.failed[path.name] = str(exc)

        with self.store.writer_lock():
            current = self.store.current_generation()
            previous_docs = {} if rebuild else self.store.read_documents(current)
            generation = self.store.new_generation(None if rebuild else current)
            try:
                self._apply(generation, loaded, previous_docs, full_sync, set(delete), report, progress)
                self.store.commit(generation)
            except BaseException:
                self.store.discard(generation)
                raise
        # only now, with the index committed, do new files join the corpus folder
        for path, doc in loaded:
            target = corpus / doc.source
            if path.resolve() != target.resolve():
                shutil.copyfile(path, target)
        for name in report.removed:
            if name in set(delete):
                (corpus / name).unlink(missing_ok=True)
        report.generation = generation
        report.seconds = time.perf_counter() - started
        if progress:
            progress(len(files), len(files), "")
        return report

    def _apply(
        self,
        generation: str,
        loaded: list[tuple[Path, LoadedDocument]],
        previous_docs: dict[str, dict[str, Any]],
        full_sync: bool,
        delete: set[str],
        report: IngestReport,
        progress: Progress | None,
    ) -> None:
        vectorstore = self.store.vectorstore(generation)
        records = self._record_manager(generation)
        before = self.embeddings.embedded_count
        documents = dict(previous_docs)
        now = datetime.now(timezone.utc).isoformat(timespec="seconds")

        for path, doc in loaded:
            chunks = chunk_documents(doc, self.settings)
            result = index(
                chunks,
                records,
                vectorstore,
                cleanup="incremental",
                source_id_key="source",
                key_encoder="sha256",
                batch_size=max(len(chunks), 1),
            )
            changed = result["num_added"] or result["num_deleted"] or result["num_updated"]
            if doc.source not in previous_docs:
                report.added.append(doc.source)
            elif changed:
                report.updated.append(doc.source)
            else:
                report.unchanged.append(doc.source)
            old = previous_docs.get(doc.source, {})
            documents[doc.source] = {
                "source": doc.source,
                "title": doc.title,
                "kind": doc.kind,
                "publisher": doc.meta.publisher,
                "date": doc.meta.date,
                "url": doc.meta.url,
                "note": doc.meta.note,
                "sha256": doc.sha256,
                "chunks": len(chunks),
                "chunker": chunker_signature(self.settings),
                "indexed_at": now if changed or not old else old.get("indexed_at", now),
                "text": doc.text,
            }

        seen = {doc.source for _, doc in loaded} | set(report.failed)
        stale = set(delete) | ({s for s in documents if s not in seen} if full_sync else set())
        for source in sorted(stale & set(documents)):
            keys = records.list_keys(group_ids=[source])
            if keys:
                vectorstore.delete(ids=keys)
                records.delete_keys(keys)
            documents.pop(source, None)
            report.removed.append(source)

        all_docs = self.store.all_documents(generation)
        duplicates = near_duplicate_groups(
            ((d.metadata["chunk_id"], d.metadata["source"], d.metadata["text"]) for d in all_docs),
            self.settings.near_duplicate_threshold,
        )
        report.chunks_total, sentences_embedded = self.store.write_derived(
            generation, all_docs, documents, duplicates
        )
        report.chunks_embedded = self.embeddings.embedded_count - before - sentences_embedded
        report.sentences_embedded = sentences_embedded
