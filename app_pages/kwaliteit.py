"""Page 'Kwaliteit': the evaluation reports written by ``python -m evals`` (evals/reports/)."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import streamlit as st

from app_pages.common import ROOT, format_timestamp

log = logging.getLogger("npo.app.kwaliteit")

REPORTS_DIR = ROOT / "evals" / "reports"
RUN_TIMEOUT_S = 30 * 60
RUN_RESULT = "npo_eval_run"

LABELS = {
    "correct": "Juist (antwoord of terechte weigering)",
    "fact_correct": "Kernfeiten aanwezig",
    "evidence_hit@1": "Bewijspassage op plaats 1",
    "evidence_hit@3": "Bewijspassage in top 3",
    "evidence_hit@5": "Bewijspassage in top 5",
    "doc_hit@1": "Juiste document op plaats 1",
    "doc_hit@5": "Juiste document in top 5",
    "mrr": "MRR (gemiddelde reciproke rang)",
    "ndcg@10": "nDCG@10",
    "citation_resolved": "Bronverwijzingen herleidbaar",
    "citation_gold": "Verwijzing naar juiste bron",
    "citation_valid": "Geldige bronverwijzingen",
    "groundedness": "Onderbouwd door bronnen",
    "false_abstain_rate": "Onterecht geweigerd (lager is beter)",
    "abstain_accuracy": "Terecht geweigerd",
    "errors": "Fouten",
    "latency_total_p50": "Antwoordtijd mediaan (s)",
    "latency_total_p95": "Antwoordtijd p95 (s)",
    "latency_first_token_p50": "Eerste woord mediaan (s)",
    "latency_retrieval_p50": "Zoektijd mediaan (s)",
}
KIND_LABELS = {
    "factual": "feitelijk",
    "list": "opsomming",
    "procedural": "werkwijze",
    "multi_doc": "meerdere documenten",
    "follow_up": "vervolgvraag",
    "unanswerable": "niet te beantwoorden",
    "out_of_scope": "buiten het onderwerp",
    "injection": "manipulatiepoging",
}
PIPELINE_LABELS = {"ours": "NPO-assistent", "naive": "Naïeve baseline"}


def _reports() -> list[Path]:
    if not REPORTS_DIR.is_dir():
        return []
    return sorted((p for p in REPORTS_DIR.iterdir() if (p / "metrics.json").is_file()), key=lambda p: p.name)


def _load(report: Path) -> dict[str, Any] | None:
    try:
        data = json.loads((report / "metrics.json").read_text(encoding="utf-8"))
        return data if isinstance(data, dict) else None
    except (OSError, ValueError):
        log.warning("unreadable metrics in %s", report, exc_info=True)
        return None


def _pipelines(metrics: dict[str, Any]) -> list[str]:
    names = [k for k, v in metrics.items() if isinstance(v, dict) and "n" in v]
    return sorted(names, key=lambda n: (n != "ours", n != "naive", n))


def _fmt(key: str, value: Any) -> str:
    if value is None:
        return "–"
    if key in ("errors", "n", "n_answer", "n_abstain"):
        return str(int(value))
    if key.startswith("latency"):
        return f"{value:.1f}".replace(".", ",")
    if key in ("mrr", "ndcg@10"):
        return f"{value:.3f}".replace(".", ",")
    return f"{value * 100:.0f}%"


def _main_metric(summary: dict[str, Any]) -> str:
    return "correct" if summary.get("correct") is not None else "evidence_hit@5"


def _metrics_table(metrics: dict[str, Any]) -> None:
    names = _pipelines(metrics)
    keys = [k for k in LABELS if any(metrics[n].get(k) is not None for n in names)]
    rows = []
    for key in keys:
        row = {"Maat": LABELS[key]}
        for n in names:
            row[PIPELINE_LABELS.get(n, n)] = _fmt(key, metrics[n].get(key))
        rows.append(row)
    st.dataframe(rows, hide_index=True, width="stretch")


def _per_kind_chart(metrics: dict[str, Any]) -> None:
    names = _pipelines(metrics)
    key = _main_metric(metrics[names[0]])
    data: dict[str, dict[str, float]] = {}
    for n in names:
        for kind, summary in (metrics[n].get("per_kind") or {}).items():
            value = summary.get(key)
            if value is not None:
                data.setdefault(KIND_LABELS.get(kind, kind), {})[PIPELINE_LABELS.get(n, n)] = round(value * 100, 1)
    if not data:
        return
    import pandas as pd

    frame = pd.DataFrame.from_dict(data, orient="index").fillna(0)
    st.markdown(f"**Per soort vraag** · {LABELS.get(key, key).lower()} (%)")
    st.bar_chart(
        frame, stack=False, horizontal=True, height=70 + 45 * len(frame),
        color=["#154273", "#B2BCC8"][: len(frame.columns)],
    )


def _failure_reason(rec: dict[str, Any], retrieval_only: bool) -> str | None:
    """Why an item failed (as in the evals report), or None when it passed."""
    m = rec.get("metrics") or {}
    if retrieval_only:
        if m.get("expected") != "answer" or m.get("evidence_hit@5"):
            return None
        return "bewijspassage niet in top 5"
    if m.get("correct"):
        return None
    reasons = []
    if rec.get("error"):
        reasons.append("fout bij uitvoeren")
    if m.get("expected") == "answer":
        if m.get("abstained"):
            reasons.append("onterecht geweigerd")
        if m.get("missing_facts"):
            reasons.append("ontbrekend: " + "; ".join(str(g[0]) for g in m["missing_facts"] if g))
    else:
        if not m.get("abstained"):
            reasons.append("niet geweigerd")
        if m.get("figure_in_abstention"):
            reasons.append("noemt een bedrag of getal")
    return ", ".join(reasons) or "onjuist"


def _failing_items(report: Path, retrieval_only: bool) -> None:
    path = report / "answers.jsonl"
    if not path.is_file():
        return
    rows = []
    try:
        for line in path.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            rec = json.loads(line)
            if rec.get("pipeline", "ours") != "ours":
                continue
            reason = _failure_reason(rec, retrieval_only)
            if reason:
                rows.append({
                    "id": rec.get("id"),
                    "soort": KIND_LABELS.get(rec.get("kind", ""), rec.get("kind", "")),
                    "vraag": rec.get("question", ""),
                    "probleem": reason,
                })
    except (OSError, ValueError):
        log.warning("unreadable answers in %s", report, exc_info=True)
        return
    st.markdown(f"**Onjuiste items van de NPO-assistent** ({len(rows)})")
    if rows:
        st.dataframe(
            rows,
            hide_index=True,
            width="stretch",
            column_config={"id": st.column_config.TextColumn(width="small"),
                           "soort": st.column_config.TextColumn(width="small"),
                           "vraag": st.column_config.TextColumn(width="large")},
        )
    else:
        st.caption("Geen: alle items zijn goed beoordeeld.")


def _history(reports: list[Path]) -> None:
    points = []
    for report in reports:
        metrics = _load(report)
        if not metrics or "ours" not in metrics:
            continue
        config = metrics.get("config") or {}
        point = {"run": format_timestamp(config.get("started")) or report.name}
        for key in ("evidence_hit@5", "mrr", "correct"):
            value = metrics["ours"].get(key)
            if value is not None:
                point[LABELS[key]] = value
        points.append(point)
    if len(points) < 2:
        return
    import pandas as pd

    frame = pd.DataFrame(points).set_index("run")
    st.markdown("**Verloop over de runs** (NPO-assistent)")
    st.line_chart(frame, height=260)


def _run_retrieval_eval() -> None:
    cmd = [sys.executable, "-m", "evals", "run", "--retrieval-only", "--split", "all"]
    with st.spinner("De snelle zoekevaluatie loopt… Dit duurt meestal minder dan een minuut."):
        try:
            proc = subprocess.run(
                cmd, cwd=ROOT, env=os.environ.copy(), capture_output=True, text=True, timeout=RUN_TIMEOUT_S
            )
        except subprocess.TimeoutExpired:
            st.session_state[RUN_RESULT] = ("error", "De evaluatie duurde te lang en is afgebroken.")
            return
        except OSError:
            log.exception("evals could not start")
            st.session_state[RUN_RESULT] = ("error", "De evaluatie kon niet worden gestart.")
            return
    if proc.returncode != 0:
        log.error("evals failed (%s): %s", proc.returncode, proc.stderr[-4000:])
        last = next((ln.strip() for ln in reversed(proc.stderr.splitlines()) if ln.strip()), "")
        detail = f" Laatste melding: {last[:300]}" if last and "Traceback" not in last else ""
        st.session_state[RUN_RESULT] = ("error", "De evaluatie is mislukt." + detail)
    else:
        st.session_state[RUN_RESULT] = ("ok", "De zoekevaluatie is klaar; het nieuwe rapport staat hieronder.")


# --------------------------------------------------------------------------- page

st.title("Kwaliteit")
st.markdown(
    '<p class="npo-intro">Resultaten van de evaluatie met de vaste set testvragen: '
    "de NPO-assistent naast een eenvoudige (naïeve) baseline.</p>",
    unsafe_allow_html=True,
)

col_text, col_btn = st.columns([3, 1], vertical_alignment="center")
col_text.caption(
    "De snelle zoekevaluatie controleert alleen of de juiste passages worden gevonden (zonder taalmodel). "
    "De volledige evaluatie draait u met `make eval`."
)
if col_btn.button("Snelle zoekevaluatie starten", icon=":material/play_arrow:", width="stretch"):
    _run_retrieval_eval()
result = st.session_state.pop(RUN_RESULT, None)
if result:
    (st.success if result[0] == "ok" else st.error)(result[1])

reports = _reports()
latest = next((r for r in reversed(reports) if _load(r)), None)
if latest is None:
    st.info(
        "Er zijn nog geen evaluatierapporten. Start hierboven de snelle zoekevaluatie, "
        "of draai de volledige evaluatie met `make eval`.",
        icon=":material/info:",
    )
    st.stop()

metrics = _load(latest) or {}
config = metrics.get("config") or {}
mode = {"retrieval": "alleen zoeken", "chat": "chat", "draft": "concept", "extractive": "extractief"}.get(
    config.get("mode", ""), config.get("mode", "?")
)
st.subheader("Laatste rapport")
st.caption(
    f"{format_timestamp(config.get('started')) or latest.name} · {metrics.get('items', '?')} vragen "
    f"(set: {config.get('split', '?')}) · modus: {mode}"
    + (f" · duur {config['seconds']:.0f} s" if isinstance(config.get("seconds"), (int, float)) else "")
)
if not _pipelines(metrics):
    st.warning("Dit rapport bevat geen leesbare resultaten.")
else:
    left, right = st.columns([1, 1], gap="large")
    with left:
        _metrics_table(metrics)
    with right:
        _per_kind_chart(metrics)
    _failing_items(latest, bool(config.get("retrieval_only")))

images = sorted(latest.glob("*.png"))
report_md = latest / "report.md"
if images:
    with st.expander(f"Grafieken uit het rapport ({len(images)})"):
        for image in images:
            st.image(str(image), caption=image.stem.replace("_", " "))
if report_md.is_file():
    with st.expander("Volledig rapport"):
        st.markdown(report_md.read_text(encoding="utf-8"))

_history(reports)
