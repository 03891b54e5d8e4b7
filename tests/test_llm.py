"""Chat-model plumbing: the replay cache evaluators use to re-measure without the model."""

from __future__ import annotations

from pathlib import Path

from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage

from assistant.llm import ReplayChatModel, get_chat_model
from settings import Settings


class CountingModel(GenericFakeChatModel):
    """Streams the next reply of its list and counts how often it was really asked."""

    calls: int = 0

    def _stream(self, *args, **kwargs):
        self.calls += 1
        yield from super()._stream(*args, **kwargs)


def _model(replies: list[str]) -> CountingModel:
    return CountingModel(messages=iter(AIMessage(content=r) for r in replies))


def test_replay_answers_a_repeated_prompt_from_the_file(tmp_path: Path) -> None:
    inner = _model(["Het budget is € 8,5 miljard [1].", "iets anders"])
    path = tmp_path / "replies.sqlite3"
    prompt = [SystemMessage("Regels"), HumanMessage("Vraag: Hoe groot is het budget?")]

    first = "".join(str(c.content) for c in ReplayChatModel(inner=inner, path=str(path)).stream(prompt))
    # a new process (a new wrapper on the same file) gets the same reply without asking the model
    again = ReplayChatModel(inner=inner, path=str(path)).invoke(prompt).content

    assert first == again == "Het budget is € 8,5 miljard [1]."
    assert inner.calls == 1


def test_replay_asks_the_model_for_a_changed_prompt_or_limit(tmp_path: Path) -> None:
    inner = _model(["een", "twee", "drie"])
    model = ReplayChatModel(inner=inner, path=str(tmp_path / "replies.sqlite3"))
    prompt = [HumanMessage("Vraag: Wat is de GKA?")]

    replies = [
        model.invoke(prompt).content,
        model.invoke([HumanMessage("Vraag: Wat is OOGO?")]).content,
        model.invoke(prompt, max_tokens=60).content,
    ]

    assert replies == ["een", "twee", "drie"]
    assert inner.calls == 3


def test_cache_setting_wraps_the_configured_model(tmp_path: Path) -> None:
    settings = Settings(
        llm_backend="openai", openai_base_url="http://127.0.0.1:9/v1", llm_cache=tmp_path / "replies.sqlite3"
    )
    assert isinstance(get_chat_model(settings), ReplayChatModel)
    assert not isinstance(get_chat_model(settings.model_copy(update={"llm_cache": None})), ReplayChatModel)
