"""The naive baseline: what a user builds in an afternoon, with the same models.

* raw corpus files, LangChain ``RecursiveCharacterTextSplitter(1000, 200)``
  (no cleaning, no headings, no manifest metadata);
* one separate Chroma collection under ``settings.data_dir / "naive"`` with
  the same embedding model as the product (Chroma's default L2 distance);
* dense top-3 retrieval on the question as typed (follow-up questions are not
  rewritten; the chat history only goes into the prompt);
* a plain "stuff" prompt with the three numbered chunks, the same chat model
  (``assistant.llm.get_chat_model``), no verification of the answer.

It returns the product's ``Answer`` objects so the same metrics apply:
sources 1..3 (start/end -1: offsets into the raw file, not the cleaned text),
citations parsed from any [n] markers, and ``abstained`` when the model says
it does not know.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from assistant.types import Answer, Citation, Source
from settings import Settings

CHUNK_SIZE = 1000
CHUNK_OVERLAP = 200
TOP_K = 3
COLLECTION = "naive"

SYSTEM_PROMPT = (
    "Beantwoord de vraag met behulp van de context hieronder. "
    "Als het antwoord niet in de context staat, zeg dan dat u het niet weet. "
    "Noem de bron van uw antwoord met [1], [2] of [3]."
)

_ABSTAIN = re.compile(
    r"weet ik niet|weet het niet|weet dat niet|niet in de context|niet in de bronnen|niet in de tekst"
    r"|staat niet in|kan ik niet|kan ik geen|kan dat niet|geen informatie|niet genoemd|wordt niet vermeld"
    r"|niet vermeld|i don'?t know|i do not know|not in the context|cannot answer|can'?t answer"
    r"|no information|not mentioned",
    re.IGNORECASE,
)
_MARKER = re.compile(r"\[\s*(\d+(?:\s*[,;]\s*\d+)*)\s*\]")


def says_unknown(text: str) -> bool:
    """The naive pipeline's only abstention signal: the model says it does not know."""
    return bool(_ABSTAIN.search(text or "")) or not (text or "").strip()


def _first_line(text: str, fallback: str) -> str:
    for line in text.splitlines():
        if line.strip():
            return line.strip()[:120]
    return fallback


@dataclass
class NaiveIngestReport:
    files: int
    chunks: int
    seconds: float
    skipped: bool


