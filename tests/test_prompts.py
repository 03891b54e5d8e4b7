"""What the model is shown: the numbered evidence block (pure functions)."""

from __future__ import annotations

from assistant.evidence import Sentence
from assistant.prompts import answer_messages, evidence_block


def _sentence(n: int, text: str, score: float, start: int = 0) -> Sentence:
    return Sentence(n=n, source=f"{n}.txt", text=text, start=start, end=start + len(text), score=score)


def test_sentences_of_one_source_share_its_number_in_document_order() -> None:
    later = _sentence(2, "Uiterlijk in juli krijgt u meer informatie.", 0.95, start=100)
    earlier = _sentence(2, "Gemeenten ontvangen een budget.", 0.90, start=10)
    other = _sentence(1, "Het budget is € 8,5 miljard.", 0.92)
    block = evidence_block([other, earlier, later])
    assert block.splitlines() == [
        "[1] Het budget is € 8,5 miljard.",
        "[2] Gemeenten ontvangen een budget. Uiterlijk in juli krijgt u meer informatie.",
    ]
    question = answer_messages("Hoeveel krijgen gemeenten?", [other, earlier, later])[1].content
    assert question.endswith("Vraag: Hoeveel krijgen gemeenten?") and block in question
