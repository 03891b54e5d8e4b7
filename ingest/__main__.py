"""``python -m ingest [PATHS...] [--rebuild] [--delete NAME] [--if-stale]``"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path
from typing import Optional

import typer
from tqdm import tqdm

from settings import get_settings

app = typer.Typer(add_completion=False, help="Documenten inlezen in de NPO-index (Chroma + BM25).")


def corpus_is_stale() -> bool:
    """True when the index is missing or corpus/ differs from what was indexed (no models needed)."""
    from .index import IndexStore

    settings = get_settings()
    store = IndexStore(settings, embeddings=None)  # type: ignore[arg-type]
    indexed = store.read_documents(store.current_generation())
    if not indexed:
        return True
    on_disk = {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in settings.corpus_dir.iterdir()
        if p.is_file() and not p.name.startswith(".") and p.name != "manifest.json"
    }
    return on_disk != {name: doc.get("sha256") for name, doc in indexed.items()}


@app.command()
def main(
    paths: Optional[list[Path]] = typer.Argument(None, help="Bestanden of mappen (standaard: corpus/)."),
    rebuild: bool = typer.Option(False, "--rebuild", help="De index volledig opnieuw opbouwen."),
    delete: Optional[list[str]] = typer.Option(None, "--delete", help="Document (bestandsnaam) verwijderen."),
    if_stale: bool = typer.Option(False, "--if-stale", help="Alleen inlezen als de index ontbreekt of verouderd is."),
) -> None:
    if if_stale and not rebuild and not paths and not delete and not corpus_is_stale():
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