class NaivePipeline:
    """Afternoon-RAG over ``settings.corpus_dir``, persisted in ``settings.data_dir/naive``."""

    def __init__(self, settings: Settings, k: int = TOP_K) -> None:
        from ingest.embeddings import get_embeddings

        self.settings = settings
        self.k = k
        self.dir = Path(settings.data_dir) / "naive"
        self.embeddings = get_embeddings(settings.embedding_model)
        self._store: Any = None
        self._model: Any = None

    # ------------------------------------------------------------ index
    def _client(self) -> Any:
        import chromadb

        self.dir.mkdir(parents=True, exist_ok=True)
        return chromadb.PersistentClient(
            path=str(self.dir / "chroma"), settings=chromadb.Settings(anonymized_telemetry=False)
        )

    def _vectorstore(self) -> Any:
        if self._store is None:
            from langchain_chroma import Chroma

            self._store = Chroma(
                client=self._client(), collection_name=COLLECTION, embedding_function=self.embeddings
            )
        return self._store

    def _files(self) -> list[Path]:
        corpus = Path(self.settings.corpus_dir)
        return sorted(
            p for p in corpus.iterdir()
            if p.is_file() and p.suffix.lower() in {".txt", ".md"} and not p.name.startswith(".")
        )

    def _fingerprint(self, files: list[Path]) -> str:
        h = hashlib.sha256(f"{CHUNK_SIZE}/{CHUNK_OVERLAP}/{self.settings.embedding_model}".encode())
        for p in files:
            h.update(p.name.encode())
            h.update(hashlib.sha256(p.read_bytes()).digest())
        return h.hexdigest()

    def ingest(self, force: bool = False) -> NaiveIngestReport:
        """Split and embed the whole corpus.

        The afternoon script has no incremental indexing: any change (or
        ``force``) rebuilds the collection from scratch. As a convenience for
        repeated eval runs an unchanged corpus (same fingerprint) is skipped.
        """
        from langchain_core.documents import Document
        from langchain_text_splitters import RecursiveCharacterTextSplitter

        started = time.perf_counter()
        files = self._files()
        fingerprint = self._fingerprint(files)
        marker = self.dir / "fingerprint.json"
        store = self._vectorstore()
        if not force and marker.is_file():
            saved = json.loads(marker.read_text())
            if saved.get("fingerprint") == fingerprint and store._collection.count() == saved.get("chunks"):
                return NaiveIngestReport(len(files), saved["chunks"], time.perf_counter() - started, True)

        splitter = RecursiveCharacterTextSplitter(
            chunk_size=CHUNK_SIZE, chunk_overlap=CHUNK_OVERLAP, add_start_index=True
        )
        docs: list[Document] = []
        for path in files:
            text = path.read_text(encoding="utf-8", errors="replace")
            title = _first_line(text, path.stem)
            for i, chunk in enumerate(splitter.split_documents([Document(page_content=text)])):
                chunk.metadata.update({"source": path.name, "title": title, "ordinal": i})
                docs.append(chunk)
        # rebuild: drop the old collection, add everything again
        if self._has_collection():
            self._client().delete_collection(COLLECTION)
        self._store = None
        store = self._vectorstore()
        if docs:
            ids = [f"{d.metadata['source']}:{d.metadata['ordinal']}" for d in docs]
            store.add_documents(docs, ids=ids)
        marker.write_text(json.dumps({"fingerprint": fingerprint, "chunks": len(docs)}))
        return NaiveIngestReport(len(files), len(docs), time.perf_counter() - started, False)

    def _has_collection(self) -> bool:
        try:
            return COLLECTION in [c if isinstance(c, str) else c.name for c in self._client().list_collections()]
        except Exception:  # noqa: BLE001
            return False

    def reset(self) -> None:
        """Remove the naive index (tests and benchmarks)."""
        self._store = None
        shutil.rmtree(self.dir, ignore_errors=True)

    # ------------------------------------------------------------ retrieval
    def retrieve(self, question: str, history: list[dict] | None = None, k: int | None = None) -> list[Source]:
        """Dense top-k on the question as typed (history ignored)."""
        hits = self._vectorstore().similarity_search_with_score(question, k=k or self.k)
        out = []
        for n, (doc, distance) in enumerate(hits, start=1):
            m = doc.metadata
            out.append(
                Source(
                    n=n,
                    chunk_id=f"{m.get('source')}:{m.get('ordinal')}",
                    source=m.get("source", ""),
                    title=m.get("title", ""),
                    kind="",
                    date=None,
                    section="",
                    text=doc.page_content,
                    start=-1,
                    end=-1,
                    score=float(-distance),
                )
            )
        return out

    # ------------------------------------------------------------ answering
    def _chat_model(self) -> Any:
        if self._model is None:
            from assistant.llm import get_chat_model

            self._model = get_chat_model(self.settings)
        return self._model

    @staticmethod
    def messages(question: str, sources: list[Source], history: list[dict] | None = None) -> list[Any]:
        """The stuff prompt: system instruction, numbered context, (history), question."""
        from langchain_core.messages import HumanMessage, SystemMessage

        context = "\n\n".join(f"[{s.n}] {s.text}" for s in sources)
        turns = ""
        if history:
            lines = [
                f"{'Gebruiker' if t.get('role') == 'user' else 'Assistent'}: {t.get('content', '')}"
                for t in history
            ]
            turns = "Gesprek tot nu toe:\n" + "\n".join(lines) + "\n\n"
        return [
            SystemMessage(SYSTEM_PROMPT),
            HumanMessage(f"Context:\n{context}\n\n{turns}Vraag: {question}\nAntwoord:"),
        ]

    def stream(self, question: str, history: list[dict] | None = None) -> Iterator[tuple[str, Any]]:
        """("sources", [Source]), then ("token", str)..., then ("answer", Answer)."""
        started = time.perf_counter()
        sources = self.retrieve(question)
        t_sources = time.perf_counter() - started
        yield "sources", sources
        parts: list[str] = []
        t_first: float | None = None
        for chunk in self._chat_model().stream(self.messages(question, sources, history)):
            token = chunk.content if isinstance(chunk.content, str) else str(chunk.content)
            if not token:
                continue
            if t_first is None:
                t_first = time.perf_counter() - started
            parts.append(token)
            yield "token", token
        total = time.perf_counter() - started
        text = "".join(parts).strip()
        timings = {
            "retrieval": t_sources,
            "sources": t_sources,
            "first_token": t_first if t_first is not None else total,
            "generation": total - t_sources,
            "total": total,
        }
        yield "answer", self._answer(question, text, sources, timings)

    def ask(self, question: str, history: list[dict] | None = None) -> Answer:
        answer = None
        for kind, value in self.stream(question, history):
            if kind == "answer":
                answer = value
        assert answer is not None
        return answer

    def _answer(self, question: str, text: str, sources: list[Source], timings: dict[str, float]) -> Answer:
        by_n = {s.n: s for s in sources}
        citations, seen = [], set()
        for m in _MARKER.finditer(text):
            for n in (int(x) for x in re.findall(r"\d+", m.group(1))):
                if n in by_n and n not in seen:
                    seen.add(n)
                    s = by_n[n]
                    citations.append(Citation(n, s.source, s.title, s.section, s.text, -1, -1))
        abstained = says_unknown(text)
        return Answer(
            question=question,
            text=text,
            mode="chat",
            citations=citations,
            sources=sources,
            abstained=abstained,
            reason="het model zegt het antwoord niet te weten" if abstained else "",
            timings=timings,
            standalone_question=question,
            model=f"naïef ({self.settings.llm_backend})",
        )
