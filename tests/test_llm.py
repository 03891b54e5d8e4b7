"""Chat-model plumbing: the replay cache evaluators use to re-measure without the model."""

from __future__ import annotations

from pathlib import Path

import pytest
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage

from assistant.llm import ChatLlamaCppLocal, ReplayChatModel, get_chat_model
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


def test_an_unreadable_cache_file_only_costs_the_cache(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "replies.sqlite3"
    path.write_bytes(b"\x00geen sqlite\xff" * 100)
    model = ReplayChatModel(inner=_model(["een", "twee"]), path=str(path))

    replies = [model.invoke([HumanMessage("Vraag: Wat is de GKA?")]).content for _ in range(2)]

    assert replies == ["een", "twee"]  # the model answered both times, nothing was served from the broken file
    assert path.read_bytes() == b"\x00geen sqlite\xff" * 100
    assert capsys.readouterr().err.count("LLM-cache") == 1


def test_cache_setting_wraps_the_configured_model(tmp_path: Path) -> None:
    settings = Settings(
        llm_backend="openai", openai_base_url="http://127.0.0.1:9/v1", llm_cache=tmp_path / "replies.sqlite3"
    )
    assert isinstance(get_chat_model(settings), ReplayChatModel)
    assert not isinstance(get_chat_model(settings.model_copy(update={"llm_cache": None})), ReplayChatModel)


@pytest.mark.slow
def test_an_answer_does_not_depend_on_the_prompt_asked_before_it(indexed_settings: Settings) -> None:
    """A follow-up's rewrite prompt comes between two answer prompts; the restored warm state answers the same."""
    from assistant.evidence import Sentence
    from assistant.prompts import answer_messages, rewrite_messages

    model = get_chat_model(indexed_settings)
    assert isinstance(model, ChatLlamaCppLocal) and model.prefix_states > 0
    evidence = [
        Sentence(n=1, source="x.txt", start=0, end=60, text="Het budget is € 8,5 miljard, voor een periode van 2,5 jaar."),
        Sentence(n=2, source="y.txt", start=0, end=60, text="De GKA wordt uitgebreid van 50 naar 100 gemeenten."),
    ]
    answer = answer_messages("Hoe groot is het budget van het NPO?", evidence)
    other = answer_messages("Met hoeveel gemeenten wordt de GKA uitgebreid?", evidence)
    rewrite = rewrite_messages(
        "En hoeveel gemeenten doen daaraan mee?",
        [{"role": "user", "content": "Wat doet de GKA?"}, {"role": "assistant", "content": "De GKA helpt gemeenten [1]."}],
    )

    first = model.invoke(answer, max_tokens=40).content
    model.invoke(rewrite, max_tokens=30)  # another system prompt: its state replaces the answer prompt's
    after_rewrite = model.invoke(answer, max_tokens=40).content
    model.invoke(rewrite, max_tokens=30)
    second_question = model.invoke(other, max_tokens=40).content

    assert "8,5 miljard" in first
    assert after_rewrite == first
    assert "100" in second_question and "8,5" not in second_question
