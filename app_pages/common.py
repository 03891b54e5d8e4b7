"""Shared pieces of the Streamlit pages: cached assistant, feedback store, rendering helpers.

Everything that answers or ingests lives in ``assistant``; this module only
loads it once per process and turns its data into sober HTML/Markdown.
"""

from __future__ import annotations

import html
import io
import logging
import re
from collections.abc import Iterable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import streamlit as st

from settings import Settings, get_settings

log = logging.getLogger("npo.app")

ROOT = Path(__file__).resolve().parents[1]

KIND_LABELS = {"brief": "Brief", "FAQ": "Veelgestelde vragen", "webpagina": "Webpagina", "document": "Document"}


# --------------------------------------------------------------------------- resources


def settings() -> Settings:
    return get_settings()


@st.cache_resource(show_spinner=False, max_entries=2)
def _load_assistant(settings_key: str) -> Any:
    """One assistant per process (per settings), shared by all browser sessions."""
    from assistant import get_assistant

    return get_assistant(get_settings())


def get_app_assistant() -> Any:
    """The shared assistant; loads embeddings and index on first use (not the LLM)."""
    s = settings()
    with st.spinner("De zoekindex wordt geladen…"):
        return _load_assistant(s.model_dump_json())


def try_assistant() -> Any | None:
    """The assistant, or ``None`` after showing a Dutch error (e.g. no index yet)."""
    try:
        return get_app_assistant()
    except Exception:
        log.exception("assistant could not be loaded")
        st.error(
            "De assistent kon niet worden gestart. Controleer of de zoekindex is gebouwd "
            "(`make ingest`) en probeer het daarna opnieuw. Neem bij aanhoudende problemen "
            "contact op met de beheerder."
        )
        return None


@st.cache_resource(show_spinner=False)
def _feedback_store(path: str) -> Any:
    from assistant.feedback import FeedbackStore

    return FeedbackStore(path)


def feedback_store() -> Any:
    return _feedback_store(str(settings().feedback_path))


def model_label(assistant: Any | None) -> str:
    if assistant is None:
        return "onbekend"
    try:
        return str(assistant.model_name)
    except Exception:
        return "onbekend"


# --------------------------------------------------------------------------- formatting


def seconds(value: float | None) -> str:
    """'1,4 s' (Dutch decimal comma)."""
    if value is None:
        return "–"
    return f"{value:.1f} s".replace(".", ",")


def timings_caption(timings: dict[str, float] | None, model: str = "") -> str:
    t = timings or {}
    parts = []
    if "retrieval" in t:
        parts.append(f"zoeken {seconds(t['retrieval'])}")
    if t.get("generation"):
        parts.append(f"genereren {seconds(t['generation'])}")
    if "total" in t:
        parts.append(f"totaal {seconds(t['total'])}")
    if model:
        parts.append(f"model: {model}")
    return " · ".join(parts)


def format_date(value: str | None) -> str:
    return value if value else "datum onbekend"


def format_timestamp(value: str | None) -> str:
    """ISO timestamp -> '22-11-2025 19:08' in local time."""
    if not value:
        return ""
    try:
        return datetime.fromisoformat(value).astimezone().strftime("%d-%m-%Y %H:%M")
    except ValueError:
        return value


def kind_label(kind: str | None) -> str:
    return KIND_LABELS.get(kind or "", (kind or "document").capitalize())


def escape_markdown(text: str) -> str:
    """Text safe for st.markdown(unsafe_allow_html=True): no raw HTML, no LaTeX."""
    text = html.escape(text, quote=False)
    return text.replace("$", "\\$")


_CITE = re.compile(r"\[(\d{1,2}(?:\s*[,;]\s*\d{1,2})*)\]")


def link_citations(text: str, anchor_prefix: str, known: Iterable[int] | None = None) -> str:
    """Escape ``text`` and turn [n] / [1, 2] markers into links to the source cards."""
    known_set = set(known) if known is not None else None

    def repl(match: re.Match[str]) -> str:
        numbers = [int(x) for x in re.split(r"\s*[,;]\s*", match.group(1))]
        links = []
        for n in numbers:
            if known_set is not None and n not in known_set:
                links.append(f"[{n}]")
            else:
                links.append(
                    f'<a class="npo-cite" href="#{anchor_prefix}-{n}" '
                    f'title="Naar bron {n}" target="_self">[{n}]</a>'
                )
        return "".join(links)

    return _CITE.sub(repl, escape_markdown(text))


def cited_numbers(text: str) -> set[int]:
    """The n of every [n] / [1, 2] marker in ``text``."""
    return {int(x) for m in _CITE.finditer(text or "") for x in re.split(r"\s*[,;]\s*", m.group(1))}


def _snap_left(text: str, pos: int) -> int:
    if pos <= 0:
        return 0
    space = text.rfind(" ", max(0, pos - 30), pos)
    return space + 1 if space != -1 else pos


