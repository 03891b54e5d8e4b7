"""Unit tests of the evaluation metrics with crafted answers, and of ``python -m evals score``."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from evals.golden import GoldItem
from evals.metrics import (
    aggregate,
    canon,
    citation_metrics,
    evidence_match,
    facts_present,
    groundedness,
    has_amount_or_figure,
    item_row,
    ndcg_at,
    parse_number,
    percentile,
    retrieval_item_metrics,
    score_answer,
    split_sentences,
    summarize,
)

ROOT = Path(__file__).resolve().parent.parent
DOC = "001_brief.txt"
QUOTE = "Het budget is € 8,5 miljard, waarvan € 5,8 miljard voor het funderend onderwijs."


def answer_item(**kw) -> GoldItem:
    data = {
        "id": "g001", "split": "test", "kind": "factual", "language": "nl",
        "question": "Hoe groot is het budget?", "expected": "answer",
        "gold_sources": [DOC], "gold_quotes": [{"source": DOC, "quote": QUOTE}],
        "key_facts": [["8,5 miljard"]],
    }
    data.update(kw)
    return GoldItem.model_validate(data)


def abstain_item(**kw) -> GoldItem:
    data = {"id": "g002", "split": "test", "kind": "unanswerable", "language": "nl",
            "question": "Wat is het budget van Utrecht?", "expected": "abstain"}
    data.update(kw)
    return GoldItem.model_validate(data)


def src(n: int, text: str, source: str = DOC) -> dict:
    return {"n": n, "source": source, "text": text}


def ans(text: str, sources=(), citations=(), abstained=False, timings=None) -> dict:
    return {"text": text, "sources": list(sources), "citations": list(citations),
            "abstained": abstained, "timings": timings or {}}


# ------------------------------------------------------------------ numbers and facts
@pytest.mark.parametrize(
    "a,b",
    [
        ("€ 8,5 miljard", "8,5 miljard euro"),
        ("€8,5 miljard", "EUR 8.5 billion"),
        ("8.500.000.000 euro", "€ 8,5 miljard"),
        ("€\u00a0300\u202fmiljoen", "300 miljoen euro"),
        ("3 procent", "3%"),
        ("1.234,5", "1,234.5"),
    ],
)
def test_canon_unifies_amounts(a, b):
    assert canon(a) == canon(b)


def test_plain_spaces_do_not_glue_numbers_but_thin_spaces_group():
    assert canon("in 2021 150 scholen") == "in 2021 150 scholen"
    assert canon("€ 1\u202f000\u202f000") == "1000000 euro"


def test_parse_number_styles():
    assert parse_number("8,5") == 8.5
    assert parse_number("8.5") == 8.5
    assert parse_number("1.000") == 1000
    assert parse_number("1.000.000") == 1_000_000
    assert parse_number("0,125") == 0.125
    assert parse_number("1.234,56") == 1234.56


def test_fact_with_euro_sign_matches_amount_written_out():
    assert facts_present("Het budget is 8,5 miljard euro [1].", [["€ 8,5 miljard"]])[2] == []
    assert facts_present("Het budget is € 8,5 miljard [1].", [["8,5 miljard euro"]])[2] == []
    assert facts_present("The budget is EUR 8.5 billion.", [["8,5 miljard"]])[2] == []


def test_numbers_do_not_match_inside_longer_numbers():
    assert facts_present("Het gaat om 85 miljoen euro.", [["8,5 miljoen"]])[2] == [["8,5 miljoen"]]
    assert facts_present("Het gaat om € 1300 miljoen.", [["300 miljoen"]])[2] == [["300 miljoen"]]
    # a citation marker is not a number of the answer
    assert facts_present("Zie de brief [3].", [["3"]])[2] == [["3"]]


def test_answer_missing_a_fact_is_not_correct():
    item = answer_item(key_facts=[["8,5 miljard"], ["5,8 miljard"]])
    out = score_answer(item, ans("Het budget is € 8,5 miljard [1].", [src(1, QUOTE)]))
    assert out["facts_found"] == 1 and out["facts_total"] == 2
    assert out["fact_correct"] is False and out["correct"] is False


def test_abstained_answer_item_is_not_correct_even_with_fact():
    out = score_answer(answer_item(), ans("Ik weet het niet; misschien € 8,5 miljard.", abstained=True))
    assert out["correct"] is False and out["abstained"] is True


# ------------------------------------------------------------------ citations
def test_marker_beyond_sources_is_invalid():
    a = ans("Het budget is € 8,5 miljard [7].", [src(1, QUOTE), src(2, "x"), src(3, "y")])
    c = citation_metrics(a, [DOC])
    assert c["citation_resolved"] is False and c["citation_valid"] is False and c["unresolved"] == [7]


def test_valid_citation_needs_gold_source():
    sources = [src(1, QUOTE), src(2, "Iets anders.", source="other.txt")]
    good = citation_metrics(ans("Het budget is € 8,5 miljard [1].", sources), [DOC])
    wrong_doc = citation_metrics(ans("Het budget is € 8,5 miljard [2].", sources), [DOC])
    assert good["citation_valid"] is True
    assert wrong_doc["citation_resolved"] is True and wrong_doc["citation_gold"] is False
    assert wrong_doc["citation_valid"] is False


def test_citations_resolve_through_citation_list_and_grouped_markers():
    a = ans("Het budget is € 8,5 miljard [1, 2].",
            citations=[{"n": 1, "source": DOC, "quote": QUOTE}, {"n": 2, "source": DOC, "quote": QUOTE}])
    c = citation_metrics(a, [DOC])
    assert c["n_markers"] == 2 and c["citation_valid"] is True


def test_answer_without_markers_has_no_valid_citation():
    c = citation_metrics(ans("Het budget is € 8,5 miljard."), [DOC])
    assert c["citation_valid"] is False and c["citation_resolved"] is None


# ------------------------------------------------------------------ groundedness
def test_groundedness_counts_supported_sentences():
    text = ("Het budget is € 8,5 miljard [1]. Daarvan gaat € 5,8 miljard naar het funderend onderwijs [1]. "
            "Gemeenten krijgen € 9 miljard extra voor sportparken [1]. Met vriendelijke groet,")
    g = groundedness(ans(text, [src(1, QUOTE)]))
    assert g["sentences"] == 3  # the closing line is not counted
    assert g["groundedness"] == pytest.approx(2 / 3)
    assert "9 miljard" in g["unsupported_sentences"][0]


def test_sentence_without_marker_is_unsupported():
    g = groundedness(ans("Het budget is € 8,5 miljard voor het funderend onderwijs.", [src(1, QUOTE)]))
    assert g["groundedness"] == 0.0


def test_paragraph_closing_marker_covers_the_paragraph():
    text = "Het budget is € 8,5 miljard. Daarvan gaat € 5,8 miljard naar het funderend onderwijs.\n\n[1]"
    assert groundedness(ans(text, [src(1, QUOTE)]))["groundedness"] == 1.0
    two = "Het budget is € 8,5 miljard voor onderwijs.\n\nDaarvan gaat € 5,8 miljard naar het funderend onderwijs [1]."
    assert groundedness(ans(two, [src(1, QUOTE)]))["groundedness"] == 0.5


def test_split_sentences_keeps_trailing_marker_and_list_items():
    parts = split_sentences("Eerste zin. [1] Tweede zin [2].\n1. punt een [1]\n- punt twee")
    assert parts == ["Eerste zin. [1]", "Tweede zin [2].", "punt een [1]", "punt twee"]


# ------------------------------------------------------------------ abstention
def test_abstention_on_abstain_item_counts():
    out = score_answer(abstain_item(), ans("Dat staat niet in de bronnen.", abstained=True))
    assert out["correct"] is True


def test_abstention_that_names_an_amount_is_not_correct():
    out = score_answer(abstain_item(), ans("Dat staat niet in de bronnen, maar het is ca. € 2 miljoen.", abstained=True))
    assert out["figure_in_abstention"] is True and out["correct"] is False


def test_answering_an_abstain_item_is_wrong():
    assert score_answer(abstain_item(), ans("Utrecht krijgt veel geld.", abstained=False))["correct"] is False


def test_years_in_abstention_are_allowed():
    assert not has_amount_or_figure("De bronnen gaan over 2021 en schooljaar 2022-2023 [1].")
    assert has_amount_or_figure("Er zijn 15 scholen.")


# ------------------------------------------------------------------ retrieval
def test_evidence_match_exact_and_split_quote():
    assert evidence_match(QUOTE, "Inleiding. " + QUOTE.upper() + " Verder.")
    long_quote = "de gemeente bespreekt met scholen en kinderopvang welke aanvullende maatregelen nodig zijn"
    head = "tekst ervoor. De gemeente bespreekt met scholen en kinderopvang welke aanvullende"  # 9 of 12 words
    tail = "aanvullende maatregelen nodig zijn. Daarna volgt meer."  # 4 of 12 words
    assert evidence_match(long_quote, head)
    assert not evidence_match(long_quote, tail)
    # short quotes must match whole
    assert not evidence_match("het budget is groot", "het budget is")


def test_retrieval_metrics_ranks():
    sources = [src(1, "niets", "a.txt"), src(2, "ook niets", DOC), src(3, QUOTE, DOC)]
    m = retrieval_item_metrics(sources, [QUOTE], [DOC])
    assert m["evidence_rank"] == 3 and m["doc_rank"] == 2
    assert m["evidence_hit@1"] == 0.0 and m["evidence_hit@3"] == 1.0 and m["doc_hit@1"] == 0.0
    assert m["mrr"] == pytest.approx(1 / 3)
    assert m["ndcg@10"] == pytest.approx(0.5)  # one relevant at rank 3: (1/log2 4) / 1


def test_ndcg_bounds():
    assert ndcg_at([{0}, {1}], 2) == pytest.approx(1.0)
    assert ndcg_at([set(), set()], 1) == 0.0
    # one quote found at rank 1, the other never found: ideal has 2 relevant
    assert 0 < ndcg_at([{0}, set()], 2) < 1


def test_retrieval_only_over_answer_items():
    rows = [item_row(answer_item(), [src(1, QUOTE)], with_answer=False),
            item_row(abstain_item(), [src(1, "iets")], with_answer=False)]
    agg = aggregate(rows)
    assert agg["evidence_hit@1"] == 1.0 and agg["n_answer"] == 1 and agg["n"] == 2
    assert "correct" not in agg


# ------------------------------------------------------------------ aggregation
def test_aggregate_rates_and_latency():
    rows = [
        item_row(answer_item(id="g010"), None,
                 ans("Het budget is € 8,5 miljard [1].", [src(1, QUOTE)], timings={"total": 2.0, "sources": 0.1})),
        item_row(answer_item(id="g011"), None, ans("Dat weet ik niet.", abstained=True, timings={"total": 4.0})),
        item_row(abstain_item(id="g012"), None, ans("Dat staat niet in de bronnen.", abstained=True,
                                                    timings={"total": 1.0})),
        item_row(abstain_item(id="g013", kind="out_of_scope"), None, None, error="RuntimeError: kapot"),
    ]
    agg = summarize(rows)
    assert agg["correct"] == pytest.approx(2 / 4)
    assert agg["false_abstain_rate"] == pytest.approx(1 / 2)
    assert agg["abstain_accuracy"] == pytest.approx(1 / 2)
    assert agg["citation_valid"] == 1.0
    assert agg["errors"] == 1
    assert agg["latency_total_p50"] == 2.0
    assert agg["per_kind"]["factual"]["correct"] == pytest.approx(0.5)
    assert agg["per_kind"]["unanswerable"]["abstain_accuracy"] == 1.0


def test_percentile():
    assert percentile([1, 2, 3, 4], 50) == 2.5
    assert percentile([5], 95) == 5
    assert percentile([], 50) is None


# ------------------------------------------------------------------ the score command
def test_score_command_writes_expected_metrics(tmp_path):
    golden = tmp_path / "golden.jsonl"
    items = [
        answer_item(id="g001"),
        answer_item(id="g002", key_facts=[["5,8 miljard"]]),
        abstain_item(id="g003"),
        abstain_item(id="g004", kind="out_of_scope"),
    ]
    golden.write_text("".join(it.model_dump_json() + "\n" for it in items), encoding="utf-8")
    cit = [{"n": 1, "source": DOC, "title": "Brief", "section": "", "quote": QUOTE, "start": 0, "end": 10}]
    preds = [
        {"id": "g001", "question": "q", "answer": "Het budget is 8,5 miljard euro [1].", "abstained": False,
         "citations": cit, "timings": {"total": 3.0}},
        {"id": "g002", "question": "q", "answer": "Het budget is € 8,5 miljard [4].", "abstained": False,
         "citations": cit, "timings": {"total": 5.0}},
        {"id": "g003", "question": "q", "answer": "Dat staat niet in de bronnen.", "abstained": True,
         "citations": [], "timings": {"total": 1.0}},
        {"id": "g004", "question": "q", "answer": "Dat is € 12.", "abstained": False, "citations": []},
        {"id": "g999", "question": "onbekend", "answer": "", "abstained": True, "citations": []},
    ]
    pred_path = tmp_path / "preds.jsonl"
    pred_path.write_text("".join(json.dumps(p, ensure_ascii=False) + "\n" for p in preds), encoding="utf-8")
    reports = tmp_path / "reports"
    proc = subprocess.run(
        [sys.executable, "-m", "evals", "score", str(pred_path), "--golden", str(golden),
         "--reports-dir", str(reports), "--name", "extern"],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    [out] = list(reports.iterdir())
    metrics = json.loads((out / "metrics.json").read_text())
    m = metrics["extern"]
    assert metrics["items"] == 4
    assert m["correct"] == pytest.approx(2 / 4)
    assert m["fact_correct"] == pytest.approx(1 / 2)
    assert m["citation_valid"] == pytest.approx(1 / 2)  # g002 cites [4], which does not exist
    assert m["citation_resolved"] == pytest.approx(1 / 2)
    assert m["abstain_accuracy"] == pytest.approx(1 / 2)
    assert m["false_abstain_rate"] == 0.0
    assert m["latency_total_p50"] == pytest.approx(3.0)
    assert m["evidence_hit@1"] is None  # predictions carry no retrieved passages
    assert metrics["config"]["unknown"] == ["g999"]
    for name in ("answers.jsonl", "report.md", "report.html"):
        assert (out / name).is_file()
    assert "g002" in (out / "report.md").read_text()


# ------------------------------------------------------------------ item selection and the naive baseline
def test_limit_mixes_kinds_and_gate_set_has_abstain_and_follow_up():
    from evals.golden import load_golden
    from evals.runner import gate_items, select_items

    items = load_golden()
    five = select_items(items, "test", limit=5)
    assert len(five) == 5 and len({it.kind for it in five}) == 5
    gate = gate_items(items, 10, "test")
    assert len(gate) == 10 and all(it.split == "test" for it in gate)
    assert sum(it.expected == "abstain" for it in gate) >= 2
    assert any(it.kind == "follow_up" for it in gate)


@pytest.mark.parametrize(
    "text,unknown",
    [
        ("Dat weet ik niet.", True),
        ("Het antwoord staat niet in de context.", True),
        ("I don't know.", True),
        ("Dat kan ik niet zeggen op basis van de bronnen.", True),
        ("", True),
        ("Het budget is € 8,5 miljard [3].", False),
    ],
)
def test_naive_abstention_detection(text, unknown):
    from evals.naive import says_unknown

    assert says_unknown(text) is unknown


def test_answers_are_scored_on_the_sources_they_showed() -> None:
    """A follow-up rewritten by the model finds other passages than ``retrieve``: the user saw the answer's."""
    from evals.runner import evaluate

    item = GoldItem.model_validate({
        "id": "g901", "split": "test", "kind": "factual", "expected": "answer", "language": "nl",
        "question": "En hoeveel krijgen ze?",
        "key_facts": [["300 miljoen"]], "gold_sources": ["brief.txt"],
        "gold_quotes": [{"source": "brief.txt", "quote": "circa € 300 miljoen aan gemeenten"}],
    })
    shown = {"n": 1, "source": "brief.txt", "text": "Ik ben voornemens circa € 300 miljoen aan gemeenten uit te keren."}
    other = {"n": 1, "source": "faq.txt", "text": "Scholen maken een schoolscan."}

    class Adapter:
        name = "ours"

        def retrieve(self, item):
            return [other]

        def answer(self, item):
            return {"text": "Circa € 300 miljoen [1].", "abstained": False, "sources": [shown],
                    "citations": [{"n": 1, "source": "brief.txt", "quote": shown["text"]}], "timings": {}}

    with_answers = evaluate([item], [Adapter()])["ours"][0]["metrics"]
    assert with_answers["evidence_hit@1"] == 1
    retrieval_only = evaluate([item], [Adapter()], retrieval_only=True)["ours"][0]["metrics"]
    assert retrieval_only["evidence_hit@1"] == 0
