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


class RefusalAwareModel(GenericFakeChatModel):
    """Behaves like the llama.cpp model's refusal policy for a fixed first-token refusal probability."""

    calls: int = 0
    refusal_probability: float = 0.6
    supports_refusal_probability: bool = True

    def _stream(self, messages, stop=None, run_manager=None, **kwargs):
        from langchain_core.messages import AIMessageChunk
        from langchain_core.outputs import ChatGenerationChunk

        self.calls += 1
        policy = kwargs["refusal"]
        metadata = {"refusal_probability": self.refusal_probability, "refusal_is_top": self.refusal_probability > 0.5}
        if self.refusal_probability >= policy["threshold"]:
            yield ChatGenerationChunk(message=AIMessageChunk(content=policy["marker"], response_metadata=metadata))
            return
        yield ChatGenerationChunk(message=AIMessageChunk(content="Het budget is ", response_metadata=metadata))
        yield ChatGenerationChunk(message=AIMessageChunk(content="€ 8,5 miljard [1]."))


def _policy(threshold: float | None) -> dict:
    return {"refusal": {"marker": "NIET_IN_BRONNEN", "threshold": threshold}}


def test_replay_decides_a_refusal_anew_from_the_stored_probability(tmp_path: Path) -> None:
    """A threshold sweep replays one stored answer: refused at or above its probability, answered below it."""
    inner = RefusalAwareModel(messages=iter([]))
    model = ReplayChatModel(inner=inner, path=str(tmp_path / "replies.sqlite3"))
    prompt = [SystemMessage("Regels"), HumanMessage("Vraag: Hoe groot is het budget?")]

    forced = model.invoke(prompt, **_policy(1.01))
    strict = model.invoke(prompt, **_policy(0.5))
    lenient = model.invoke(prompt, **_policy(0.7))
    greedy = model.invoke(prompt, **_policy(None))  # the marker is the model's likeliest first token at 0.6

    assert forced.content == lenient.content == "Het budget is € 8,5 miljard [1]."
    assert strict.content == greedy.content == "NIET_IN_BRONNEN"
    assert lenient.response_metadata["refusal_probability"] == 0.6
    assert inner.calls == 1


def test_replay_asks_the_model_when_only_an_early_refusal_was_stored(tmp_path: Path) -> None:
    inner = RefusalAwareModel(messages=iter([]))
    model = ReplayChatModel(inner=inner, path=str(tmp_path / "replies.sqlite3"))
    prompt = [HumanMessage("Vraag: Hoe groot is het budget?")]

    assert model.invoke(prompt, **_policy(0.3)).content == "NIET_IN_BRONNEN"  # nothing generated after the marker
    assert model.invoke(prompt, **_policy(0.9)).content == "Het budget is € 8,5 miljard [1]."
    assert inner.calls == 2
    assert model.invoke(prompt, **_policy(0.9)).content == "Het budget is € 8,5 miljard [1]."
    assert inner.calls == 2


@pytest.mark.slow
def test_the_local_model_reports_and_obeys_its_refusal_probability(indexed_settings: Settings) -> None:
    """The first token's refusal probability decides: above the threshold nothing is generated, below it an answer."""
    from assistant.evidence import Sentence
    from assistant.prompts import NOT_FOUND_MARKER, answer_messages

    model = get_chat_model(indexed_settings)
    evidence = [Sentence(n=1, source="x.txt", start=0, end=60, text="De GKA wordt uitgebreid van 50 naar 100 gemeenten.")]
    unrelated = answer_messages("Hoeveel kost een schoolreisje naar de Efteling?", evidence)
    related = answer_messages("Met hoeveel gemeenten wordt de GKA uitgebreid?", evidence)

    def reply(messages, threshold):
        chunks = list(model.stream(messages, max_tokens=40, **_policy(threshold)))
        return "".join(str(c.content) for c in chunks), chunks[0].response_metadata

    refused, meta_unrelated = reply(unrelated, 0.0)
    forced, meta_forced = reply(unrelated, 1.01)
    answered, meta_related = reply(related, None)

    assert refused == NOT_FOUND_MARKER
    assert meta_forced["refusal_probability"] == meta_unrelated["refusal_probability"]
    assert NOT_FOUND_MARKER not in forced and len(forced) > 10
    assert "100" in answered
    assert meta_related["refusal_probability"] < meta_unrelated["refusal_probability"]
    # a prompt longer than the context window is an error the assistant falls back from, not a crash
    with pytest.raises(ValueError, match="context window"):
        reply(answer_messages("Wat doet de GKA? " * 2000, evidence), 0.5)