def _snap_right(text: str, pos: int) -> int:
    if pos >= len(text):
        return len(text)
    space = text.find(" ", pos, pos + 30)
    return space if space != -1 else pos


def _merge(spans: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def context_html(text: str, spans: Sequence[tuple[int, int]], pad: int = 150, max_window: int = 1400) -> str:
    """The spans of ``text`` in <mark>, with about ``pad`` characters of context on each side."""
    spans = [(max(0, s), min(len(text), e)) for s, e in spans if e > s and s < len(text)]
    if not spans:
        return ""
    spans = _merge(spans)
    while len(spans) > 1 and spans[-1][1] - spans[0][0] > max_window:
        spans = spans[:-1]
    lo = _snap_left(text, spans[0][0] - pad)
    hi = _snap_right(text, spans[-1][1] + pad)
    parts = ["…" if lo > 0 else ""]
    pos = lo
    for start, end in spans:
        parts.append(html.escape(text[pos:start]))
        parts.append(f"<mark>{html.escape(text[start:end])}</mark>")
        pos = end
    parts.append(html.escape(text[pos:hi]))
    parts.append("…" if hi < len(text) else "")
    return re.sub(r"(?:\s*\n\s*)+", "<br>", "".join(parts))


def clip(text: str, limit: int = 360) -> str:
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text.rfind(" ", 0, limit)
    return text[: cut if cut > limit // 2 else limit] + " …"


def _get(obj: Any, name: str, default: Any = None) -> Any:
    if isinstance(obj, dict):
        return obj.get(name, default)
    return getattr(obj, name, default)


def source_card_html(
    source: Any,
    anchor: str,
    doc_text: str | None,
    citations: Sequence[Any] = (),
    preview: bool = False,
    cited_badge: bool = False,
) -> str:
    """One source as an HTML card: number, title, kind, date, section and the passage."""
    n = _get(source, "n")
    title = html.escape(_get(source, "title") or _get(source, "source") or "Onbekend document")
    section = _get(source, "section") or ""
    meta = [kind_label(_get(source, "kind")), format_date(_get(source, "date"))]
    if section and section != _get(source, "title"):
        meta.append(f"§ {section}")
    meta_html = " · ".join(html.escape(m) for m in meta)

    body = ""
    if citations and doc_text:
        spans = []
        for c in citations:
            start, end, quote = _get(c, "start"), _get(c, "end"), _get(c, "quote") or ""
            if isinstance(start, int) and isinstance(end, int) and doc_text[start:end] == quote:
                spans.append((start, end))
            elif quote and (found := doc_text.find(quote)) != -1:
                spans.append((found, found + len(quote)))
        body = context_html(doc_text, spans)
    if not body and citations:
        quotes = [_get(c, "quote") for c in citations if _get(c, "quote")]
        body = "<br>".join(f"<mark>{html.escape(q)}</mark>" for q in quotes)
    if not body:
        body = html.escape(clip(_get(source, "text") or "", 280 if preview else 420))
    cited = '<span class="npo-badge">geciteerd</span>' if cited_badge else ""
    file_name = html.escape(_get(source, "source") or "")
    return (
        f'<div class="npo-bron" id="{anchor}">'
        f'<div class="npo-bron-kop"><span class="npo-bron-nr">{n}</span>'
        f'<span class="npo-bron-titel">{title}</span>{cited}</div>'
        f'<div class="npo-bron-meta">{meta_html}</div>'
        f'<div class="npo-bron-tekst">{body}</div>'
        f'<div class="npo-bron-bestand">{file_name}</div>'
        f"</div>"
    )


def render_sources(
    sources: Sequence[Any],
    citations: Sequence[Any],
    anchor_prefix: str,
    assistant: Any | None,
    preview: bool = False,
    heading: str = "Bronnen",
    answer_text: str = "",
) -> None:
    """Cited sources as cards (quote highlighted in context); the rest folded away.

    A source counts as cited when a citation resolves to it or when the answer
    text carries its [n] marker (so every marker link has a visible target).
    """
    if not sources:
        return
    by_n: dict[int, list[Any]] = {}
    for c in citations or ():
        by_n.setdefault(_get(c, "n"), []).append(c)
    marked = set(by_n) | cited_numbers(answer_text)
    cited = [s for s in sources if _get(s, "n") in marked]
    other = [s for s in sources if _get(s, "n") not in marked]
    texts: dict[str, str | None] = {}

    def doc_text(name: str) -> str | None:
        if name not in texts:
            try:
                texts[name] = assistant.document_text(name) if assistant is not None else None
            except Exception:
                log.warning("document_text failed for %s", name, exc_info=True)
                texts[name] = None
        return texts[name]

    def cards(items: Sequence[Any], with_quotes: bool) -> str:
        return "".join(
            source_card_html(
                s,
                f"{anchor_prefix}-{_get(s, 'n')}",
                doc_text(_get(s, "source")) if with_quotes and _get(s, "n") in by_n else None,
                by_n.get(_get(s, "n"), []) if with_quotes else (),
                preview=preview,
                cited_badge=with_quotes,
            )
            for s in items
        )

    if preview:
        st.markdown(f'<div class="npo-bronnen-kop">{heading} (gevonden)</div>', unsafe_allow_html=True)
        st.markdown(cards(sources, False), unsafe_allow_html=True)
        return
    if cited:
        if heading:
            st.markdown(f'<div class="npo-bronnen-kop">{heading}</div>', unsafe_allow_html=True)
        st.markdown(cards(cited, True), unsafe_allow_html=True)
    if other:
        label = "Overige geraadpleegde passages" if cited else "Geraadpleegde passages"
        with st.expander(f"{label} ({len(other)})", expanded=False):
            st.markdown(cards(other, False), unsafe_allow_html=True)


def sources_plaintext(sources: Sequence[Any], citations: Sequence[Any] = ()) -> str:
    """'Bronnen' block for copying/downloading: [n] title (kind, date), section; quote."""
    quotes: dict[int, list[str]] = {}
    for c in citations or ():
        quotes.setdefault(_get(c, "n"), []).append(_get(c, "quote") or "")
    cited = {n for n in quotes}
    lines = []
    for s in sources:
        n = _get(s, "n")
        if cited and n not in cited:
            continue
        line = f"[{n}] {_get(s, 'title')} ({kind_label(_get(s, 'kind'))}, {format_date(_get(s, 'date'))})"
        if _get(s, "section") and _get(s, "section") != _get(s, "title"):
            line += f", {_get(s, 'section')}"
        lines.append(line)
        for q in quotes.get(n, []):
            if q:
                lines.append(f'    "{clip(q, 300)}"')
    return "\n".join(lines)


def docx_bytes(title: str, body: str, sources_text: str = "") -> bytes:
    """A simple Word document with the text and (optionally) the sources."""
    import docx

    document = docx.Document()
    document.add_heading(title, level=1)
    for para in body.split("\n\n"):
        if para.strip():
            document.add_paragraph(para.strip())
    if sources_text.strip():
        document.add_heading("Bronnen", level=2)
        for line in sources_text.splitlines():
            if line.strip():
                document.add_paragraph(line.strip())
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


CSS = """
<style>
:root { --npo-blauw: #154273; --npo-lint: #01689B; --npo-grijs: #5A6B7D; --npo-lijn: #D5DCE4; }
.block-container { max-width: 1240px; padding-top: 2.5rem; }
h1 { font-size: 2.1rem !important; }
h1, h2, h3 { color: var(--npo-blauw); font-weight: 600; letter-spacing: -0.01em; }
.npo-intro { color: var(--npo-grijs); margin-top: -0.6rem; margin-bottom: 1rem; }
.npo-bronnen-kop { font-size: 0.8rem; text-transform: uppercase; letter-spacing: 0.06em;
  color: var(--npo-grijs); margin: 0.6rem 0 0.3rem 0; font-weight: 600; }
.npo-bron { border: 1px solid var(--npo-lijn); border-left: 4px solid var(--npo-blauw);
  background: #FAFBFC; border-radius: 4px; padding: 0.55rem 0.8rem; margin: 0 0 0.5rem 0;
  scroll-margin-top: 5rem; }
.npo-bron:target { background: #EAF1F8; box-shadow: 0 0 0 2px #8FA7C1; }
.npo-bron-kop { display: flex; align-items: baseline; gap: 0.5rem; }
.npo-bron-nr { display: inline-block; min-width: 1.5rem; text-align: center; font-size: 0.8rem;
  font-weight: 700; color: #fff; background: var(--npo-blauw); border-radius: 3px; padding: 0 0.3rem; }
.npo-bron-titel { font-weight: 600; color: #1F2A37; }
.npo-badge { font-size: 0.7rem; color: var(--npo-blauw); border: 1px solid #8FA7C1;
  border-radius: 3px; padding: 0 0.3rem; margin-left: auto; white-space: nowrap; }
.npo-bron-meta { font-size: 0.8rem; color: var(--npo-grijs); margin: 0.1rem 0 0.35rem 0; }
.npo-bron-tekst { font-size: 0.88rem; line-height: 1.5; color: #33414E; }
.npo-bron-tekst mark { background: #FFF1B8; color: inherit; padding: 0 0.1rem; border-radius: 2px; }
.npo-bron-bestand { font-size: 0.72rem; color: #8A97A5; margin-top: 0.3rem; }
a.npo-cite { text-decoration: none; font-weight: 600; font-size: 0.85em; color: var(--npo-lint);
  padding: 0 0.05rem; }
a.npo-cite:hover { text-decoration: underline; }
.npo-footer { font-size: 0.75rem; color: var(--npo-grijs); }
</style>
"""


def inject_css() -> None:
    st.html(CSS)
