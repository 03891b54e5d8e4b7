"""CI quality gate: the golden-set evaluation must stay above evals/thresholds.json.

(a) retrieval on the whole golden set (no LLM; fast);
(b) a small end-to-end run with the real LLM on ~10 test-split items (slow).

The index is built in a temp dir from a copy of the corpus; the repo's .data is
never touched. Thresholds live only in evals/thresholds.json.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from evals.golden import load_golden
from evals.metrics import summarize
from evals.runner import OursAdapter, evaluate, gate_items, select_items
from settings import Settings

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "tests" / "artifacts"
THRESHOLDS = json.loads((ROOT / "evals" / "thresholds.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def gate_settings(tmp_path_factory) -> Settings:
    base = tmp_path_factory.mktemp("eval-gate")
    corpus = base / "corpus"
    shutil.copytree(ROOT / "corpus", corpus)
    return Settings(data_dir=base / "data", corpus_dir=corpus)


@pytest.fixture(scope="module")
def ours(gate_settings) -> OursAdapter:
    adapter = OursAdapter(gate_settings, mode=THRESHOLDS["e2e"]["mode"])
    report = adapter.assistant.ingest()
    assert report.ok, report.failed
    adapter.prepare(lambda _msg: None)
    return adapter


def _save(name: str, metrics: dict, records: list[dict]) -> None:
    """Keep the measured numbers (tests/artifacts is git-ignored) for the CI log and threshold tuning."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    slim = [{k: r.get(k) for k in ("id", "kind", "question", "answer", "error", "metrics")} for r in records]
    (ARTIFACTS / f"{name}.json").write_text(
        json.dumps({"metrics": metrics, "items": slim}, ensure_ascii=False, indent=1, default=str), encoding="utf-8"
    )
    keys = [k for k in ("evidence_hit@1", "evidence_hit@5", "mrr", "correct", "abstain_accuracy",
                        "false_abstain_rate", "citation_valid", "groundedness") if metrics.get(k) is not None]
    print(f"{name}: " + ", ".join(f"{k}={metrics[k]:.3f}" for k in keys))


def _check(metrics: dict, section: dict) -> list[str]:
    problems = []
    for key, bound in section.get("min", {}).items():
        value = metrics.get(key)
        if value is None or value < bound:
            problems.append(f"{key} = {value} < {bound}")
    for key, bound in section.get("max", {}).items():
        value = metrics.get(key)
        if value is None or value > bound:
            problems.append(f"{key} = {value} > {bound}")
    return problems


def test_retrieval_gate(ours):
    cfg = THRESHOLDS["retrieval"]
    items = select_items(load_golden(), cfg["split"])
    records = evaluate(items, [ours], retrieval_only=True)["ours"]
    metrics = summarize([r["metrics"] for r in records])
    missed = [r["id"] for r in records if r["metrics"].get("evidence_hit@5") == 0.0]
    _save("eval_gate_retrieval", metrics, records)
    problems = _check(metrics, cfg)
    assert not problems, f"retrieval below threshold: {problems}; no evidence in top-5 for {missed}"


@pytest.mark.slow
def test_end_to_end_gate(ours):
    cfg = THRESHOLDS["e2e"]
    items = gate_items(load_golden(), cfg["n_items"], cfg["split"])
    assert sum(it.expected == "abstain" for it in items) >= 2
    assert any(it.kind == "follow_up" for it in items)
    records = evaluate(items, [ours])["ours"]
    metrics = summarize([r["metrics"] for r in records])
    _save("eval_gate_e2e", metrics, records)
    wrong = [(r["id"], (r.get("answer") or {}).get("text", r.get("error"))) for r in records
             if not r["metrics"].get("correct")]
    problems = _check(metrics, cfg)
    assert not problems, f"end-to-end below threshold: {problems}; wrong: {wrong}"
