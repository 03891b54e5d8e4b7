"""``python -m ingest [PATHS...] [--rebuild] [--delete NAME] [--if-stale]``"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

import typer
from tqdm import tqdm

from settings import get_settings

from .pipeline import index_is_stale

app = typer.Typer(add_completion=False, help="Documenten inlezen in de NPO-index (Chroma + BM25).")


@app.command()
def main(
    paths: Optional[list[Path]] = typer.Argument(None, help="Bestanden of mappen (standaard: corpus/)."),
    rebuild: bool = typer.Option(False, "--rebuild", help="De index volledig opnieuw opbouwen."),
    delete: Optional[list[str]] = typer.Option(None, "--delete", help="Document (bestandsnaam) verwijderen."),
    if_stale: bool = typer.Option(False, "--if-stale", help="Alleen inlezen als de index ontbreekt of verouderd is."),
) -> None:
    if if_stale and not rebuild and not paths and not delete and not index_is_stale(get_settings()):
        typer.echo("De index is actueel; er is niets in te lezen.")
        raise typer.Exit(0)

    from .embeddings import get_embeddings
    from .pipeline import Ingestor

    settings = get_settings()
    ingestor = Ingestor(settings, get_embeddings(settings.embedding_model, settings.embedding_batch_size))
    bar = tqdm(total=0, unit="bestand", desc="Inlezen", file=sys.stderr)

    def progress(i: int, n: int, name: str) -> None:
        bar.total = n
        bar.n = i
        bar.set_postfix_str(name[:40])
        bar.refresh()

    report = ingestor.run(list(paths) if paths else None, rebuild=rebuild, delete=delete or [], progress=progress)
    bar.close()
    for name, message in report.failed.items():
        typer.echo(f"FOUT {name}: {message}", err=True)
    typer.echo(report.summary())
    raise typer.Exit(1 if report.failed else 0)


if __name__ == "__main__":
    app()
