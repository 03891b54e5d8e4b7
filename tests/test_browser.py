"""End-to-end browser tests: the real app (`streamlit run app.py`) with the real LLM, driven by
Playwright with Debian's chromium (/usr/bin/chromium; never a downloaded browser).

The app runs as a subprocess on a free port with tmp NPO_DATA_DIR / NPO_CORPUS_DIR /
NPO_FEEDBACK_DB; the index is built before the server starts. Screenshots of every
page go to tests/artifacts/. LLM answers take up to a minute on a 2-core machine,
so the waits are generous.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from conftest import free_port
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "tests" / "artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ANSWER_TIMEOUT_MS = 420_000  # first answer also loads the embeddings, the index and the LLM
START_TIMEOUT_S = 120
VIEWPORT = {"width": 1366, "height": 1300}

UNIQUE_FACT = "De gemeente Voorbeeldstad organiseert een NPO-zomerschool in Zeeland-Noord voor 120 leerlingen."
NEW_DOC = f"""NPO-zomerschool Voorbeeldstad

{UNIQUE_FACT}

De zomerschool van Voorbeeldstad duurt twee weken en wordt betaald uit het gemeentebudget van het
Nationaal Programma Onderwijs. Scholen in Zeeland-Noord melden leerlingen aan bij de gemeente.
"""


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as resp:
            return resp.status == 200
    except OSError:
        return False


@pytest.fixture(scope="module")
def app_server(tmp_path_factory):
    if not Path(CHROMIUM).exists():
        pytest.skip("chromium ontbreekt (/usr/bin/chromium); installeer het met `make chromium`")
    base = tmp_path_factory.mktemp("npo-browser")
    corpus = base / "corpus"
    shutil.copytree(ROOT / "corpus", corpus)
    env = {k: v for k, v in os.environ.items() if not k.startswith("NPO_")}
    env.update(
        NPO_DATA_DIR=str(base / "data"),
        NPO_CORPUS_DIR=str(corpus),
        NPO_FEEDBACK_DB=str(base / "feedback.sqlite3"),
        HF_HUB_OFFLINE="1",
        TRANSFORMERS_OFFLINE="1",
        ANONYMIZED_TELEMETRY="False",
    )
    build = subprocess.run(
        [sys.executable, "-c",
         "from assistant import Assistant; r = Assistant().ingest(); print(r.summary()); "
         "raise SystemExit(0 if r.ok else 1)"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600,
    )
    assert build.returncode == 0, build.stdout + build.stderr[-3000:]

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log_path = base / "streamlit.log"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with log_path.open("w") as log:
        started = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
             "--server.address", "127.0.0.1", "--server.headless", "true",
             "--browser.gatherUsageStats", "false"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
        )
        try:
            while not _healthy(url):
                if proc.poll() is not None or time.perf_counter() - started > START_TIMEOUT_S:
                    raise AssertionError("Streamlit startte niet:\n" + log_path.read_text()[-3000:])
                time.sleep(0.25)
            yield {
                "url": url,
                "started": started,
                "health_s": time.perf_counter() - started,
                "feedback": base / "feedback.sqlite3",
                "base": base,
                "log": log_path,
            }
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture()
def page(browser):
    context = browser.new_context(viewport=VIEWPORT, accept_downloads=True, locale="nl-NL")
    pg = context.new_page()
    pg.set_default_timeout(60_000)
    yield pg
    context.close()


def _shot(page, name: str) -> None:
    page.wait_for_timeout(600)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def _assistant_messages(page):
    return page.locator("[data-testid='stChatMessage']:has([data-testid='stFeedback'])")


def _ask(page, question: str, n_before: int):
    """Type a question, check the sources arrive before the answer, wait for the final answer."""
    box = page.locator("[data-testid='stChatInput'] textarea")
    box.fill(question)
    box.press("Enter")
    page.locator(".npo-bronnen-kop", has_text="(gevonden)").first.wait_for(timeout=ANSWER_TIMEOUT_MS)
    page.wait_for_function(
        "n => document.querySelectorAll(\"[data-testid='stChatMessage'] [data-testid='stFeedback']\").length > n",
        arg=n_before,
        timeout=ANSWER_TIMEOUT_MS,
    )
    message = _assistant_messages(page).nth(n_before)
    message.scroll_into_view_if_needed()
    return message


def _answer_summary(message) -> str:
    return message.inner_text()[:600].replace("\n", " ")


def test_first_page_is_usable_quickly(app_server, page):
    page.goto(app_server["url"])
    page.get_by_role("heading", name="Stel uw vraag").wait_for(timeout=60_000)
    page.get_by_role("button", name="Hoeveel geld is er voor gemeenten beschikbaar?").wait_for()
    usable = time.perf_counter() - app_server["started"]
    (ARTIFACTS / "startup.txt").write_text(
        f"health endpoint after {app_server['health_s']:.1f} s; "
        f"chat page with examples usable after {usable:.1f} s from `streamlit run`\n"
    )
    _shot(page, "vraag-leeg")
    assert usable < 60, f"page took {usable:.1f} s"


def test_chat_answer_followup_and_feedback(app_server, page):
    page.goto(app_server["url"])
    page.locator("[data-testid='stChatInput'] textarea").wait_for()

    first = _ask(page, "Hoeveel geld is er voor gemeenten beschikbaar?", 0)
    first_text = _answer_summary(first)
    first_cited = first.locator(".npo-badge").count()
    first_links = [first.locator("a.npo-cite").nth(i).get_attribute("href") for i in range(first.locator("a.npo-cite").count())]
    _shot(page, "vraag-antwoord")

    second = _ask(page, "En over welke periode?", 1)
    assert "Er ging iets mis" not in second.inner_text()
    assert second.locator(".npo-bron").count() >= 1 or second.locator("[data-testid='stExpander']").count() >= 1
    _shot(page, "vraag-vervolg")

    # 👍 on the first answer lands in the SQLite feedback store
    first.get_by_role("radio", name="Thumbs up").click()
    page.get_by_text("Dank u, uw beoordeling is opgeslagen.").first.wait_for()
    with sqlite3.connect(app_server["feedback"]) as conn:
        rows = conn.execute("SELECT question, answer, rating, mode, model FROM feedback").fetchall()
    assert any(q == "Hoeveel geld is er voor gemeenten beschikbaar?" and r == 1 for q, _, r, _, _ in rows), rows

    page.get_by_role("button", name="Nieuw gesprek").click()
    page.get_by_role("button", name="Hoeveel geld is er voor gemeenten beschikbaar?").wait_for()

    # the corpus question must be answered (not refused) with at least one cited source
    assert first_cited >= 1, "no answer with a cited source: " + first_text
    assert first_links and all(h.startswith("#bron-") for h in first_links)


def test_upload_document_then_answer_cites_it(app_server, page, tmp_path):
    doc = tmp_path / "Zomerschool Voorbeeldstad!.txt"  # sanitised to Zomerschool_Voorbeeldstad.txt
    doc.write_text(NEW_DOC, encoding="utf-8")
    page.goto(f"{app_server['url']}/documenten")
    page.get_by_role("heading", name="Geïndexeerde documenten").wait_for(timeout=120_000)
    _shot(page, "documenten")

    page.locator("[data-testid='stFileUploader'] input[type='file']").set_input_files(str(doc))
    add = page.get_by_role("button", name="Toevoegen en indexeren")
    expect(add).to_be_enabled(timeout=30_000)
    add.click()
    page.get_by_text("1 toegevoegd").wait_for(timeout=180_000)
    assert "Zomerschool_Voorbeeldstad.txt" in [p.name for p in (app_server["base"] / "corpus").iterdir()]
    _shot(page, "documenten-na-upload")

    page.goto(app_server["url"])
    page.locator("[data-testid='stChatInput'] textarea").wait_for()
    answer = _ask(page, "Voor hoeveel leerlingen organiseert de gemeente Voorbeeldstad een NPO-zomerschool?", 0)
    cited = answer.locator(".npo-bron:has(.npo-badge)")
    assert cited.count() >= 1, "no cited source: " + _answer_summary(answer)
    assert "Zomerschool_Voorbeeldstad.txt" in " ".join(cited.all_inner_texts()), _answer_summary(answer)
    assert "120" in answer.inner_text()
    _shot(page, "vraag-nieuw-document")


def test_concept_draft_and_download(app_server, page):
    page.goto(f"{app_server['url']}/concept")
    page.get_by_role("heading", name="Conceptantwoord").first.wait_for(timeout=120_000)
    page.get_by_label("Vraag van de afzender").fill(
        "Hoeveel geld krijgen gemeenten uit het Nationaal Programma Onderwijs?"
    )
    page.get_by_label("Naam afzender (optioneel)").fill("mevrouw De Vries")
    page.get_by_label("Gemeente (optioneel)").fill("Utrecht")
    page.get_by_role("button", name="Conceptantwoord opstellen").click()
    page.get_by_role("button", name="Download .txt").wait_for(timeout=ANSWER_TIMEOUT_MS)
    draft = page.get_by_label("Tekst (bewerkbaar)").input_value()
    assert "Geachte mevrouw De Vries" in draft
    _shot(page, "concept")

    with page.expect_download() as info:
        page.get_by_role("button", name="Download .txt").click()
    download = info.value
    assert download.suggested_filename.startswith("conceptantwoord-") and download.suggested_filename.endswith(".txt")
    content = Path(download.path()).read_text(encoding="utf-8")
    assert content.strip() == draft.strip()
    assert "Met vriendelijke groet" in content

    with page.expect_download() as info:
        page.get_by_role("button", name="Download .docx").click()
    data = Path(info.value.path()).read_bytes()
    assert data[:2] == b"PK"

    page.get_by_role("tab", name="Meerdere vragen (bestand)").click()
    _shot(page, "concept-bulk")


def test_two_sessions_chat_at_the_same_time(app_server, browser):
    """Two browser sessions ask at once; both get their own answer (the LLM is shared and serialised)."""
    pages = []
    for _ in range(2):
        context = browser.new_context(viewport=VIEWPORT, locale="nl-NL")
        pg = context.new_page()
        pg.goto(app_server["url"])
        pg.locator("[data-testid='stChatInput'] textarea").wait_for(timeout=60_000)
        pages.append(pg)
    questions = ["Welke ondersteuning krijgen kleinere gemeenten?", "Mag een school de bso inhuren voor een interventie?"]
    try:
        for pg, question in zip(pages, questions):
            box = pg.locator("[data-testid='stChatInput'] textarea")
            box.fill(question)
            box.press("Enter")
        for pg, question in zip(pages, questions):
            pg.locator("[data-testid='stFeedback']").first.wait_for(timeout=ANSWER_TIMEOUT_MS)
            text = pg.locator("[data-testid='stChatMessage']").first.inner_text()
            assert question in text
            assert "Er ging iets mis" not in pg.locator("body").inner_text()
        _shot(pages[1], "vraag-tweede-sessie")
    finally:
        for pg in pages:
            pg.context.close()


def test_kwaliteit_page(app_server, page):
    page.goto(f"{app_server['url']}/kwaliteit")
    page.get_by_role("heading", name="Kwaliteit").wait_for(timeout=60_000)
    page.get_by_role("button", name="Snelle zoekevaluatie starten").wait_for()
    _shot(page, "kwaliteit")
