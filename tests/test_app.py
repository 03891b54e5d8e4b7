"""Page logic of the Streamlit app with streamlit.testing.v1.AppTest (no browser, no LLM).

The index is built once for this module in a tmp dir (a copy of corpus/); the
app finds it through NPO_DATA_DIR / NPO_CORPUS_DIR / NPO_FEEDBACK_DB, and
answers in extractive mode (NPO_DEFAULT_MODE=extractive) so no LLM is loaded.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "app.py")
TIMEOUT = 180

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture(scope="module")
def app_env(tmp_path_factory):
    """Tmp corpus + data dirs, env vars pointing at them, and a built index."""
    from settings import get_settings

    base = tmp_path_factory.mktemp("npo-app")
    corpus = base / "corpus"
    shutil.copytree(ROOT / "corpus", corpus)
    env = {
        "NPO_DATA_DIR": str(base / "data"),
        "NPO_CORPUS_DIR": str(corpus),
        "NPO_FEEDBACK_DB": str(base / "feedback.sqlite3"),
        "NPO_DEFAULT_MODE": "extractive",
    }
    with pytest.MonkeyPatch.context() as mp:
        for key, value in env.items():
            mp.setenv(key, value)
        get_settings.cache_clear()
        from assistant import get_assistant

        settings = get_settings()
        report = get_assistant(settings).ingest()
        assert report.ok, report.failed
        yield {"base": base, "settings": settings, "feedback": base / "feedback.sqlite3"}
    get_settings.cache_clear()


def _app():
    from streamlit.testing.v1 import AppTest

    return AppTest.from_file(APP, default_timeout=TIMEOUT)


def _all_markdown(at) -> str:
    return "\n".join(str(m.value) for m in at.markdown)


def _ask(at, question: str):
    at.chat_input[0].set_value(question).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_empty_chat_shows_examples(app_env):
    at = _app().run()
    assert not at.exception
    assert at.title[0].value == "Stel uw vraag"
    labels = [b.label for b in at.button]
    assert "Hoeveel geld is er voor gemeenten beschikbaar?" in labels
    assert "Nieuw gesprek" not in labels  # only once there is a conversation
    assert len(at.chat_input) == 1


def test_example_click_asks_the_question(app_env):
    at = _app().run()
    example = next(b for b in at.button if b.label.startswith("Hoeveel geld"))
    example.click().run()
    assert not at.exception
    msgs = at.session_state["npo_chat"]
    assert [m["role"] for m in msgs] == ["user", "assistant"]
    assert msgs[0]["content"].startswith("Hoeveel geld")
    # the examples are gone once the conversation started
    assert not any(b.label.startswith("Welke rol") for b in at.button)


def test_extractive_answer_with_sources_and_feedback(app_env):
    at = _app().run()
    _ask(at, "Hoeveel geld is er voor gemeenten beschikbaar?")
    msgs = at.session_state["npo_chat"]
    answer = msgs[-1]["answer"]
    assert answer["mode"] == "extractive"
    assert answer["sources"], "no sources"
    assert not msgs[-1].get("error")
    md = _all_markdown(at)
    # source cards with an anchor per source, citation links pointing at them
    mid = msgs[-1]["id"]
    assert f'id="bron-{mid}-' in md
    if answer["citations"]:
        assert f'href="#bron-{mid}-{answer["citations"][0]["n"]}"' in md
        assert "<mark>" in md
    assert any("zoeken" in c.value for c in at.caption)  # discreet timings
    assert any(b.label == "Nieuw gesprek" for b in at.button)

    # 👍 writes a row to the feedback DB
    at.feedback[0].set_value(1).run()
    assert not at.exception
    with sqlite3.connect(app_env["feedback"]) as conn:
        rows = conn.execute("SELECT question, answer, mode, model, rating, sources_json FROM feedback").fetchall()
    assert rows, "no feedback row"
    question, text, mode, model, rating, sources_json = rows[-1]
    assert question == "Hoeveel geld is er voor gemeenten beschikbaar?"
    assert text == answer["text"] and mode == "extractive" and rating == 1
    assert json.loads(sources_json)["sources"]

    # optional comment is added to the same row
    at.text_input(key=f"fbc-{mid}").input("Duidelijk antwoord").run()
    at.button(key=f"fbs-{mid}").click().run()
    with sqlite3.connect(app_env["feedback"]) as conn:
        comment = conn.execute("SELECT comment FROM feedback ORDER BY id DESC LIMIT 1").fetchone()[0]
    assert comment == "Duidelijk antwoord"

    # follow-up question keeps the conversation; "Nieuw gesprek" clears it
    _ask(at, "En over welke periode?")
    assert len(at.session_state["npo_chat"]) == 4
    next(b for b in at.button if b.label == "Nieuw gesprek").click().run()
    assert at.session_state["npo_chat"] == []


def test_abstention_looks_different(app_env):
    at = _app().run()
    _ask(at, "Wat wordt het weer morgen in Utrecht?")
    answer = at.session_state["npo_chat"][-1]["answer"]
    assert answer["abstained"]
    assert at.info, "abstention is shown in an info box"
    assert "Wat kunt u doen?" in at.info[0].value


def test_failing_assistant_shows_dutch_error_not_a_trace(app_env, monkeypatch):
    from assistant import Assistant

    def broken(self, *args, **kwargs):
        raise RuntimeError("boom")
        yield  # pragma: no cover

    monkeypatch.setattr(Assistant, "stream", broken)
    at = _app().run()
    _ask(at, "Hoeveel geld is er voor gemeenten beschikbaar?")
    assert not at.exception
    assert any("Er ging iets mis" in e.value for e in at.error)
    assert "boom" not in " ".join(e.value for e in at.error)


def test_fallback_answer_shows_note(app_env, monkeypatch):
    from assistant import Assistant

    real_stream = Assistant.stream

    def fallback_stream(self, question, history=None, mode=None, **kwargs):
        for event in real_stream(self, question, history, "extractive", **kwargs):
            if event.kind == "answer":
                event.answer.fallback = True
            yield event

    monkeypatch.setattr(Assistant, "stream", fallback_stream)
    at = _app().run()
    _ask(at, "Hoeveel geld is er voor gemeenten beschikbaar?")
    assert any("Het taalmodel was niet beschikbaar" in w.value for w in at.warning)


def test_documenten_lists_corpus(app_env):
    at = _app().run()
    at.switch_page("app_pages/documenten.py").run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.title[0].value == "Documenten"
    table = at.dataframe[0].value
    assert len(table) == 5
    titles = set(table["Titel"])
    assert "Veelgestelde vragen over samenwerking buiten school" in titles
    assert set(table["Soort"]) >= {"Brief", "Webpagina", "Veelgestelde vragen"}
    assert at.metric[0].value == "5"


def test_documenten_refuses_bad_upload(app_env):
    at = _app().run()
    at.switch_page("app_pages/documenten.py").run()
    at.file_uploader[0].set_value(("rapport.xlsx", b"PK\x03\x04 not really", "application/octet-stream")).run()
    next(b for b in at.button if b.label == "Toevoegen en indexeren").click().run()
    assert not at.exception
    errors = [e.value for e in at.error]
    assert any("rapport.xlsx" in e and "niet ondersteund" in e for e in errors), errors
    assert len(at.dataframe[0].value) == 5  # nothing changed


def test_documenten_upload_then_delete(app_env):
    at = _app().run()
    at.switch_page("app_pages/documenten.py").run()
    text = "NPO-zomerschool Proefdorp\n\nDe gemeente Proefdorp organiseert een NPO-zomerschool voor 75 leerlingen.\n"
    at.file_uploader[0].set_value(("../Proef dorp!.txt", text.encode(), "text/plain")).run()
    next(b for b in at.button if b.label == "Toevoegen en indexeren").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("1 toegevoegd" in s.value for s in at.success), [s.value for s in at.success]
    table = at.dataframe[0].value
    assert len(table) == 6 and "NPO-zomerschool Proefdorp" in set(table["Titel"])
    corpus = app_env["settings"].corpus_dir
    assert (corpus / "Proef_dorp.txt").is_file()  # sanitised name, inside corpus/

    at.selectbox[0].set_value("Proef_dorp.txt").run()
    next(b for b in at.button if b.label == "Verwijderen").click().run()
    assert any("Weet u zeker" in w.value for w in at.warning)
    at.button(key="confirm-delete").click().run()
    assert not at.exception
    assert len(at.dataframe[0].value) == 5
    assert not (corpus / "Proef_dorp.txt").exists()


@pytest.mark.parametrize(
    ("name", "data", "expected"),
    [
        ("vragen.csv", b"", "Het bestand is leeg."),
        ("vragen.xlsx", b"id,question\n1,Hoi\n", "wordt niet ondersteund"),
        ("vragen.csv", b"id,vraagtekst\n1,Hoeveel geld?\n", "De kolom 'question' ontbreekt"),
        ("vragen.jsonl", b'{"id": 1, "question": "Hoeveel?"}\n{kapot\n', "Regel 2 is geen geldige JSON."),
        ("vragen.csv", b"\x00\x01\x02binary\x00", "niet als tekst worden gelezen"),
        ("vragen.csv", ("id,question\n" + "".join(f"{i},Vraag {i}?\n" for i in range(201))).encode(), "het maximum is 200"),
    ],
)
def test_concept_bulk_bad_file(app_env, name, data, expected):
    at = _app().run()
    at.switch_page("app_pages/concept.py").run()
    assert not at.exception
    at.file_uploader(key="bulk-upload").set_value((name, data, "text/csv")).run()
    assert not at.exception
    errors = [e.value for e in at.error]
    assert any(expected in e for e in errors), errors
    assert not any(b.label == "Conceptantwoorden opstellen" for b in at.button)


def test_concept_bulk_extractive_roundtrip(app_env, monkeypatch):
    """A good bulk file: rows found, run, CSV download offered (extractive instead of the LLM)."""
    from assistant import Assistant

    real_ask = Assistant.ask
    calls = []

    def ask_without_llm(self, question, history=None, mode=None, **kwargs):
        calls.append(mode)
        return real_ask(self, question, history, "extractive", **kwargs)

    monkeypatch.setattr(Assistant, "ask", ask_without_llm)
    at = _app().run()
    at.switch_page("app_pages/concept.py").run()
    data = "id;question\nq1;Hoeveel geld is er voor gemeenten beschikbaar?\n".encode()
    at.file_uploader(key="bulk-upload").set_value(("vragen.csv", data, "text/csv")).run()
    assert any("1 vragen gevonden" in s.value for s in at.success)
    at.button(key="bulk-run").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert calls == ["draft"]
    result = at.session_state["npo_bulk_result"]
    assert result["rows"][0]["id"] == "q1" and result["rows"][0]["answer"]
    assert any("conceptantwoorden" in d.label.lower() for d in at.get("download_button"))


def test_kwaliteit_page_renders(app_env):
    at = _app().run()
    at.switch_page("app_pages/kwaliteit.py").run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.title[0].value == "Kwaliteit"
    assert any(b.label == "Snelle zoekevaluatie starten" for b in at.button)


# --------------------------------------------------------------------------- pure helpers (no app run)


def test_link_citations_escapes_and_links():
    from app_pages.common import link_citations

    out = link_citations("Budget <b>8,5</b> mld $5 [1]. Zie ook [2, 3] en [9].", "bron-x", known=[1, 2, 3])
    assert "<b>" not in out and "&lt;b&gt;" in out
    assert "\\$5" in out  # no LaTeX
    assert 'href="#bron-x-1"' in out and 'href="#bron-x-2"' in out and 'href="#bron-x-3"' in out
    assert "[9]" in out and "bron-x-9" not in out  # unknown number stays plain text


def test_context_html_marks_span_with_context():
    from app_pages.common import context_html

    text = "A" * 400 + " Het budget is € 8,5 miljard <voor> scholen. " + "B " * 200
    start = text.index("Het budget")
    end = text.index("scholen.") + len("scholen.")
    out = context_html(text, [(start, end)], pad=100)
    assert "<mark>Het budget is € 8,5 miljard &lt;voor&gt; scholen.</mark>" in out
    assert out.startswith("…") and out.endswith("…")
    assert len(out) < 450


def test_cited_numbers():
    from app_pages.common import cited_numbers

    assert cited_numbers("a [1] b [2, 4] c [3;5] d [x]") == {1, 2, 3, 4, 5}


def test_parse_bulk_good_files():
    from assistant.bulkfile import parse_bulk, result_row, results_csv

    rows = parse_bulk(
        "v.jsonl",
        b'{"id": "a", "question": "Vraag 1?", "history": [{"role": "user", "content": "Eerder"}]}\n\n'
        b'{"question": "Vraag 2?"}\n',
    )
    assert [(r.id, r.question) for r in rows] == [("a", "Vraag 1?"), ("2", "Vraag 2?")]
    assert rows[0].history == [{"role": "user", "content": "Eerder"}]
    rows = parse_bulk("v.csv", "id;question;gemeente\n7;Hoeveel, precies?;Utrecht\n".encode("cp1252"))
    assert rows[0].question == "Hoeveel, precies?" and rows[0].gemeente == "Utrecht"
    from assistant.bulkfile import EXAMPLE_CSV

    assert len(parse_bulk("voorbeeld-vragen.csv", EXAMPLE_CSV.encode())) == 2
    csv_text = results_csv([result_row(rows[0], error="mislukt")])
    assert csv_text.splitlines()[0] == "id,question,answer,abstained,citations,timings,error"
