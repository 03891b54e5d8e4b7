"""Ingestion with the real embedding model and a real Chroma store."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import free_port, make_settings
from ingest.clean import clean_text
from ingest.embeddings import get_embeddings
from ingest.loaders import IngestError, load_bytes, sanitize_filename
from ingest.pipeline import Ingestor

WEBPAGE = "000_85483c241d7bf6a4.txt"
LETTER = "001_33e60ce491454f17.txt"


def tiny_pdf(text: str) -> bytes:
    """A minimal valid one-page PDF with ``text`` in Helvetica (built by hand, no extra deps)."""
    stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode("latin-1")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for i, obj in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % i + obj + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for off in offsets:
        out += b"%010d 00000 n \n" % off
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, object]:
    """One cold ingest of the corpus per module; tests start from a copy of it."""
    base = tmp_path_factory.mktemp("seed")
    settings = make_settings(base)
    report = Ingestor(settings, get_embeddings(settings.embedding_model)).run()
    return base, report


@pytest.fixture()
def ingestor(tmp_path: Path, seeded: tuple[Path, object]) -> Ingestor:
    """An ingestor over a private copy of the corpus and of the seeded index."""
    base, _ = seeded
    shutil.copytree(base / "corpus", tmp_path / "corpus")
    shutil.copytree(base / "data", tmp_path / "data")
    settings = make_settings(tmp_path, max_file_mb=0.05)
    return Ingestor(settings, get_embeddings(settings.embedding_model))


def chunk_records(ingestor: Ingestor):
    snapshot = ingestor.store.open_snapshot()
    assert snapshot is not None
    return snapshot


def test_corpus_chunks_carry_title_section_and_exact_offsets(ingestor: Ingestor, seeded) -> None:
    report = seeded[1]
    assert report.ok and sorted(report.added) == sorted(p.name for p in ingestor.settings.corpus_dir.glob("*.txt"))
    snap = chunk_records(ingestor)
    assert len(snap.chunks) > 30
    manifest = json.loads((ingestor.settings.corpus_dir / "manifest.json").read_text())
    titles = {d["file"]: d["title"] for d in manifest["documents"]}
    for rec in snap.chunks.values():
        doc_text = snap.documents[rec.source]["text"]
        assert doc_text[rec.start : rec.end] == rec.text
        assert rec.title == titles[rec.source]
        assert rec.title in rec.content  # the title is embedded with the chunk
        if rec.section:
            assert rec.section.split(" > ")[-1] in rec.content
    sections = {rec.section for rec in snap.chunks.values()}
    assert "Wanneer kunt u als gemeente aan de slag?" in sections  # FAQ-style question heading
    assert "Rol scholen komende periode" in sections  # plain-text heading in the letter


def test_unchanged_rerun_embeds_nothing_and_ids_are_stable(ingestor: Ingestor) -> None:
    ingestor.run()
    ids_before = set(chunk_records(ingestor).chunks)
    report = ingestor.run()
    assert report.chunks_embedded == 0 and report.sentences_embedded == 0
    assert len(report.unchanged) == 5 and not report.added and not report.updated
    rebuilt = ingestor.run([ingestor.settings.corpus_dir / WEBPAGE], rebuild=True)
    assert rebuilt.chunks_embedded > 0 and rebuilt.added == [WEBPAGE]
    assert {c for c in chunk_records(ingestor).chunks if c.startswith(WEBPAGE)} == {
        c for c in ids_before if c.startswith(WEBPAGE)
    }


def test_an_index_cut_by_an_older_chunker_is_stale(ingestor: Ingestor, monkeypatch: pytest.MonkeyPatch) -> None:
    """`make run` re-ingests after an upgrade that cuts chunks differently; otherwise it starts at once."""
    from ingest import pipeline

    assert not pipeline.index_is_stale(ingestor.settings)
    monkeypatch.setattr(pipeline, "CHUNKER_VERSION", pipeline.CHUNKER_VERSION + 1)
    assert pipeline.index_is_stale(ingestor.settings)
    report = ingestor.run()
    assert report.chunks_embedded == 0  # the same chunks: nothing is embedded again
    assert not pipeline.index_is_stale(ingestor.settings)


def test_editing_one_document_reembeds_only_its_chunks(ingestor: Ingestor) -> None:
    ingestor.run()
    before = chunk_records(ingestor)
    others = {cid for cid, r in before.chunks.items() if r.source != WEBPAGE}
    path = ingestor.settings.corpus_dir / WEBPAGE
    path.write_text(path.read_text(encoding="utf-8") + "\n\nNieuwe alinea over de zomerschool in Voorbeeldstad.\n", encoding="utf-8")
    report = ingestor.run()
    assert report.updated == [WEBPAGE] and len(report.unchanged) == 4
    after = chunk_records(ingestor)
    own_chunks = [r for r in after.chunks.values() if r.source == WEBPAGE]
    own_sentences = sum(len(after.sentence_vectors[r.chunk_id]) for r in own_chunks)
    assert 0 < report.chunks_embedded <= len(own_chunks)
    assert 0 < report.sentences_embedded <= own_sentences
    assert others <= set(after.chunks)
    assert any("Voorbeeldstad" in r.text for r in own_chunks)


def test_deleting_a_document_removes_it_from_chroma_and_bm25(ingestor: Ingestor) -> None:
    ingestor.run()
    (ingestor.settings.corpus_dir / "003_221d32aa4e346dab.txt").unlink()
    report = ingestor.run()
    assert report.removed == ["003_221d32aa4e346dab.txt"]
    snap = chunk_records(ingestor)
    assert all(r.source != "003_221d32aa4e346dab.txt" for r in snap.chunks.values())
    stored = ingestor.store.all_documents(snap.generation)
    assert all(d.metadata["source"] != "003_221d32aa4e346dab.txt" for d in stored)
    assert not [cid for cid, _ in snap.keywords.search("Anja de Rooij CED-Groep", 10) if "003_" in cid]
    assert "003_221d32aa4e346dab.txt" not in snap.documents


def test_delete_option_removes_document_and_file(ingestor: Ingestor) -> None:
    ingestor.run()
    report = ingestor.run(delete=["002_e85854cf8cc9dcda.txt"])
    assert report.removed == ["002_e85854cf8cc9dcda.txt"]
    assert not (ingestor.settings.corpus_dir / "002_e85854cf8cc9dcda.txt").exists()


BAD_FILES = {
    "leeg.txt": (b"", "leeg"),
    "binair.txt": (b"\x00\x01\x02\x03binary" * 50, "binair"),
    "onleesbaar.txt": (b"tekst \x81\x8d\x8f\x90\x9d en meer \xff\xfe" * 10, "tekencodering"),
    "kapot.pdf": (b"%PDF-1.4\n1 0 obj << /Type /Catalog >> garbage", "PDF"),
    "geen-pdf.pdf": (b"dit is geen pdf maar tekst" * 5, "geen geldige PDF"),
    "te-groot.txt": (b"Een heel lange tekst over het NPO. " * 3000, "te groot"),
    "raar.exe": (b"MZ\x90\x00" * 10, "niet ondersteund"),
    "kapot.docx": (b"PK\x03\x04 not really a zip", "Word-bestand"),
}


def test_each_bad_file_gets_its_own_dutch_error_and_the_index_stays(ingestor: Ingestor, tmp_path: Path) -> None:
    ingestor.run()
    before = chunk_records(ingestor)
    bad_dir = tmp_path / "upload"
    bad_dir.mkdir()
    for name, (data, _) in BAD_FILES.items():
        (bad_dir / name).write_bytes(data)
    from pypdf import PdfWriter

    writer = PdfWriter()
    writer.add_blank_page(width=200, height=200)
    writer.encrypt("geheim")
    with (bad_dir / "versleuteld.pdf").open("wb") as fh:
        writer.write(fh)
    good = bad_dir / "goed.txt"
    good.write_text("De gemeente Voorbeeldstad organiseert een zomerschool voor 120 leerlingen in het kader van het NPO.", encoding="utf-8")

    report = ingestor.run([bad_dir])
    for name, (_, expected) in BAD_FILES.items():
        assert expected.lower() in report.failed[name].lower(), (name, report.failed.get(name))
    assert "wachtwoord" in report.failed["versleuteld.pdf"]
    assert report.added == ["goed.txt"]
    after = chunk_records(ingestor)
    assert set(before.chunks) < set(after.chunks)
    assert not any((ingestor.settings.corpus_dir / n).exists() for n in BAD_FILES)


def test_cli_exit_code_and_messages(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    bad = tmp_path / "leeg.txt"
    bad.write_bytes(b"")
    env = {"NPO_CORPUS_DIR": str(settings.corpus_dir), "NPO_DATA_DIR": str(settings.data_dir), "PATH": "/usr/bin:/bin"}
    root = Path(__file__).resolve().parents[1]
    proc = subprocess.run([sys.executable, "-m", "ingest", str(bad)], cwd=root, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 1
    assert "FOUT leeg.txt: Het bestand is leeg." in proc.stderr
    assert "mislukt" in proc.stdout
    ok = subprocess.run([sys.executable, "-m", "ingest"], cwd=root, env=env, capture_output=True, text=True, timeout=600)
    assert ok.returncode == 0, ok.stderr
    assert "5 toegevoegd" in ok.stdout
    again = subprocess.run([sys.executable, "-m", "ingest", "--if-stale"], cwd=root, env=env, capture_output=True, text=True, timeout=600)
    assert "actueel" in again.stdout


def test_crash_half_way_leaves_previous_index_serving(ingestor: Ingestor, monkeypatch: pytest.MonkeyPatch) -> None:
    ingestor.run()
    generation = ingestor.store.current_generation()
    count = len(chunk_records(ingestor).chunks)
    dirs_before = sorted(p.name for p in ingestor.store.root.iterdir() if p.is_dir())

    def boom(*args, **kwargs):
        raise RuntimeError("simulated crash")

    monkeypatch.setattr(ingestor.store, "write_derived", boom)
    (ingestor.settings.corpus_dir / LETTER).unlink()
    with pytest.raises(RuntimeError):
        ingestor.run()
    assert ingestor.store.current_generation() == generation
    snap = chunk_records(ingestor)
    assert len(snap.chunks) == count and any(r.source == LETTER for r in snap.chunks.values())
    assert sorted(p.name for p in ingestor.store.root.iterdir() if p.is_dir()) == dirs_before  # half-built one removed


def test_oogo_finds_the_passage_written_with_zeros(ingestor: Ingestor) -> None:
    assert "00G0" in (ingestor.settings.corpus_dir / WEBPAGE).read_text(encoding="utf-8")
    ingestor.run()
    snap = chunk_records(ingestor)
    hits = [cid for cid, _ in snap.keywords.search("OOGO", 10)]
    web = [cid for cid in hits if cid.startswith(WEBPAGE)]
    assert web and "Op Overeenstemming Gericht Overleg (OOGO)" in snap.chunks[web[0]].text


def test_near_duplicate_timeline_is_recorded(ingestor: Ingestor) -> None:
    ingestor.run()
    snap = chunk_records(ingestor)
    groups: dict[str, set[str]] = {}
    for cid, group in snap.duplicates.items():
        groups.setdefault(group, set()).add(snap.chunks[cid].source)
    assert any({WEBPAGE, LETTER} <= sources for sources in groups.values())


def test_loaders_decode_formats_and_encodings() -> None:
    cp1252 = "Café: € 300 miljoen voor gemeenten – “NPO”.".encode("cp1252")
    assert "€ 300 miljoen" in load_bytes("brief.txt", cp1252 * 2).text
    utf8_bom = "\ufeffÉén brief over het NPO en de gemeenten.".encode("utf-8")
    assert load_bytes("brief.md", utf8_bom).text.startswith("Één")
    html = b"<html><head><style>x{}</style></head><body><h1>Titel NPO</h1><p>Gemeenten krijgen geld voor het NPO.</p><script>alert(1)</script></body></html>"
    text = load_bytes("pagina.html", html).text
    assert "# Titel NPO" in text and "alert" not in text
    import io

    import docx

    document = docx.Document()
    document.add_heading("Kop over het NPO", level=1)
    document.add_paragraph("Gemeenten kunnen samenwerken met de kinderopvang.")
    buf = io.BytesIO()
    document.save(buf)
    assert "Gemeenten kunnen samenwerken" in load_bytes("brief.docx", buf.getvalue()).text
    assert "Zomerschool NPO in Voorbeeldstad" in load_bytes("a.pdf", tiny_pdf("Zomerschool NPO in Voorbeeldstad")).text
    with pytest.raises(IngestError):
        load_bytes("x.txt", b"   \n  ")


def test_cleaning_and_file_names() -> None:
    assert "OOGO" in clean_text("het overleg (00G0) met")
    assert clean_text("  • punt een\n  • punt twee") == "- punt een\n- punt twee"
    assert sanitize_filename("../../etc/pass wd<script>.PDF") == "pass_wd_script.pdf"
    assert sanitize_filename("....") == "document"



def test_chroma_server_mode(tmp_path: Path) -> None:
    port = free_port()
    chroma = Path(sys.executable).with_name("chroma")
    server = subprocess.Popen(
        [str(chroma), "run", "--path", str(tmp_path / "server"), "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.5)
        settings = make_settings(tmp_path, chroma_host="127.0.0.1", chroma_port=port)
        ingestor = Ingestor(settings, get_embeddings(settings.embedding_model))
        assert ingestor.run().ok
        assert not (ingestor.store.root / ingestor.store.current_generation() / "chroma").exists()
        snap = chunk_records(ingestor)
        docs = snap.vectorstore.similarity_search("Hoeveel geld krijgen gemeenten?", k=3)
        assert docs and all(d.metadata["source"].endswith(".txt") for d in docs)
        # an incremental run copies the collection on the server and switches to it
        assert ingestor.run().chunks_embedded == 0
        assert len(chunk_records(ingestor).chunks) == len(snap.chunks)
    finally:
        server.terminate()
        server.wait(timeout=30)


# LangChain's own standard suite for the embeddings class
from langchain_tests.integration_tests import EmbeddingsIntegrationTests  # noqa: E402

from ingest.embeddings import SentenceTransformerEmbeddings  # noqa: E402


class TestEmbeddingsStandard(EmbeddingsIntegrationTests):
    @property
    def embeddings_class(self) -> type[SentenceTransformerEmbeddings]:
        return SentenceTransformerEmbeddings

    @property
    def embedding_model_params(self) -> dict:
        return {"model": get_embeddings().model}


def test_numbered_items_are_not_cut_after_their_number() -> None:
    from ingest.chunking import split_sentences

    text = "Stappen:\n1. Het verzamelen van data. Dit leidt tot een foto.\n2. Het duiden van de data."
    sentences = [t for _, _, t in split_sentences(text)]
    assert sentences == ["Stappen:", "1. Het verzamelen van data.", "Dit leidt tot een foto.", "2. Het duiden van de data."]


def test_a_compound_no_text_holds_is_searched_by_its_parts() -> None:
    """ "beleidsmedewerker" is in no text, "beleid" and "medewerkers" are; "jaarrekening" is no "jaar"."""
    from ingest.index import KeywordIndex

    texts = ["Het gemeentelijk beleid voor onderwijs.", "Medewerkers van de gemeente en het jaar 2021.", "Rekening houden met scholen."]
    keywords = KeywordIndex.build(["a", "b", "c"], texts)
    assert {cid for cid, _ in keywords.search("beleidsmedewerker", 3)} == {"a", "b"}
    assert keywords.compound_parts("Hoe verantwoorden we de jaarrekening?") == []
    assert keywords.compound_parts("Mag een beleidsmedewerker dat?") == keywords.query_terms("beleid medewerker")
