"""Page 'Documenten': what is indexed, add/delete documents, rebuild, export feedback."""

from __future__ import annotations

import logging
import math
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Any

import streamlit as st

from app_pages.common import feedback_store, format_date, format_timestamp, kind_label, settings, try_assistant
from ingest.loaders import SUPPORTED_SUFFIXES, sanitize_filename

log = logging.getLogger("npo.app.documenten")

REPORT = "npo_ingest_report"
CONFIRM = "npo_confirm"  # ("delete", source) | ("rebuild", None)
UPLOAD_ROUND = "npo_upload_round"


def _show_report(report: Any, action: str) -> None:
    st.session_state[REPORT] = {
        "action": action,
        "summary": report.summary(),
        "failed": dict(report.failed),
        "added": list(report.added),
        "updated": list(report.updated),
        "removed": list(report.removed),
    }


def _progress_callback(bar: Any):
    def progress(i: int, n: int, name: str) -> None:
        fraction = 1.0 if n == 0 else min(i / n, 1.0)
        bar.progress(fraction, text=f"Verwerken: {name} ({i + 1} van {n})" if name else "Index bijwerken…")

    return progress


def _ingest(assistant: Any, action: str, **kwargs: Any) -> None:
    bar = st.progress(0.0, text="Bezig…")
    try:
        report = assistant.ingest(progress=_progress_callback(bar), **kwargs)
    except Exception:
        log.exception("ingest failed (%s)", action)
        bar.empty()
        st.session_state[REPORT] = {
            "action": action,
            "error": "Het bijwerken van de index is mislukt; de vorige index blijft in gebruik. "
            "Probeert u het opnieuw of neem contact op met de beheerder.",
        }
        return
    bar.empty()
    _show_report(report, action)


def _check_upload(file: Any, max_bytes: int) -> str | None:
    """A Dutch reason why this upload is refused, or None."""
    suffix = Path(file.name).suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        allowed = ", ".join(s.lstrip(".") for s in SUPPORTED_SUFFIXES)
        return f"Bestandstype '{suffix or '(geen)'}' wordt niet ondersteund; toegestaan zijn {allowed}."
    if file.size == 0:
        return "Het bestand is leeg."
    if file.size > max_bytes:
        size = f"{file.size / 1_000_000:.1f}".replace(".", ",")
        return f"Het bestand is te groot ({size} MB); het maximum is {max_bytes / 1_000_000:g} MB."
    return None


def _upload(assistant: Any, files: list[Any]) -> None:
    s = settings()
    max_bytes = int(s.max_file_mb * 1_000_000)
    refused: dict[str, str] = {}
    with tempfile.TemporaryDirectory(prefix="npo-upload-") as tmp:
        paths: list[Path] = []
        for f in files:
            reason = _check_upload(f, max_bytes)
            if reason:
                refused[f.name] = reason
                continue
            target = Path(tmp) / sanitize_filename(f.name)
            if target in paths:
                refused[f.name] = "Er is al een bestand met dezelfde naam in deze upload."
                continue
            target.write_bytes(f.getvalue())
            paths.append(target)
        if paths:
            _ingest(assistant, "upload", paths=paths)
        else:
            st.session_state[REPORT] = {"action": "upload", "summary": "", "failed": {}}
    st.session_state[REPORT].setdefault("failed", {}).update(refused)
    st.session_state[UPLOAD_ROUND] = st.session_state.get(UPLOAD_ROUND, 0) + 1  # clears the uploader


def _render_report() -> None:
    data = st.session_state.get(REPORT)
    if not data:
        return
    if data.get("error"):
        st.error(data["error"], icon=":material/error:")
        return
    if data.get("summary"):
        st.success(data["summary"], icon=":material/check_circle:")
    for name, message in (data.get("failed") or {}).items():
        st.error(f"**{name}**: {message}", icon=":material/error:")


def _documents_table(docs: list[dict[str, Any]]) -> None:
    rows = [
        {
            "Titel": d.get("title") or d.get("source"),
            "Soort": kind_label(d.get("kind")),
            "Datum": format_date(d.get("date")),
            "Fragmenten": d.get("chunks"),
            "Laatst geïndexeerd": format_timestamp(d.get("indexed_at")),
        }
        for d in sorted(docs, key=lambda d: (d.get("title") or d.get("source") or "").lower())
    ]
    st.dataframe(
        rows,
        hide_index=True,
        width="stretch",
        column_config={
            "Titel": st.column_config.TextColumn(width=400),
            "Soort": st.column_config.TextColumn(width=140),
            "Datum": st.column_config.TextColumn(width=115),
            "Fragmenten": st.column_config.NumberColumn(width=95),
            "Laatst geïndexeerd": st.column_config.TextColumn(width=150),
        },
    )


