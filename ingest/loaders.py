"""Loaders for the files municipalities receive: txt, md, html, pdf, docx.

Each loader returns plain text; problems become an ``IngestError`` with a Dutch
message a user can act on. Nothing here touches the index.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from .clean import clean_text

SUPPORTED_SUFFIXES = (".txt", ".md", ".html", ".htm", ".pdf", ".docx")
KIND_BY_SUFFIX = {".pdf": "document", ".docx": "document", ".html": "webpagina", ".htm": "webpagina"}


class IngestError(Exception):
    """A file that cannot be indexed; ``str(error)`` is a Dutch message for the user."""


@dataclass(frozen=True)
class DocumentMeta:
    """What the manifest says about one document (title, kind, publisher, date)."""

    title: str | None = None
    kind: str | None = None
    publisher: str | None = None
    date: str | None = None
    url: str | None = None
    note: str | None = None


@dataclass(frozen=True)
class LoadedDocument:
    source: str  # file name inside corpus/
    text: str  # cleaned text; chunk offsets point into it
    sha256: str  # of the raw bytes
    meta: DocumentMeta = field(default_factory=DocumentMeta)

    @property
    def title(self) -> str:
        return self.meta.title or _first_line(self.text) or Path(self.source).stem

    @property
    def kind(self) -> str:
        return self.meta.kind or KIND_BY_SUFFIX.get(Path(self.source).suffix.lower(), "document")


def _first_line(text: str) -> str:
    for line in text.splitlines():
        line = line.strip(" -#")
        if line:
            return line[:120]
    return ""


def read_manifest(path: Path) -> dict[str, DocumentMeta]:
    """File name -> metadata from corpus/manifest.json (empty when absent)."""
    if not path.is_file():
        return {}
    data = json.loads(path.read_text(encoding="utf-8"))
    known = DocumentMeta.__dataclass_fields__
    return {
        entry["file"]: DocumentMeta(**{k: v for k, v in entry.items() if k in known})
        for entry in data.get("documents", [])
    }


def decode_text(data: bytes) -> str:
    """UTF-8 (with or without BOM), else Windows-1252; binary data is refused."""
    if b"\x00" in data[:8192]:
        raise IngestError("Dit lijkt een binair bestand, geen tekst.")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = data.decode("cp1252")
        except UnicodeDecodeError as exc:
            raise IngestError(
                "De tekencodering is onbekend (geen UTF-8 of Windows-1252); sla het bestand op als UTF-8."
            ) from exc
    control = sum(1 for ch in text if ord(ch) < 32 and ch not in "\n\r\t\f")
    if text and control / len(text) > 0.01:
        raise IngestError("Dit lijkt een binair bestand, geen tekst.")
    return text


def _html_to_text(data: bytes) -> str:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(decode_text(data), "html.parser")
    for tag in soup(["script", "style", "noscript", "nav", "footer", "header", "form", "svg"]):
        tag.decompose()
    blocks = []
    for el in soup.find_all(["h1", "h2", "h3", "h4", "h5", "h6", "p", "li", "dt", "dd", "td", "pre"]):
        if el.find(["p", "li", "h1", "h2", "h3", "h4", "table"]):
            continue  # a container; its children are visited on their own
        txt = re.sub(r"\s+", " ", el.get_text(" ")).strip()
        if not txt:
            continue
        if el.name.startswith("h"):
            blocks.append("#" * int(el.name[1]) + " " + txt)
        elif el.name == "li":
            blocks.append("- " + txt)
        else:
            blocks.append(txt)
    if not blocks:  # plain html without block tags
        return soup.get_text("\n")
    return "\n\n".join(blocks)


def _pdf_to_text(data: bytes) -> str:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise IngestError("De PDF is beveiligd met een wachtwoord en kan niet worden gelezen.")
        pages = [page.extract_text() or "" for page in reader.pages]
    except IngestError:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, AttributeError, OSError) as exc:
        raise IngestError("De PDF is beschadigd of onleesbaar.") from exc
    except Exception as exc:  # pypdf raises many internal types on broken files
        if "encrypt" in str(exc).lower() or "password" in str(exc).lower():
            raise IngestError("De PDF is beveiligd met een wachtwoord en kan niet worden gelezen.") from exc
        raise IngestError("De PDF is beschadigd of onleesbaar.") from exc
    text = "\n\n".join(p.strip() for p in pages if p.strip())
    if not text:
        raise IngestError("De PDF bevat geen tekst (mogelijk een scan zonder tekstlaag).")
    return text


def _docx_to_text(data: bytes) -> str:
    import zipfile

    import docx

    try:
        document = docx.Document(io.BytesIO(data))
    except (zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise IngestError("Het Word-bestand is beschadigd of onleesbaar.") from exc
    except Exception as exc:
        raise IngestError("Het Word-bestand is beschadigd of onleesbaar.") from exc
    blocks = []
    for para in document.paragraphs:
        txt = para.text.strip()
        if not txt:
            continue
        style = (para.style.name or "").lower() if para.style is not None else ""
        match = re.match(r"heading (\d)|kop (\d)", style)
        if match:
            blocks.append("#" * int(match.group(1) or match.group(2)) + " " + txt)
        elif "list" in style:
            blocks.append("- " + txt)
        else:
            blocks.append(txt)
    for table in document.tables:
        for row in table.rows:
            cells = [c.text.strip() for c in row.cells if c.text.strip()]
            if cells:
                blocks.append(" | ".join(cells))
    return "\n\n".join(blocks)


def extract_text(name: str, data: bytes) -> str:
    """Raw text of a file's bytes by its suffix (before cleaning)."""
    suffix = Path(name).suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise IngestError(
            f"Bestandstype '{suffix or '(geen)'}' wordt niet ondersteund; "
            f"toegestaan zijn {', '.join(SUPPORTED_SUFFIXES)}."
        )
    if suffix == ".pdf":
        if not data.startswith(b"%PDF"):
            raise IngestError("Dit is geen geldige PDF (beschadigd of verkeerde extensie).")
        return _pdf_to_text(data)
    if suffix == ".docx":
        if not data.startswith(b"PK"):
            raise IngestError("Dit is geen geldig Word-bestand (.docx).")
        return _docx_to_text(data)
    if suffix in (".html", ".htm"):
        return _html_to_text(data)
    return decode_text(data)  # markdown '#' headings are read by the chunker


