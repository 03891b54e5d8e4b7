"""Chat models behind LangChain's ``BaseChatModel``, chosen by setting.

* ``llamacpp`` (default): the bundled Qwen2.5-Coder-1.5B-Instruct GGUF run in
  process by llama.cpp. One model per process, guarded by a lock so several
  browser sessions can share it. llama.cpp reuses the KV cache for the longest
  common token prefix, so the fixed system prompt is evaluated only once.
* ``openai``: any OpenAI-compatible server (vLLM, llama.cpp server, Ollama /v1, Azure).
* ``ollama``: a local Ollama daemon.
"""

from __future__ import annotations

import atexit
import hashlib
import json
import sqlite3
import sys
import threading
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from pydantic import ConfigDict, PrivateAttr

from settings import Settings

from .model_file import MODEL_FILE_NAME, ensure_model_file

_ROLE = {"human": "user", "ai": "assistant", "system": "system"}


def _to_llama_messages(messages: list[BaseMessage]) -> list[dict[str, str]]:
    return [{"role": _ROLE.get(m.type, "user"), "content": str(m.content)} for m in messages]


def _shared_prefix(first: Any, second: Any) -> int:
    """How many leading tokens two token sequences have in common."""
    shared = 0
    for a, b in zip(first, second):
        if a != b:
            break
        shared += 1
    return shared


def _refuses(metadata: dict[str, Any], threshold: float | None) -> bool:
    """The refusal decision from a first token's refusal probability (None: the model's own greedy choice)."""
    if threshold is None:
        return bool(metadata.get("refusal_is_top", False))
    return metadata["refusal_probability"] >= threshold


class _StreamedChatModel(BaseChatModel):
    """A chat model whose one real path is ``_stream``; ``invoke`` joins the chunks."""

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        text, metadata = "", {}
        for chunk in self._stream(messages, stop, run_manager, **kwargs):
            text += chunk.text
            metadata = metadata or dict(chunk.message.response_metadata or {})
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content=text, response_metadata=metadata))])


