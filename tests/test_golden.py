"""Tests for the golden evaluation set (evals/data/golden.jsonl) and its checker."""

import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from evals.golden import KINDS, GoldItem, check_gold, load_golden, normalize  # noqa: E402

CORPUS_DIR = REPO_ROOT / "corpus"
DOC_001 = "001_33e60ce491454f17.txt"
REAL_QUOTE = "Het budget is € 8,5 miljard, waarvan € 5,8 miljard voor het funderend onderwijs, voor een periode van 2,5 jaar."


@pytest.fixture(scope="module")
def items():
    return load_golden()


def _answer_item(**overrides):
    data = {
        "id": "g999", "split": "dev", "kind": "factual", "language": "nl",
        "question": "Hoe groot is het NPO-budget?", "history": [], "expected": "answer",
        "gold_sources": [DOC_001],
        "gold_quotes": [{"source": DOC_001, "quote": REAL_QUOTE}],
        "key_facts": [["8,5 miljard", "8.5 billion"]],
        "notes": "test item",
    }
    data.update(overrides)
    return GoldItem.model_validate(data)


def test_golden_set_loads_with_enough_items(items):
    assert len(items) >= 80
    assert len({it.id for it in items}) == len(items)


def test_every_corpus_document_is_gold_for_several_items(items):
    docs = sorted(p.name for p in CORPUS_DIR.glob("*.txt"))
    assert docs, "corpus is empty"
    for doc in docs:
        n = sum(doc in it.gold_sources for it in items)
        assert n >= 3, f"{doc} is a gold source for only {n} item(s)"


@pytest.mark.parametrize("split", ["dev", "test"])
def test_every_kind_in_both_splits(items, split):
    kinds = {it.kind for it in items if it.split == split}
    assert kinds == set(KINDS), f"{split} misses kinds {set(KINDS) - kinds}"


def test_check_gold_finds_no_problems(items):
    assert check_gold(items, CORPUS_DIR) == []


def test_check_gold_reports_quote_not_in_source():
    bad = _answer_item(gold_quotes=[{"source": DOC_001,
                                     "quote": "Gemeenten krijgen samen € 50 miljard uit het NPO voor tien jaar."}])
    problems = check_gold([bad], CORPUS_DIR, check_splits=False)
    assert any("g999" in p and "quote not found" in p for p in problems), problems


def test_check_gold_reports_unknown_source_and_missing_key_fact():
    bad = _answer_item(gold_sources=[DOC_001, "999_bestaat_niet.txt"],
                       key_facts=[["77 miljard"]])
    problems = check_gold([bad], CORPUS_DIR, check_splits=False)
    assert any("unknown source" in p for p in problems), problems
    assert any("key fact" in p for p in problems), problems


def test_check_gold_accepts_a_correct_item():
    assert check_gold([_answer_item()], CORPUS_DIR, check_splits=False) == []


def test_check_gold_reports_duplicate_ids_and_split_gaps(items):
    problems = check_gold(items + [items[0]], CORPUS_DIR)
    assert any("duplicate id" in p for p in problems), problems
    only_dev = [it for it in items if it.split == "dev"]
    assert any("bad split" in p for p in check_gold(only_dev, CORPUS_DIR))


def test_schema_rejects_inconsistent_items():
    with pytest.raises(ValidationError):  # answer item without quotes
        _answer_item(gold_quotes=[])
    with pytest.raises(ValidationError):  # abstain item with gold sources
        _answer_item(kind="unanswerable", expected="abstain", gold_quotes=[], key_facts=[])
    with pytest.raises(ValidationError):  # follow_up without history
        _answer_item(kind="follow_up")
    history = [{"role": "user", "content": "Wie is het aanspreekpunt?"}, {"role": "assistant", "content": "Eline Verheijen [1]."}]
    with pytest.raises(ValidationError):  # a history on a plain factual question
        _answer_item(history=history)
    unanswerable_follow_up = _answer_item(
        kind="unanswerable", expected="abstain", gold_sources=[], gold_quotes=[], key_facts=[], history=history
    )
    assert unanswerable_follow_up.history[-1].role == "assistant"
    with pytest.raises(ValidationError):  # unknown kind
        _answer_item(kind="chitchat")


def test_normalize():
    assert normalize("  • Het\u00a0‘NPO’\n\t“budget”  ") == "het 'npo' \"budget\""