def load_bytes(
    name: str, data: bytes, meta: DocumentMeta | None = None, max_bytes: int | None = None
) -> LoadedDocument:
    """Check, extract and clean one file's content."""
    if not data or not data.strip():
        raise IngestError("Het bestand is leeg.")
    if max_bytes is not None and len(data) > max_bytes:
        raise IngestError(
            f"Het bestand is te groot ({len(data) / 1e6:.1f} MB; maximaal {max_bytes / 1e6:.0f} MB)."
        )
    text = clean_text(extract_text(name, data))
    if len(re.sub(r"\W", "", text)) < 20:
        raise IngestError("Het bestand bevat geen leesbare tekst.")
    return LoadedDocument(
        source=name, text=text, sha256=hashlib.sha256(data).hexdigest(), meta=meta or DocumentMeta()
    )


def load_file(path: Path, meta: DocumentMeta | None = None, max_bytes: int | None = None) -> LoadedDocument:
    """Read and load one file; size is checked before reading it whole."""
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise IngestError("Het bestand bestaat niet of kan niet worden geopend.") from exc
    if max_bytes is not None and size > max_bytes:
        raise IngestError(f"Het bestand is te groot ({size / 1e6:.1f} MB; maximaal {max_bytes / 1e6:.0f} MB).")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise IngestError("Het bestand kan niet worden gelezen.") from exc
    return load_bytes(path.name, data, meta, max_bytes)


_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


def sanitize_filename(name: str) -> str:
    """A safe file name for corpus/: no directories, no odd characters, a kept suffix."""
    base = Path(name.replace("\\", "/")).name
    stem, suffix = Path(base).stem, Path(base).suffix.lower()
    stem = _SAFE_NAME.sub("_", stem).strip("._-")[:80] or "document"
    return f"{stem}{suffix}"
