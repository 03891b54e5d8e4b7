"""Page 'Vraag': chat with the assistant about the NPO documents."""

from __future__ import annotations

import json
import logging
import uuid
from typing import Any

import streamlit as st

from app_pages.common import (
    escape_markdown,
    feedback_store,
    link_citations,
    render_sources,
    settings,
    sources_plaintext,
    timings_caption,
    try_assistant,
)
from assistant.guard import fallback_notice

log = logging.getLogger("npo.app.vraag")

EXAMPLES = [
    "Hoeveel geld is er voor gemeenten beschikbaar?",
    "Welke rol kan een gemeente spelen bij het Nationaal Programma Onderwijs?",
    "Welke ondersteuning krijgen kleinere gemeenten?",
    "Mag een school de bso inhuren voor een interventie?",
]
ERROR_TEXT = (
    "Er ging iets mis bij het beantwoorden van uw vraag. Probeert u het nog eens. "
    "Blijft het probleem bestaan, neem dan contact op met de beheerder van de NPO-assistent."
)
NEXT_STEPS = [
    "Formuleer uw vraag anders of specifieker, bijvoorbeeld met de regeling, de periode of de doelgroep.",
    "Bekijk op de pagina *Documenten* welke documenten de assistent kent.",
    "Staat het antwoord niet in de documenten, neem dan contact op met de helpdesk of uw "
    "contactpersoon bij het Nationaal Programma Onderwijs (ministerie van OCW).",
]


def next_steps(text: str) -> str:
    """'Wat kunt u doen?' without repeating the helpdesk advice the answer already gives."""
    steps = NEXT_STEPS if "helpdesk" not in text.lower() else NEXT_STEPS[:2]
    return "**Wat kunt u doen?**\n" + "\n".join(f"- {s}" for s in steps)

MESSAGES = "npo_chat"
PENDING = "npo_pending_question"
ASSISTANT_AVATAR = ":material/account_balance:"
USER_AVATAR = ":material/person:"


def _messages() -> list[dict[str, Any]]:
    return st.session_state.setdefault(MESSAGES, [])


def _find(message_id: str) -> dict[str, Any] | None:
    return next((m for m in _messages() if m.get("id") == message_id), None)


def _new_conversation() -> None:
    st.session_state[MESSAGES] = []
    st.session_state.pop(PENDING, None)


def _ask_example(question: str) -> None:
    st.session_state[PENDING] = question


def _chat_mode() -> str:
    return "extractive" if st.session_state.get("npo_extractive") else "chat"


# --------------------------------------------------------------------------- feedback


def _question_for(message_id: str) -> str:
    msgs = _messages()
    for i, m in enumerate(msgs):
        if m.get("id") == message_id:
            return next((p["content"] for p in reversed(msgs[:i]) if p["role"] == "user"), "")
    return ""


def _on_rating(message_id: str) -> None:
    msg = _find(message_id)
    value = st.session_state.get(f"fb-{message_id}")
    if msg is None or value is None:
        return
    rating = 1 if value == 1 else -1
    answer = msg.get("answer") or {}
    try:
        store = feedback_store()
        if msg.get("feedback_id"):
            store.update(msg["feedback_id"], rating=rating)
        else:
            msg["feedback_id"] = store.add(
                question=_question_for(message_id),
                answer=answer.get("text", msg.get("content", "")),
                sources_json=json.dumps(
                    {"sources": answer.get("sources", []), "citations": answer.get("citations", [])},
                    ensure_ascii=False,
                ),
                mode=answer.get("mode", ""),
                model=answer.get("model", ""),
                rating=rating,
                comment="",
            )
        msg["rating"] = rating
    except Exception:
        log.exception("storing feedback failed")
        msg["feedback_error"] = True


def _on_comment(message_id: str) -> None:
    msg = _find(message_id)
    comment = (st.session_state.get(f"fbc-{message_id}") or "").strip()
    if msg is None or not msg.get("feedback_id") or not comment:
        return
    try:
        feedback_store().update(msg["feedback_id"], comment=comment[:2000])
        msg["comment_sent"] = True
    except Exception:
        log.exception("storing feedback comment failed")
        msg["feedback_error"] = True


# --------------------------------------------------------------------------- rendering


def _copy_text(answer: dict[str, Any]) -> str:
    text = answer.get("text", "")
    sources = sources_plaintext(answer.get("sources", []), answer.get("citations", []))
    return f"{text}\n\nBronnen:\n{sources}" if sources else text


