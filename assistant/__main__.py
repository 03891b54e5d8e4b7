"""``python -m assistant ask "vraag"`` · ``batch IN -o OUT`` · ``prepare``"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Optional

import typer
from tqdm import tqdm

from settings import get_settings

app = typer.Typer(add_completion=False, help="De NPO-assistent vanaf de opdrachtregel.")


@app.command()
def prepare() -> None:
    """Stel het taalmodel samen (eenmalig, gecontroleerd) en laad het embeddingmodel."""
    from ingest.embeddings import get_embeddings

    from .model_file import ensure_model_file

    settings = get_settings()
    if settings.llm_backend == "llamacpp" and settings.llm_model_path is None:
        path = ensure_model_file(settings.model_cache_dir, progress=True)
        typer.echo(f"Taalmodel gereed: {path}")
    get_embeddings(settings.embedding_model).embed_query("test")
    typer.echo("Embeddingmodel gereed.")


@app.command()
def ask(
    question: str = typer.Argument(..., help="Uw vraag."),
    mode: str = typer.Option(None, "--mode", help="chat, draft of extractive."),
    name: Optional[str] = typer.Option(None, "--naam", help="Naam van de afzender (draft)."),
    gemeente: Optional[str] = typer.Option(None, "--gemeente", help="Gemeente van de afzender (draft)."),
    as_json: bool = typer.Option(False, "--json", help="Het volledige antwoord als JSON."),
) -> None:
    """Stel één vraag en toon het antwoord met bronnen."""
    from . import get_assistant

    answer = get_assistant().ask(question, mode=mode, sender_name=name, gemeente=gemeente)
    if as_json:
        typer.echo(json.dumps(answer.to_dict(), ensure_ascii=False, indent=1))
        return
    if answer.notice:
        typer.echo(f"({answer.notice})\n")
    typer.echo(answer.text)
    if answer.citations:
        typer.echo("\nBronnen:")
        for c in answer.citations:
            section = f" — {c.section}" if c.section else ""
            typer.echo(f"[{c.n}] {c.title}{section} ({c.source}, tekens {c.start}-{c.end})\n    “{c.quote}”")
    if answer.removed:
        typer.echo("\nVerwijderd bij controle:")
        for r in answer.removed:
            typer.echo(f"- {r.text} ({r.reason})")
    if answer.search_query and answer.search_query != answer.standalone_question:
        typer.echo(f"\n(gezocht in het Nederlands als: “{answer.search_query}”)", err=True)
    timings = ", ".join(f"{k} {v:.2f}s" for k, v in answer.timings.items())
    typer.echo(f"\n({answer.model}; {timings})", err=True)


@app.command()
def batch(
    infile: Path = typer.Argument(..., help="JSONL of CSV met rijen {id, question, history?}."),
    out: Path = typer.Option(..., "-o", "--out", help="Uitvoer: .jsonl of .csv."),
    mode: str = typer.Option("chat", "--mode", help="chat, draft of extractive."),
) -> None:
    """Beantwoord een bestand met vragen; een foute rij krijgt een foutmelding, de rest gaat door."""
    from . import get_assistant
    from .batch import CLI_MAX_ROWS, answer_rows, write_rows
    from .bulkfile import BulkFileError, parse_bulk

    if mode not in ("chat", "draft", "extractive"):
        typer.echo("Onbekende modus; kies chat, draft of extractive.", err=True)
        raise typer.Exit(2)
    try:
        rows = parse_bulk(infile.name, infile.read_bytes(), max_rows=CLI_MAX_ROWS, lenient=True)
    except (OSError, BulkFileError) as exc:
        typer.echo(f"Kan {infile} niet lezen: {exc}", err=True)
        raise typer.Exit(2) from exc
    assistant = get_assistant()
    with tqdm(total=len(rows), unit="vraag", desc="Beantwoorden", file=sys.stderr) as bar:
        results = list(answer_rows(assistant, rows, mode, lambda i, n: bar.update(1)))  # type: ignore[arg-type]
    write_rows(out, results)
    failed = sum(1 for r in results if r["error"])
    typer.echo(f"{len(results)} rijen geschreven naar {out} ({failed} met een fout).")


if __name__ == "__main__":
    app()
