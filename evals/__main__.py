"""Command line of the evaluation harness: ``python -m evals --help``."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Optional

import typer

os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Evaluatie van de NPO-assistent tegen de gouden vragenset (en de naïeve RAG als basislijn).",
)

SPLITS = ("dev", "test", "all")


def _check_choice(value: Optional[str], allowed: tuple[str, ...], name: str) -> None:
    if value is not None and value not in allowed:
        raise typer.BadParameter(f"{name} moet een van {', '.join(allowed)} zijn, niet '{value}'.")


@app.command()
def run(
    mode: Optional[str] = typer.Option(None, help="chat | draft | extractive (standaard: instelling default_mode)"),
    backend: Optional[str] = typer.Option(None, help="llamacpp | openai | ollama (standaard: instelling)"),
    split: str = typer.Option("test", help="dev | test | all"),
    limit: Optional[int] = typer.Option(None, min=1, help="hoogstens N vragen (gemengd over de soorten)"),
    pipeline: str = typer.Option("both", help="ours | naive | both"),
    kind: Optional[str] = typer.Option(None, help="alleen deze soort vraag"),
    retrieval_only: bool = typer.Option(False, "--retrieval-only", help="alleen retrieval meten (geen taalmodel)"),
    judge: bool = typer.Option(False, "--judge", help="ook LLM-beoordeling (RAGAS-stijl), als geconfigureerd"),
    reports_dir: Optional[Path] = typer.Option(None, help="map voor rapporten (standaard evals/reports)"),
    golden: Optional[Path] = typer.Option(None, help="ander gouden bestand (JSONL)"),
) -> None:
    """Evalueer de assistent en de naïeve RAG op dezelfde vragen; schrijft een rapportmap."""
    from evals.golden import KINDS
    from evals.report import print_summary, write_report
    from evals.runner import RunConfig, new_report_dir, run_eval

    _check_choice(mode, ("chat", "draft", "extractive"), "--mode")
    _check_choice(backend, ("llamacpp", "openai", "ollama"), "--backend")
    _check_choice(split, SPLITS, "--split")
    _check_choice(pipeline, ("ours", "naive", "both"), "--pipeline")
    _check_choice(kind, tuple(KINDS), "--kind")
    if judge:
        typer.echo(
            "LLM-beoordeling (RAGAS-stijl) is niet geconfigureerd: er is geen apart beoordelingsmodel "
            "ingesteld. De evaluatie gaat verder met de vaste maten."
        )
    config = RunConfig(mode=mode, backend=backend, split=split, limit=limit, pipeline=pipeline, kind=kind,
                       retrieval_only=retrieval_only, golden_path=str(golden) if golden else None)
    result = run_eval(config, log=typer.echo)
    if not result.items:
        typer.echo("Geen vragen geselecteerd.")
        raise typer.Exit(1)
    metrics = result.metrics()
    out = write_report(new_report_dir(reports_dir), metrics, result.records, result.items)
    print_summary(metrics)
    typer.echo(f"Rapport: {out / 'report.md'}  (ook report.html, metrics.json, answers.jsonl)")


@app.command()
def compare(
    a: Path = typer.Argument(..., help="rapportmap of metrics.json (oud)"),
    b: Path = typer.Argument(..., help="rapportmap of metrics.json (nieuw)"),
) -> None:
    """Vergelijk twee rapporten: verschillen per maat en welke vragen beter/slechter gingen."""
    from evals.report import compare as do_compare
    from evals.report import print_compare
    from evals.runner import load_answers, load_metrics

    for p in (a, b):
        if not p.exists():
            typer.echo(f"Niet gevonden: {p}")
            raise typer.Exit(2)
    ma, da = load_metrics(a)
    mb, db = load_metrics(b)
    print_compare(do_compare(ma, mb, load_answers(da), load_answers(db)), da.name, db.name)


@app.command()
def score(
    predictions: Path = typer.Argument(..., help="JSONL met {id, question, answer, abstained, citations, timings}"),
    split: str = typer.Option("all", help="dev | test | all"),
    name: str = typer.Option("predictions", help="naam van het systeem in het rapport"),
    reports_dir: Optional[Path] = typer.Option(None, help="map voor rapporten (standaard evals/reports)"),
    golden: Optional[Path] = typer.Option(None, help="ander gouden bestand (JSONL)"),
) -> None:
    """Scoor voorspellingen van een willekeurig systeem (batch-uitvoer) tegen de gouden set."""
    from datetime import datetime, timezone

    from evals.golden import load_golden
    from evals.report import print_summary, write_report
    from evals.runner import new_report_dir, read_predictions, score_predictions, select_items

    _check_choice(split, SPLITS, "--split")
    if not predictions.is_file():
        typer.echo(f"Bestand niet gevonden: {predictions}")
        raise typer.Exit(2)
    try:
        rows = read_predictions(predictions)
    except ValueError as exc:
        typer.echo(str(exc))
        raise typer.Exit(2) from exc
    items = select_items(load_golden(golden), split)
    metrics, records, scored, info = score_predictions(rows, items, name)
    if info["unknown"]:
        typer.echo(f"Let op: {len(info['unknown'])} voorspelling(en) met onbekend id genegeerd: "
                   + ", ".join(info["unknown"][:10]))
    if info["missing"]:
        typer.echo(f"Let op: {len(info['missing'])} vraag/vragen uit de set zonder voorspelling (niet meegeteld).")
    if not scored:
        typer.echo("Geen enkele voorspelling hoort bij een vraag uit de gouden set.")
        raise typer.Exit(1)
    metrics["config"] = {
        "mode": "voorspellingen", "backend": None, "split": split, "kind": None, "pipelines": [name],
        "retrieval_only": False, "predictions": str(predictions), "missing": info["missing"],
        "unknown": info["unknown"], "models": {name: predictions.name},
        "started": datetime.now(timezone.utc).isoformat(timespec="seconds"), "seconds": 0,
    }
    metrics["items"] = len(scored)
    out = write_report(new_report_dir(reports_dir, "score-"), metrics, records, scored,
                       title=f"Score van {name}")
    print_summary(metrics, title=f"Score van {name}")
    typer.echo(f"Rapport: {out / 'report.md'}")


@app.command("check-gold")
def check_gold_cmd(
    golden: Optional[Path] = typer.Option(None, help="ander gouden bestand (JSONL)"),
) -> None:
    """Controleer de gouden set tegen de corpus (citaten letterlijk aanwezig, bronnen bestaan, ...)."""
    from evals.golden import check_gold, load_golden
    from settings import get_settings

    try:
        items = load_golden(golden)
    except ValueError as exc:
        typer.echo(str(exc))
        raise typer.Exit(1) from exc
    problems = check_gold(items, get_settings().corpus_dir)
    for p in problems:
        typer.echo(f"- {p}")
    if problems:
        typer.echo(f"{len(problems)} probleem/problemen in de gouden set.")
        raise typer.Exit(1)
    typer.echo(f"Gouden set in orde: {len(items)} vragen.")


@app.command()
def bench(
    scales: str = typer.Option("1,100,1000", help="schalen van de corpus, komma-gescheiden"),
    quick: bool = typer.Option(False, "--quick", help="snel: schalen 1,100 en minder vragen"),
    questions: int = typer.Option(5, min=1, help="aantal vragen voor de LLM-metingen"),
    no_llm: bool = typer.Option(False, "--no-llm", help="sla de LLM-metingen over"),
    budget_min: float = typer.Option(180.0, help="sla een schaal over als indexeren naar schatting langer duurt (min)"),
    reports_dir: Optional[Path] = typer.Option(None, help="map voor rapporten (standaard evals/reports)"),
) -> None:
    """Meet indexeersnelheid, retrieval-latentie op schaal, LLM-snelheid en geheugen (ons vs naïef)."""
    from evals.bench import run_bench

    try:
        scale_list = [int(s) for s in scales.split(",") if s.strip()]
    except ValueError as exc:
        raise typer.BadParameter("--scales verwacht gehele getallen, bijv. 1,100") from exc
    if quick and scales == "1,100,1000":
        scale_list = [1, 100]
    out = run_bench(scale_list, quick=quick, n_questions=questions, llm=not no_llm,
                    reports_dir=reports_dir, log=typer.echo, budget_min=budget_min)
    typer.echo(f"Benchmark: {out / 'bench.md'}")
    typer.echo(json.dumps(json.loads((out / "bench.json").read_text())["summary"], indent=1, ensure_ascii=False))


if __name__ == "__main__":
    app()