class ChatLlamaCppLocal(_StreamedChatModel):
    """In-process llama.cpp chat model (thread-safe, prefix-cache friendly).

    llama.cpp reuses its KV cache only for the prefix shared with the previous
    prompt. A follow-up question first asks the rewrite prompt, which would make the
    answer prompt's long system text be read again (~4 s on two cores). So the state
    is saved when the system prompt changes and restored when it comes back: each
    fixed system prompt (answer, rewrite, translate) keeps its own warm prefix.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    model_path: str
    n_ctx: int = 4096
    n_threads: int = 2
    max_tokens: int = 320
    temperature: float = 0.0
    seed: int = 7
    flash_attention: bool = False
    _llama: Any = PrivateAttr(default=None)
    prefix_states: int = 3  # warm states kept, one per system prompt
    _lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)
    _states: dict[str, Any] = PrivateAttr(default_factory=dict)
    _system: str | None = PrivateAttr(default=None)
    _format: Any = PrivateAttr(default=None)
    _marker_cache: dict[str, Any] = PrivateAttr(default_factory=dict)
    _system_prefixes: dict[str, list[int]] = PrivateAttr(default_factory=dict)
    supports_refusal_probability: bool = True  # reads the refusal marker's first-token probability

    @property
    def _llm_type(self) -> str:
        return "llamacpp-local"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"model_path": self.model_path, "n_ctx": self.n_ctx}

    def _client(self) -> Any:
        if self._llama is None:
            from llama_cpp import Llama

            self._llama = Llama(
                model_path=self.model_path,
                n_ctx=self.n_ctx,
                n_threads=self.n_threads,
                n_threads_batch=self.n_threads,
                n_batch=512,
                flash_attn=self.flash_attention,
                seed=self.seed,
                verbose=False,
            )
            # free the model before interpreter teardown (llama.cpp's own __del__ then fails noisily)
            atexit.register(self._llama.close)
        return self._llama

    def count_tokens(self, text: str) -> int:
        return len(self._client().tokenize(text.encode("utf-8"), add_bos=False))

    def _switch_prefix(self, client: Any, messages: list[BaseMessage]) -> None:
        """Keep the KV state of the system prompt we leave; bring back the one we return to.

        Only llama.cpp's state (the used KV cells, ~28 KB a token) and the token ids are copied,
        in milliseconds: llama-cpp-python's own ``save_state`` also copies a 300 MB logits
        buffer that sampling no longer reads, which made its RAM cache grow past 10 GB.
        """
        import ctypes

        import llama_cpp

        system = str(messages[0].content) if messages and messages[0].type == "system" else ""
        if self.prefix_states <= 0 or system == self._system:
            return
        ctx = client._ctx.ctx
        if self._system is not None and client.n_tokens:
            size = llama_cpp.llama_state_get_size(ctx)
            buffer = (ctypes.c_uint8 * size)()
            used = llama_cpp.llama_state_get_data(ctx, buffer, size)
            self._states.pop(self._system, None)
            self._states[self._system] = (buffer, used, client.input_ids[: client.n_tokens].copy())
            while len(self._states) > self.prefix_states:
                self._states.pop(next(iter(self._states)))  # the least recently left
        if system in self._states:
            buffer, used, ids = self._states[system]
            if llama_cpp.llama_state_set_data(ctx, buffer, used) == used:
                client.input_ids[: len(ids)] = ids
                client.n_tokens = len(ids)
            else:  # a state that does not fit: read the prompt anew
                client.reset()
        self._system = system

    def _params(self, stop: list[str] | None, kwargs: dict[str, Any]) -> dict[str, Any]:
        return {
            "max_tokens": kwargs.get("max_tokens", self.max_tokens),
            "temperature": kwargs.get("temperature", self.temperature),
            "top_p": 1.0,
            "top_k": 1 if self.temperature == 0 else 40,
            "repeat_penalty": 1.05,
            "stop": stop or [],
            "seed": self.seed,
        }

    def _formatter(self, client: Any) -> Any:
        """The GGUF's own chat template, as llama-cpp-python's chat completion applies it."""
        if self._format is None:
            from llama_cpp import llama_chat_format

            eos = client.token_eos()
            self._format = llama_chat_format.Jinja2ChatFormatter(
                template=client.metadata["tokenizer.chat_template"],
                eos_token=client._model.token_get_text(eos),
                bos_token=client._model.token_get_text(client.token_bos()) if client.token_bos() >= 0 else "",
                stop_token_ids=[eos],
            )
        return self._format

    def _marker_ids(self, client: Any, marker: str) -> Any:
        """Token ids that can begin ``marker`` ("N", "NI", " NI", ...): the first step of writing it."""
        import numpy as np

        if marker not in self._marker_cache:
            ids = []
            for token_id in range(client.n_vocab()):
                piece = client.detokenize([token_id]).decode("utf-8", errors="ignore").strip()
                if piece and marker.startswith(piece):
                    ids.append(token_id)
            self._marker_cache[marker] = np.array(ids, dtype=np.int64)
        return self._marker_cache[marker]

    def _system_tokens(self, client: Any, messages: list[BaseMessage], tokens: list[int]) -> int:
        """How many of the prompt's tokens are its fixed system part (0 without a system message)."""
        if not messages or messages[0].type != "system":
            return 0
        system_text = str(messages[0].content)
        if system_text not in self._system_prefixes:  # a handful of fixed system prompts: tokenised once each
            alone = self._formatter(client)(messages=_to_llama_messages(messages[:1]))
            self._system_prefixes[system_text] = client.tokenize(
                alone.prompt.encode("utf-8"), add_bos=not alone.added_special, special=True
            )
        return _shared_prefix(self._system_prefixes[system_text], tokens)

    def _next_token_probs(self, client: Any, tokens: list[int], keep: int) -> Any:
        """Read the prompt after its first ``keep`` tokens and return the next token's distribution.

        Only the fixed system part is reused from the cache: logits depend slightly on how
        the prompt was split into batches, so the system part is read alone and the rest in
        one piece, and the same prompt gets the same probability whatever was asked before
        it. The generation that follows finds the whole prompt cached and samples at once.
        """
        import numpy as np

        prefix = _shared_prefix(client.input_ids[: client.n_tokens], tokens[:keep])
        client.n_tokens = min(prefix, len(tokens) - 1)  # at least one token is read: its logits are needed
        if client.n_tokens < keep < len(tokens):
            client.eval(tokens[client.n_tokens : keep])  # the system part alone, as it is later reused
        client.eval(tokens[client.n_tokens :])
        logits = np.ctypeslib.as_array(client._ctx.get_logits_ith(-1), shape=(client.n_vocab(),))
        logits = logits.astype(np.float64)
        probs = np.exp(logits - logits.max())
        return probs / probs.sum()

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        """Generate greedily; with ``refusal={"marker", "threshold"}`` the refusal is a calibrated decision.

        The probability that the reply starts with the refusal marker is read from the first
        token's distribution. At or above the threshold the reply is the marker (nothing more is
        generated); below it the model must answer: the first token is the likeliest one that
        does not begin the marker. Either way the first chunk carries ``refusal_probability``.
        """
        import numpy as np

        refusal = kwargs.pop("refusal", None)
        with self._lock:
            client = self._client()
            self._switch_prefix(client, messages)
            formatted = self._formatter(client)(messages=_to_llama_messages(messages))
            tokens = client.tokenize(
                formatted.prompt.encode("utf-8"), add_bos=not formatted.added_special, special=True
            )
            if len(tokens) >= client.n_ctx():  # llama.cpp would overrun its context; the caller falls back
                raise ValueError(f"prompt of {len(tokens)} tokens exceeds the context window of {client.n_ctx()}")
            metadata: dict[str, Any] = {}
            first = ""
            if refusal:
                marker = str(refusal["marker"])
                probs = self._next_token_probs(client, tokens, self._system_tokens(client, messages, tokens))
                marker_ids = self._marker_ids(client, marker)
                refusal_probability = float(probs[marker_ids].sum())
                metadata = {
                    "refusal_probability": round(refusal_probability, 5),
                    "refusal_is_top": bool(np.isin(np.argmax(probs), marker_ids)),
                }
                if _refuses(metadata, refusal.get("threshold")):
                    yield self._chunk(marker, metadata, run_manager)
                    return
                probs[marker_ids] = 0.0
                first_id, first = self._first_piece(client, probs)
                tokens = [*tokens, first_id]
            stop_words = [*(stop or []), *([formatted.stop] if isinstance(formatted.stop, str) else formatted.stop or [])]
            stream = client.create_completion(prompt=tokens, stream=True, **self._params(stop_words, kwargs))
            if first:
                yield self._chunk(first, metadata, run_manager)
                metadata = {}
            for part in stream:
                delta = part["choices"][0].get("text")
                if delta:
                    yield self._chunk(delta, metadata, run_manager)
                    metadata = {}

    @staticmethod
    def _first_piece(client: Any, probs: Any) -> tuple[int, str]:
        """The likeliest token that is whole text (not a fragment of a multi-byte character)."""
        import numpy as np

        for token_id in np.argsort(-probs)[:50]:
            try:
                return int(token_id), client.detokenize([int(token_id)]).decode("utf-8")
            except UnicodeDecodeError:
                continue
        token_id = int(np.argmax(probs))
        return token_id, client.detokenize([token_id]).decode("utf-8", errors="ignore")

    @staticmethod
    def _chunk(
        text: str, metadata: dict[str, Any], run_manager: CallbackManagerForLLMRun | None
    ) -> ChatGenerationChunk:
        chunk = ChatGenerationChunk(message=AIMessageChunk(content=text, response_metadata=dict(metadata)))
        if run_manager:
            run_manager.on_llm_new_token(text, chunk=chunk)
        return chunk