def _render_answer(msg: dict[str, Any], assistant: Any | None) -> None:
    mid = msg["id"]
    answer = msg.get("answer")
    if msg.get("error") or not answer:
        st.error(msg.get("content") or ERROR_TEXT, icon=":material/error:")
        return
    anchor = f"bron-{mid}"
    known = [s.get("n") for s in answer.get("sources", [])]
    if answer.get("abstained"):
        text = answer.get("text") or "Hierover kan ik geen antwoord geven op basis van de documenten."
        st.info(
            escape_markdown(text) + "\n\n" + next_steps(text),
            icon=":material/info:",
        )
    else:
        if answer.get("fallback"):
            st.warning(fallback_notice(answer.get("reason", "")), icon=":material/warning:")
        st.markdown(link_citations(answer.get("text", ""), anchor, known), unsafe_allow_html=True)
    removed = answer.get("removed") or []
    if removed:
        with st.expander(f"Weggelaten uitspraken ({len(removed)}): niet gedekt door de bronnen"):
            for r in removed:
                st.markdown(f"- {escape_markdown(r.get('text', ''))}  \n  *{escape_markdown(r.get('reason', ''))}*")
    if answer.get("abstained"):
        render_sources(answer.get("sources", []), [], anchor, assistant)
    else:
        render_sources(
            answer.get("sources", []), answer.get("citations", []), anchor, assistant,
            answer_text=answer.get("text", ""),
        )

    with st.container(horizontal=True, vertical_alignment="center", gap="small"):
        st.feedback("thumbs", key=f"fb-{mid}", on_change=_on_rating, args=(mid,))
        with st.popover("Kopiëren", icon=":material/content_copy:", type="tertiary"):
            st.caption("Gebruik het kopieerpictogram rechtsboven in het vak om het antwoord met bronnen te kopiëren.")
            st.code(_copy_text(answer), language=None, wrap_lines=True)
        st.caption(timings_caption(answer.get("timings"), answer.get("model", "")))
    searched = answer.get("search_query") or ""
    if searched and searched != answer.get("standalone_question"):
        st.caption(f"Gezocht in het Nederlands als: “{searched}”")
    if msg.get("feedback_error"):
        st.caption(":red[Uw beoordeling kon niet worden opgeslagen.]")
    elif msg.get("comment_sent"):
        st.caption("Dank u voor uw feedback en toelichting.")
    elif msg.get("rating"):
        with st.container(horizontal=True, vertical_alignment="bottom", gap="small"):
            st.text_input(
                "Toelichting (optioneel)",
                key=f"fbc-{mid}",
                placeholder="Wat was goed of wat ontbrak er?",
                width=420,
            )
            st.button("Toelichting versturen", key=f"fbs-{mid}", on_click=_on_comment, args=(mid,))
        st.caption("Dank u, uw beoordeling is opgeslagen.")


def _render_history(assistant: Any | None) -> None:
    for msg in _messages():
        if msg["role"] == "user":
            with st.chat_message("user", avatar=USER_AVATAR):
                st.markdown(escape_markdown(msg["content"]))
        else:
            with st.chat_message("assistant", avatar=ASSISTANT_AVATAR):
                _render_answer(msg, assistant)


def _answer(question: str) -> None:
    """Ask the assistant (streaming), show progress live, then store the result and rerun."""
    msgs = _messages()
    history = [{"role": m["role"], "content": m["content"]} for m in msgs if not m.get("error")]
    msgs.append({"id": uuid.uuid4().hex[:10], "role": "user", "content": question})
    with st.chat_message("user", avatar=USER_AVATAR):
        st.markdown(escape_markdown(question))

    mid = uuid.uuid4().hex[:10]
    record: dict[str, Any] = {"id": mid, "role": "assistant", "content": ""}
    with st.chat_message("assistant", avatar=ASSISTANT_AVATAR):
        status = st.empty()
        text_slot = st.empty()
        sources_slot = st.empty()
        status.caption(":material/search: Bronnen zoeken…")
        assistant = try_assistant()
        final = None
        if assistant is not None:
            buffer = ""
            try:
                for event in assistant.stream(question, history, mode=_chat_mode()):
                    if event.kind == "sources":
                        with sources_slot.container():
                            render_sources(event.sources or [], [], f"bron-{mid}", assistant, preview=True)
                        status.caption(":material/edit: Het antwoord wordt opgesteld…")
                    elif event.kind == "token":
                        buffer += event.token
                        text_slot.markdown(escape_markdown(buffer) + " ▌", unsafe_allow_html=True)
                    elif event.kind == "answer":
                        final = event.answer
            except Exception:
                log.exception("answering failed")
                final = None
        status.empty()
        if final is None:
            record.update(content=ERROR_TEXT, error=True)
        else:
            data = final.to_dict()
            record.update(content=data.get("text", ""), answer=data)
    msgs.append(record)
    st.rerun()


# --------------------------------------------------------------------------- page

s = settings()
st.session_state.setdefault("npo_extractive", s.default_mode == "extractive")

head, action = st.columns([5, 1], vertical_alignment="bottom")
head.title("Stel uw vraag")
if _messages():
    action.button(
        "Nieuw gesprek", icon=":material/add_comment:", on_click=_new_conversation, width="stretch"
    )
st.markdown(
    '<p class="npo-intro">De assistent beantwoordt vragen over het Nationaal Programma Onderwijs '
    "met passages uit de geïndexeerde documenten. Elk antwoord verwijst met [1], [2] … naar zijn bronnen.</p>",
    unsafe_allow_html=True,
)

with st.sidebar:
    st.toggle(
        "Snel antwoord zonder taalmodel",
        key="npo_extractive",
        help="Toont alleen letterlijke passages uit de bronnen. Sneller, maar minder vloeiend.",
    )

pending = st.session_state.pop(PENDING, None)
assistant_for_history = try_assistant() if _messages() else None
_render_history(assistant_for_history)

if not _messages() and not pending:
    with st.container(border=True):
        st.markdown("**Voorbeeldvragen** · klik op een vraag om deze te stellen")
        for i, example in enumerate(EXAMPLES):
            st.button(
                example,
                key=f"example-{i}",
                on_click=_ask_example,
                args=(example,),
                icon=":material/arrow_forward:",
                type="tertiary",
            )

typed = st.chat_input(
    "Stel uw vraag over het Nationaal Programma Onderwijs…",
    max_chars=s.max_question_chars,
    submit_mode="disable",
)
question = (typed or pending or "").strip()
if question:
    _answer(question)