# --------------------------------------------------------------------------- page

s = settings()
st.title("Documenten")
st.markdown(
    '<p class="npo-intro">Beheer de documenten waarop de assistent zijn antwoorden baseert.</p>',
    unsafe_allow_html=True,
)
assistant = try_assistant()
if assistant is None:
    st.stop()

try:
    docs = list(assistant.documents())
except Exception:
    log.exception("listing documents failed")
    docs = []
    st.error("De lijst met documenten kon niet worden opgehaald.")

_render_report()

c1, c2, c3 = st.columns(3)
c1.metric("Documenten", len(docs), border=True)
c2.metric("Fragmenten in de index", sum(int(d.get("chunks") or 0) for d in docs), border=True)
last = max((d.get("indexed_at") or "" for d in docs), default="")
c3.metric("Laatst bijgewerkt", format_timestamp(last) or "–", border=True)

st.subheader("Geïndexeerde documenten")
if docs:
    _documents_table(docs)
else:
    st.info("Er zijn nog geen documenten geïndexeerd. Voeg hieronder documenten toe.", icon=":material/info:")

st.subheader("Documenten toevoegen")
allowed = ", ".join(x.lstrip(".") for x in SUPPORTED_SUFFIXES)
files = st.file_uploader(
    f"Kies een of meer bestanden ({allowed}; maximaal {s.max_file_mb:g} MB per bestand)",
    accept_multiple_files=True,
    max_upload_size=max(1, math.ceil(s.max_file_mb)),
    key=f"doc-upload-{st.session_state.get(UPLOAD_ROUND, 0)}",
)
if st.button("Toevoegen en indexeren", type="primary", icon=":material/upload:", disabled=not files):
    _upload(assistant, files or [])
    st.rerun()

st.subheader("Onderhoud")
with st.container(border=True):
    st.markdown("**Document verwijderen**")
    options = {d["source"]: f"{d.get('title') or d['source']} ({d['source']})" for d in docs}
    col_sel, col_btn = st.columns([4, 1], vertical_alignment="bottom")
    chosen = col_sel.selectbox(
        "Document", list(options), format_func=options.get, index=None,
        placeholder="Kies een document", label_visibility="collapsed",
    )
    if col_btn.button("Verwijderen", icon=":material/delete:", disabled=chosen is None, width="stretch"):
        st.session_state[CONFIRM] = ("delete", chosen)
    confirm = st.session_state.get(CONFIRM)
    if confirm and confirm[0] == "delete":
        st.warning(f"Weet u zeker dat u **{options.get(confirm[1], confirm[1])}** wilt verwijderen uit de index en de documentenmap?")
        y, n, _ = st.columns([1, 1, 4])
        if y.button("Ja, verwijderen", type="primary", key="confirm-delete"):
            st.session_state.pop(CONFIRM, None)
            _ingest(assistant, "delete", delete=[confirm[1]])
            st.rerun()
        if n.button("Annuleren", key="cancel-delete"):
            st.session_state.pop(CONFIRM, None)
            st.rerun()

with st.container(border=True):
    st.markdown("**Index opnieuw opbouwen**")
    st.caption(
        "Leest alle documenten opnieuw in en berekent alle fragmenten opnieuw. Dit duurt even; "
        "tot het klaar is, blijft de huidige index in gebruik."
    )
    if st.button("Index opnieuw opbouwen…", icon=":material/refresh:"):
        st.session_state[CONFIRM] = ("rebuild", None)
    confirm = st.session_state.get(CONFIRM)
    if confirm and confirm[0] == "rebuild":
        st.warning("Weet u zeker dat u de hele index opnieuw wilt opbouwen?")
        y, n, _ = st.columns([1, 1, 4])
        if y.button("Ja, opnieuw opbouwen", type="primary", key="confirm-rebuild"):
            st.session_state.pop(CONFIRM, None)
            _ingest(assistant, "rebuild", rebuild=True)
            st.rerun()
        if n.button("Annuleren", key="cancel-rebuild"):
            st.session_state.pop(CONFIRM, None)
            st.rerun()

st.subheader("Feedback van gebruikers")
try:
    store = feedback_store()
    rows = store.list()
    up = sum(1 for r in rows if r["rating"] == 1)
    st.markdown(f"{len(rows)} beoordelingen: {up} positief, {len(rows) - up} negatief.")
    st.download_button(
        "Download alle feedback (.csv)",
        store.export_csv(),
        f"npo-feedback-{datetime.now():%Y%m%d-%H%M}.csv",
        "text/csv",
        icon=":material/download:",
        disabled=not rows,
    )
except Exception:
    log.exception("feedback export failed")
    st.error("De feedback kon niet worden gelezen.")
