"""Page 'Conceptantwoord': a draft reply for the helpdesk, single or in bulk."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

import streamlit as st

from assistant.bulkfile import EXAMPLE_CSV, MAX_ROWS, BulkFileError, parse_bulk, result_row, results_csv
from assistant.guard import fallback_notice
from app_pages.common import (
    docx_bytes,
    render_sources,
    settings,
    timings_caption,
    try_assistant,
)

log = logging.getLogger("npo.app.concept")

DRAFT = "npo_draft"
BULK = "npo_bulk_result"
ERROR_TEXT = (
    "Het conceptantwoord kon niet worden opgesteld. Probeert u het nog eens; blijft het probleem "
    "bestaan, neem dan contact op met de beheerder."
)


def _stamp() -> str:
    return datetime.now().strftime("%Y%m%d-%H%M")


def _make_draft(question: str, sender: str, gemeente: str) -> None:
    assistant = try_assistant()
    if assistant is None:
        return
    with st.spinner("Het conceptantwoord wordt opgesteld… Dit kan tot een minuut duren."):
        try:
            answer = assistant.ask(
                question, mode="draft", sender_name=sender or None, gemeente=gemeente or None
            )
        except Exception:
            log.exception("draft failed")
            st.session_state.pop(DRAFT, None)
            st.error(ERROR_TEXT, icon=":material/error:")
            return
    data = answer.to_dict()
    data["_id"] = _stamp() + f"-{abs(hash(question)) % 10000:04d}"
    st.session_state[DRAFT] = data
    st.session_state[f"draft-text-{data['_id']}"] = data.get("text", "")


def _render_draft(data: dict[str, Any]) -> None:
    assistant = try_assistant()
    key = f"draft-text-{data['_id']}"
    left, right = st.columns([3, 2], gap="large")
    with left:
        st.subheader("Concepttekst")
        if data.get("abstained"):
            st.info(
                "Op basis van de documenten kan geen onderbouwd antwoord worden gegeven. "
                "Hieronder staat een neutrale tekst die u kunt aanvullen.",
                icon=":material/info:",
            )
        elif data.get("fallback"):
            st.warning(fallback_notice(data.get("reason", "")), icon=":material/warning:")
        st.text_area("Tekst (bewerkbaar)", key=key, height=420)
        text = st.session_state.get(key, data.get("text", ""))
        # the draft already ends with its own "Bronnen" list, so the downloads are the text as edited
        markdown = f"# Conceptantwoord\n\n**Vraag:** {data.get('question', '')}\n\n---\n\n{text}\n"
        name = f"conceptantwoord-{data['_id']}"
        with st.container(horizontal=True, gap="small"):
            st.download_button("Download .txt", text, f"{name}.txt", "text/plain", icon=":material/download:")
            st.download_button("Download .md", markdown, f"{name}.md", "text/markdown", icon=":material/download:")
            st.download_button(
                "Download .docx",
                docx_bytes("Conceptantwoord", text),
                f"{name}.docx",
                "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                icon=":material/download:",
            )
        st.caption(timings_caption(data.get("timings"), data.get("model", "")))
    with right:
        st.subheader("Bronnen")
        if data.get("sources"):
            render_sources(
                data["sources"], data.get("citations", []), f"concept-{data['_id']}", assistant,
                heading="", answer_text=data.get("text", ""),
            )
        else:
            st.caption("Er zijn geen passende bronnen gevonden.")


def _run_bulk(rows: list[Any]) -> None:
    assistant = try_assistant()
    if assistant is None:
        return
    bar = st.progress(0.0, text=f"Vraag 1 van {len(rows)}…")
    results = []
    for i, row in enumerate(rows):
        bar.progress(i / len(rows), text=f"Vraag {i + 1} van {len(rows)} wordt beantwoord…")
        try:
            answer = assistant.ask(
                row.question, row.history or None, mode="draft",
                sender_name=row.sender_name, gemeente=row.gemeente,
            )
            results.append(result_row(row, answer))
        except Exception:
            log.exception("bulk row %s failed", row.id)
            results.append(result_row(row, error="Deze vraag kon niet worden beantwoord."))
    bar.progress(1.0, text=f"Klaar: {len(rows)} vragen verwerkt.")
    st.session_state[BULK] = {"rows": results, "name": f"conceptantwoorden-{_stamp()}.csv"}


# --------------------------------------------------------------------------- page

s = settings()
st.title("Conceptantwoord")
st.markdown(
    '<p class="npo-intro">Stel een conceptantwoord op voor een vraag die bij de helpdesk is binnengekomen. '
    "Controleer en bewerk de tekst altijd voordat u deze verstuurt.</p>",
    unsafe_allow_html=True,
)

tab_single, tab_bulk = st.tabs(["Eén vraag", "Meerdere vragen (bestand)"])

with tab_single:
    with st.form("draft-form", border=True):
        question = st.text_area(
            "Vraag van de afzender",
            max_chars=s.max_question_chars,
            height=130,
            placeholder="Plak hier de vraag zoals die is binnengekomen.",
        )
        c1, c2 = st.columns(2)
        sender = c1.text_input("Naam afzender (optioneel)", max_chars=120)
        gemeente = c2.text_input("Gemeente (optioneel)", max_chars=120)
        submitted = st.form_submit_button("Conceptantwoord opstellen", type="primary", icon=":material/edit_note:")
    if submitted:
        if not question.strip():
            st.warning("Vul eerst de vraag van de afzender in.", icon=":material/info:")
        else:
            _make_draft(question.strip(), sender.strip(), gemeente.strip())
    if st.session_state.get(DRAFT):
        _render_draft(st.session_state[DRAFT])

with tab_bulk:
    st.markdown(
        f"Upload een **CSV**- of **JSONL**-bestand met de kolommen `id`, `question` en optioneel `history` "
        f"(maximaal {MAX_ROWS} vragen). U ontvangt de conceptantwoorden als CSV-bestand."
    )
    st.download_button(
        "Voorbeeldbestand (.csv)",
        EXAMPLE_CSV,
        "voorbeeld-vragen.csv",
        "text/csv",
        icon=":material/description:",
        type="tertiary",
    )
    upload = st.file_uploader("Bestand met vragen", key="bulk-upload", max_upload_size=10, help="CSV (komma of puntkomma) of JSONL, UTF-8.")
    if upload is not None:
        try:
            rows = parse_bulk(upload.name, upload.getvalue())
        except BulkFileError as exc:
            st.error(str(exc), icon=":material/error:")
            rows = []
        except Exception:
            log.exception("reading bulk file failed")
            st.error("Het bestand kon niet worden gelezen. Controleer of het een geldig CSV- of JSONL-bestand is.")
            rows = []
        if rows:
            st.success(f"{len(rows)} vragen gevonden in {upload.name}.", icon=":material/check_circle:")
            st.caption("Het beantwoorden duurt ongeveer 5 tot 15 seconden per vraag.")
            if st.button("Conceptantwoorden opstellen", type="primary", key="bulk-run"):
                _run_bulk(rows)
    result = st.session_state.get(BULK)
    if result:
        failed = sum(1 for r in result["rows"] if r.get("error"))
        st.markdown(f"**Resultaat:** {len(result['rows'])} vragen, waarvan {failed} mislukt.")
        st.dataframe(
            [{"id": r["id"], "vraag": r["question"], "conceptantwoord": r["answer"], "fout": r["error"]} for r in result["rows"]],
            hide_index=True,
            width="stretch",
        )
        st.download_button(
            "Download conceptantwoorden (.csv)",
            results_csv(result["rows"]),
            result["name"],
            "text/csv",
            icon=":material/download:",
            type="primary",
        )