class ReplayChatModel(_StreamedChatModel):
    """A chat model that answers repeated prompts from an SQLite file (``NPO_LLM_CACHE``).

    For evaluators and developers: after one evaluation run, changes to retrieval
    post-processing, verification or fallback rules can be re-measured in seconds,
    because every prompt the pipeline sends again gets the reply it got before.
    LangChain's own cache does not serve ``stream()``, which the assistant uses.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    inner: BaseChatModel
    path: str
    label: str = ""
    _lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)
    _warned: bool = PrivateAttr(default=False)

    @property
    def _llm_type(self) -> str:
        return "replay"

    def _key(self, messages: list[BaseMessage], stop: list[str] | None, kwargs: dict[str, Any]) -> str:
        payload = json.dumps(
            [self.label, _to_llama_messages(messages), stop or [], sorted(kwargs.items())], ensure_ascii=False
        )
        return hashlib.sha256(payload.encode("utf-8")).hexdigest()

    def _query(self, sql: str, args: tuple[str, ...]) -> tuple[str, ...] | None:
        """One statement on the cache file; an unreadable file counts as a miss (the model answers)."""
        try:
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            with self._lock, closing(sqlite3.connect(self.path, timeout=30.0)) as db, db:
                db.execute("CREATE TABLE IF NOT EXISTS replies (key TEXT PRIMARY KEY, text TEXT NOT NULL)")
                return db.execute(sql, args).fetchone()
        except sqlite3.Error as exc:
            if not self._warned:
                self._warned = True
                print(f"Waarschuwing: LLM-cache {self.path} is onbruikbaar ({exc}); het model antwoordt zonder cache.",
                      file=sys.stderr)
            return None

    def _lookup(self, key: str) -> dict[str, Any] | None:
        row = self._query("SELECT text FROM replies WHERE key = ?", (key,))
        if not row:
            return None
        try:
            entry = json.loads(row[0])
        except ValueError:
            entry = None
        if not isinstance(entry, dict) or "text" not in entry:  # a reply stored as plain text
            entry = {"text": row[0], "metadata": {}, "complete": True}
        return entry

    def _store(self, key: str, text: str, metadata: dict[str, Any], complete: bool) -> None:
        entry = json.dumps({"text": text, "metadata": metadata, "complete": complete}, ensure_ascii=False)
        self._query("INSERT OR REPLACE INTO replies VALUES (?, ?)", (key, entry))

    @property
    def supports_refusal_probability(self) -> bool:
        return bool(getattr(self.inner, "supports_refusal_probability", False))

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        """Replay a stored reply; with a refusal policy, decide anew from the stored probability.

        The refusal threshold is not part of the key, so a threshold sweep replays the
        same replies: a stored answer is served below the threshold, the marker at or
        above it. Only a stored early refusal that is now below the threshold asks the model.
        """
        refusal = kwargs.get("refusal")
        key = self._key(messages, stop, {k: v for k, v in kwargs.items() if k != "refusal"}
                        | ({"refusal_marker": refusal["marker"]} if refusal else {}))
        cached = self._lookup(key)
        if cached is not None:
            metadata = cached.get("metadata") or {}
            reply = None
            if refusal and "refusal_probability" in metadata:
                if _refuses(metadata, refusal.get("threshold")):
                    reply = refusal["marker"]
                elif cached.get("complete", True):
                    reply = cached["text"]
            elif not refusal:
                reply = cached["text"]
            if reply is not None:
                yield ChatGenerationChunk(message=AIMessageChunk(content=reply, response_metadata=metadata))
                return
        text, stored_metadata = "", {}
        for chunk in self.inner.stream(messages, stop=stop, **kwargs):
            delta = str(chunk.content)
            stored_metadata = stored_metadata or dict(chunk.response_metadata or {})
            text += delta
            yield ChatGenerationChunk(message=AIMessageChunk(content=delta, response_metadata=dict(chunk.response_metadata or {})))
        # an early refusal (the marker, nothing generated) cannot serve a lower threshold later
        early_refusal = bool(refusal) and text == refusal["marker"] and "refusal_probability" in stored_metadata
        self._store(key, text, stored_metadata, complete=not early_refusal)


def model_label(settings: Settings) -> str:
    if settings.llm_backend == "openai":
        return f"{settings.openai_model} (openai-compatibel)"
    if settings.llm_backend == "ollama":
        return f"{settings.ollama_model} (ollama)"
    name = (settings.llm_model_path.name if settings.llm_model_path else MODEL_FILE_NAME).removesuffix(".gguf")
    return f"{name} (llama.cpp)"


def build_chat_model(settings: Settings) -> BaseChatModel:
    """A new chat model for the configured backend."""
    if settings.llm_backend == "openai":
        from langchain_openai import ChatOpenAI

        return ChatOpenAI(
            base_url=settings.openai_base_url,
            model=settings.openai_model,
            api_key=settings.openai_api_key,
            temperature=settings.llm_temperature,
            max_tokens=settings.llm_max_tokens,
            timeout=settings.llm_timeout_s,
            max_retries=1,
            seed=7,
        )
    if settings.llm_backend == "ollama":
        from langchain_ollama import ChatOllama

        return ChatOllama(
            base_url=settings.ollama_base_url,
            model=settings.ollama_model,
            temperature=settings.llm_temperature,
            num_predict=settings.llm_max_tokens,
            num_ctx=settings.llm_context_tokens,
        )
    path = settings.llm_model_path or ensure_model_file(settings.model_cache_dir)
    return ChatLlamaCppLocal(
        model_path=str(path),
        n_ctx=settings.llm_context_tokens,
        n_threads=settings.llm_threads,
        max_tokens=settings.llm_max_tokens,
        temperature=settings.llm_temperature,
        prefix_states=settings.llm_prefix_states,
        flash_attention=settings.llm_flash_attention,
    )


_CACHE: dict[tuple[str, ...], BaseChatModel] = {}
_CACHE_LOCK = threading.Lock()


def get_chat_model(settings: Settings) -> BaseChatModel:
    """The process-wide chat model for these settings (the GGUF is loaded once)."""
    key = (
        settings.llm_backend,
        str(settings.llm_model_path or settings.model_cache_dir),
        settings.openai_base_url,
        str(settings.llm_cache or ""),
    )
    with _CACHE_LOCK:
        if key not in _CACHE:
            model = build_chat_model(settings)
            if settings.llm_cache:
                model = ReplayChatModel(inner=model, path=str(settings.llm_cache), label=model_label(settings))
            _CACHE[key] = model
        return _CACHE[key]
