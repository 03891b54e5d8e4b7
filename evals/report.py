"""Write and print evaluation reports: metrics.json, answers.jsonl, report.md, report.html, charts.

Report texts are Dutch (they are read by the municipal staff who maintain the
assistant and shown on the app's Kwaliteit page); metric keys stay as in
``evals.metrics``.
"""

from __future__ import annotations

import base64
import html
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

# (key, Dutch label, format, higher is better)
RETRIEVAL_METRICS = [
    ("evidence_hit@1", "Bewijs op plaats 1 (hit@1)", "pct", True),
    ("evidence_hit@3", "Bewijs in top-3 (hit@3)", "pct", True),
    ("evidence_hit@5", "Bewijs in top-5 (hit@5)", "pct", True),
    ("doc_hit@1", "Juist document op plaats 1", "pct", True),
    ("doc_hit@5", "Juist document in top-5", "pct", True),
    ("mrr", "MRR (bewijs)", "num", True),
    ("ndcg@10", "nDCG@10", "num", True),
]
ANSWER_METRICS = [
    ("correct", "Correct (totaal)", "pct", True),
    ("fact_correct", "Alle kernfeiten genoemd", "pct", True),
    ("citation_valid", "Bronverwijzingen geldig", "pct", True),
    ("citation_resolved", "  · [n] verwijst naar getoonde bron", "pct", True),
    ("citation_gold", "  · verwijst naar juist document", "pct", True),
    ("groundedness", "Onderbouwde zinnen", "pct", True),
    ("abstain_accuracy", "Terecht geweigerd", "pct", True),
    ("false_abstain_rate", "Onterecht geweigerd", "pct", False),
    ("errors", "Fouten (uitzonderingen)", "int", False),
]
LATENCY_METRICS = [
    (f"latency_{k}_{p}", f"Tijd tot {label} {p}", "sec", False)
    for k, label in (("sources", "bronnen"), ("first_token", "eerste woord"), ("total", "volledig antwoord"))
    for p in ("p50", "p95")
]
ALL_METRICS = RETRIEVAL_METRICS + ANSWER_METRICS + LATENCY_METRICS
PIPELINE_LABEL = {"ours": "NPO-assistent", "naive": "Naïeve RAG"}


def fmt(value: Any, kind: str = "num") -> str:
    if value is None:
        return "–"
    if kind == "pct":
        return f"{100 * float(value):.1f}%"
    if kind == "sec":
        return f"{float(value):.2f} s"
    if kind == "int":
        return str(int(value))
    return f"{float(value):.3f}"


def fmt_delta(a: Any, b: Any, kind: str) -> str:
    if a is None or b is None:
        return "–"
    d = float(a) - float(b)
    if kind == "pct":
        return f"{100 * d:+.1f} pp"
    if kind == "sec":
        return f"{d:+.2f} s"
    if kind == "int":
        return f"{int(d):+d}"
    return f"{d:+.3f}"


def pipelines_of(metrics: dict[str, Any]) -> list[str]:
    return [k for k in metrics if isinstance(metrics[k], dict) and "n" in metrics[k]]


def metric_rows(metrics: dict[str, Any]) -> list[tuple[str, str, list[str]]]:
    """(key, label, [formatted per pipeline] (+ delta ours-naive)) for metrics that have a value."""
    names = pipelines_of(metrics)
    out = []
    for key, label, kind, _ in ALL_METRICS:
        values = [metrics[n].get(key) for n in names]
        if all(v is None for v in values):
            continue
        cells = [fmt(v, kind) for v in values]
        if len(names) == 2:
            cells.append(fmt_delta(values[0], values[1], kind))
        out.append((key, label, cells))
    return out


def headers(metrics: dict[str, Any]) -> list[str]:
    names = pipelines_of(metrics)
    cols = [PIPELINE_LABEL.get(n, n) for n in names]
    if len(names) == 2:
        cols.append(f"Δ {names[0]}−{names[1]}")
    return cols


# ---------------------------------------------------------------- console
def print_summary(metrics: dict[str, Any], title: str = "Resultaat") -> None:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    table = Table(title=escape(f"{title} — {metrics.get('items', '?')} vragen"), show_lines=False)
    table.add_column("Maat", no_wrap=True)
    for h in headers(metrics):
        table.add_column(h, justify="right", no_wrap=True)
    for _, label, cells in metric_rows(metrics):
        table.add_row(escape(label), *cells)
    Console().print(table)


# ---------------------------------------------------------------- failing items
def _expected_text(item: Any) -> str:
    if item.expected == "abstain":
        return "weigeren (staat niet in de bronnen / buiten het onderwerp)"
    return "; ".join(" of ".join(repr(a) for a in group[:3]) for group in item.key_facts)


def failures(records: Sequence[dict[str, Any]], items_by_id: dict[str, Any], retrieval_only: bool) -> list[dict[str, Any]]:
    """Items a pipeline got wrong, with why."""
    out = []
    for rec in records:
        m = rec["metrics"]
        item = items_by_id.get(rec["id"])
        if retrieval_only:
            if m.get("expected") != "answer" or m.get("evidence_hit@5"):
                continue
            got = " | ".join(f"[{s['n']}] {s['source']}" for s in rec.get("retrieved", [])) or "(niets gevonden)"
            why = "geen bewijs in top-5"
        else:
            if m.get("correct"):
                continue
            ans = rec.get("answer") or {}
            got = (ans.get("text") or "").strip() or "(leeg)"
            reasons = []
            if rec.get("error"):
                reasons.append(f"fout: {rec['error']}")
            if m.get("expected") == "answer":
                if m.get("abstained"):
                    reasons.append("onterecht geweigerd")
                if m.get("missing_facts"):
                    reasons.append("ontbrekend: " + "; ".join(g[0] for g in m["missing_facts"]))
            else:
                if not m.get("abstained"):
                    reasons.append("niet geweigerd")
                if m.get("figure_in_abstention"):
                    reasons.append("noemt een bedrag/getal")
            why = ", ".join(reasons)
        out.append({
            "pipeline": rec["pipeline"], "id": rec["id"], "kind": rec["kind"], "question": rec["question"],
            "expected": _expected_text(item) if item else "", "got": got, "why": why,
        })
    return out


# ---------------------------------------------------------------- charts
def _per_kind_key(metrics: dict[str, Any]) -> tuple[str, str]:
    cfg = metrics.get("config", {})
    if cfg.get("retrieval_only") or all(metrics[n].get("correct") is None for n in pipelines_of(metrics)):
        return "evidence_hit@5", "Bewijs in top-5 per soort vraag"
    return "correct", "Correct per soort vraag"


def make_charts(metrics: dict[str, Any], out_dir: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = pipelines_of(metrics)
    colors = {"ours": "#1f6f8b", "naive": "#c0c0c0"}
    paths: list[Path] = []
    key, title = _per_kind_key(metrics)
    kinds = sorted({k for n in names for k in metrics[n].get("per_kind", {})})
    kinds = [k for k in kinds if any(metrics[n]["per_kind"].get(k, {}).get(key) is not None for n in names)]
    if kinds:
        fig, ax = plt.subplots(figsize=(8, 3.6), dpi=110)
        width = 0.8 / max(1, len(names))
        for i, n in enumerate(names):
            vals = [100 * (metrics[n]["per_kind"].get(k, {}).get(key) or 0) for k in kinds]
            xs = [x + i * width for x in range(len(kinds))]
            bars = ax.bar(xs, vals, width, label=PIPELINE_LABEL.get(n, n), color=colors.get(n))
            ax.bar_label(bars, fmt="%.0f", fontsize=7)
        ax.set_xticks([x + width * (len(names) - 1) / 2 for x in range(len(kinds))], kinds, rotation=20)
        ax.set_ylim(0, 110)
        ax.set_ylabel("%")
        ax.set_title(title)
        ax.legend()
        fig.tight_layout()
        path = out_dir / "per_kind.png"
        fig.savefig(path)
        plt.close(fig)
        paths.append(path)
    lat = [(k, lbl) for k, lbl in (("sources", "bronnen"), ("first_token", "eerste woord"), ("total", "totaal"))]
    if any(metrics[n].get(f"latency_{k}_p50") is not None for n in names for k, _ in lat):
        fig, ax = plt.subplots(figsize=(8, 3.6), dpi=110)
        width = 0.8 / max(1, len(names))
        for i, n in enumerate(names):
            p50 = [metrics[n].get(f"latency_{k}_p50") or 0 for k, _ in lat]
            p95 = [metrics[n].get(f"latency_{k}_p95") or 0 for k, _ in lat]
            xs = [x + i * width for x in range(len(lat))]
            ax.bar(xs, p95, width, color=colors.get(n), alpha=0.35)
            ax.bar(xs, p50, width, color=colors.get(n), label=f"{PIPELINE_LABEL.get(n, n)} (p50; licht: p95)")
        ax.set_xticks([x + width * (len(names) - 1) / 2 for x in range(len(lat))], [lbl for _, lbl in lat])
        ax.set_ylabel("seconden")
        ax.set_title("Wachttijd")
        ax.legend()
        fig.tight_layout()
        path = out_dir / "latency.png"
        fig.savefig(path)
        plt.close(fig)
        paths.append(path)
    return paths


# ---------------------------------------------------------------- markdown / html
def _kind_columns(metrics: dict[str, Any]) -> list[tuple[str, str, str]]:
    cfg = metrics.get("config", {})
    names = pipelines_of(metrics)
    if cfg.get("retrieval_only") or all(metrics[n].get("correct") is None for n in names):
        return [("evidence_hit@1", "hit@1", "pct"), ("evidence_hit@5", "hit@5", "pct"), ("mrr", "MRR", "num")]
    return [("correct", "correct", "pct"), ("evidence_hit@5", "hit@5", "pct"), ("citation_valid", "citaties", "pct")]


def kind_table(metrics: dict[str, Any]) -> tuple[list[str], list[list[str]]]:
    names = pipelines_of(metrics)
    cols = _kind_columns(metrics)
    head = ["Soort", "n (met antwoord)"] + [f"{lbl} {PIPELINE_LABEL.get(n, n)}" for _, lbl, _ in cols for n in names]
    kinds = sorted({k for n in names for k in metrics[n].get("per_kind", {})})
    rows = []
    for kind in kinds:
        first = metrics[names[0]]["per_kind"].get(kind, {})
        row = [kind, f"{first.get('n', '')} ({first.get('n_answer', '')})"]
        for key, _, f in cols:
            for n in names:
                row.append(fmt(metrics[n]["per_kind"].get(kind, {}).get(key), f))
        rows.append(row)
    return head, rows


def _md_table(head: list[str], rows: list[list[str]]) -> str:
    esc = lambda s: str(s).replace("|", "\\|").replace("\n", " ")  # noqa: E731
    lines = ["| " + " | ".join(esc(h) for h in head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(esc(c) for c in r) + " |" for r in rows]
    return "\n".join(lines)


def _intro(metrics: dict[str, Any]) -> list[str]:
    cfg = metrics.get("config", {})
    models = cfg.get("models", {})
    return [
        f"- Vragen: {metrics.get('items')} (split: {cfg.get('split')}, soort: {cfg.get('kind') or 'alle'})",
        f"- Modus: {cfg.get('mode')}; LLM-backend: {cfg.get('backend')}",
        "- Modellen: " + ", ".join(f"{PIPELINE_LABEL.get(k, k)}: {v}" for k, v in models.items()),
        f"- Gestart: {cfg.get('started')} (UTC); duur: {cfg.get('seconds')} s",
    ]


NOTES = (
    "Retrievalmaten tellen alleen vragen met een antwoord. *Bewijs* = een gevonden passage bevat een "
    "gouden citaat (na normalisatie), of minstens 60% van de woorden ervan aaneengesloten (citaat over "
    "twee fragmenten). De naïeve RAG geeft 3 passages, de NPO-assistent top_k. *Correct* = alle kernfeiten "
    "genoemd en niet geweigerd; bij weigervragen: geweigerd zonder bedrag of getal."
)


def render_markdown(metrics: dict[str, Any], fails: list[dict[str, Any]], title: str) -> str:
    parts = [f"# {title}", "", *_intro(metrics), ""]
    parts += ["## Samenvatting", "", _md_table(["Maat", *headers(metrics)],
                                               [[lbl, *cells] for _, lbl, cells in metric_rows(metrics)]), ""]
    head, rows = kind_table(metrics)
    parts += ["## Per soort vraag", "", _md_table(head, rows), "", NOTES, ""]
    parts += [f"## Fout beantwoorde vragen ({len(fails)})", ""]
    if fails:
        parts.append(_md_table(
            ["Pipeline", "Id", "Soort", "Vraag", "Verwacht", "Gekregen", "Waarom"],
            [[PIPELINE_LABEL.get(f["pipeline"], f["pipeline"]), f["id"], f["kind"], f["question"],
              f["expected"], f["got"][:300], f["why"]] for f in fails],
        ))
    else:
        parts.append("Geen.")
    return "\n".join(parts) + "\n"


CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem auto;max-width:1100px;color:#1b1b1b;padding:0 1rem}
h1{font-size:1.6rem}h2{font-size:1.2rem;margin-top:2rem;border-bottom:1px solid #ddd}
table{border-collapse:collapse;width:100%;font-size:.9rem;margin:.5rem 0}
th,td{border:1px solid #ddd;padding:.3rem .5rem;text-align:left;vertical-align:top}
td.num{text-align:right;font-variant-numeric:tabular-nums}th{background:#f3f6f8}
img{max-width:100%;margin:.5rem 0}.note{color:#555;font-size:.85rem}
"""


def _html_table(head: list[str], rows: list[list[str]], numeric_from: int = 1) -> str:
    th = "".join(f"<th>{html.escape(h)}</th>" for h in head)
    body = []
    for r in rows:
        tds = "".join(
            f"<td class='num'>{html.escape(str(c))}</td>" if i >= numeric_from else f"<td>{html.escape(str(c))}</td>"
            for i, c in enumerate(r)
        )
        body.append(f"<tr>{tds}</tr>")
    return f"<table><thead><tr>{th}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def render_html(metrics: dict[str, Any], fails: list[dict[str, Any]], title: str, charts: list[Path]) -> str:
    intro = "".join(f"<li>{html.escape(line[2:])}</li>" for line in _intro(metrics))
    summary = _html_table(["Maat", *headers(metrics)], [[lbl, *cells] for _, lbl, cells in metric_rows(metrics)])
    head, rows = kind_table(metrics)
    imgs = "".join(
        f"<img alt='{html.escape(p.stem)}' src='data:image/png;base64,{base64.b64encode(p.read_bytes()).decode()}'>"
        for p in charts
    )
    fail_html = _html_table(
        ["Pipeline", "Id", "Soort", "Vraag", "Verwacht", "Gekregen", "Waarom"],
        [[PIPELINE_LABEL.get(f["pipeline"], f["pipeline"]), f["id"], f["kind"], f["question"], f["expected"],
          f["got"][:500], f["why"]] for f in fails],
        numeric_from=99,
    ) if fails else "<p>Geen.</p>"
    return (
        f"<!doctype html><html lang='nl'><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        f"<style>{CSS}</style></head><body><h1>{html.escape(title)}</h1><ul>{intro}</ul>"
        f"<h2>Samenvatting</h2>{summary}{imgs}<h2>Per soort vraag</h2>{_html_table(head, rows, 1)}"
        f"<p class='note'>{html.escape(NOTES.replace('*', ''))}</p>"
        f"<h2>Fout beantwoorde vragen ({len(fails)})</h2>{fail_html}</body></html>"
    )


def write_report(
    out_dir: Path,
    metrics: dict[str, Any],
    records: dict[str, list[dict[str, Any]]],
    items: Sequence[Any],
    title: str = "Evaluatie NPO-assistent",
) -> Path:
    """metrics.json, answers.jsonl, report.md, report.html and the PNG charts into ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "metrics.json").write_text(json.dumps(metrics, ensure_ascii=False, indent=2), encoding="utf-8")
    with (out_dir / "answers.jsonl").open("w", encoding="utf-8") as fh:
        for name, recs in records.items():
            for rec in recs:
                fh.write(json.dumps(rec, ensure_ascii=False, default=str) + "\n")
    by_id = {it.id: it for it in items}
    retrieval_only = bool(metrics.get("config", {}).get("retrieval_only"))
    fails = [f for recs in records.values() for f in failures(recs, by_id, retrieval_only)]
    (out_dir / "report.md").write_text(render_markdown(metrics, fails, title), encoding="utf-8")
    try:
        charts = make_charts(metrics, out_dir)
    except Exception:  # noqa: BLE001 - a chart must never cost the report
        charts = []
    (out_dir / "report.html").write_text(render_html(metrics, fails, title, charts), encoding="utf-8")
    return out_dir


# ---------------------------------------------------------------- compare
def compare(a: dict[str, Any], b: dict[str, Any], answers_a: list[dict[str, Any]], answers_b: list[dict[str, Any]]
            ) -> dict[str, Any]:
    """Metric deltas (B − A) per common pipeline and the items that got better/worse."""
    pa, pb = pipelines_of(a), pipelines_of(b)
    common = [p for p in pa if p in pb]
    pairs = [(p, p) for p in common] or ([(pa[0], pb[0])] if len(pa) == 1 and len(pb) == 1 else [])
    out: dict[str, Any] = {"pairs": []}
    for x, y in pairs:
        rows = []
        for key, label, kind, higher in ALL_METRICS:
            va, vb = a[x].get(key), b[y].get(key)
            if va is None and vb is None:
                continue
            rows.append({"key": key, "label": label, "a": fmt(va, kind), "b": fmt(vb, kind),
                         "delta": fmt_delta(vb, va, kind),
                         "better": None if va is None or vb is None or va == vb else ((vb > va) == higher)})
        better, worse = _item_changes(answers_a, answers_b, x, y)
        out["pairs"].append({"a": x, "b": y, "rows": rows, "better": better, "worse": worse,
                             "n_a": a[x].get("n"), "n_b": b[y].get("n")})
    return out


def _item_ok(rec: dict[str, Any], key: str) -> bool | None:
    value = rec.get("metrics", {}).get(key)
    return None if value is None else bool(value)


def _item_changes(answers_a: list[dict[str, Any]], answers_b: list[dict[str, Any]], x: str, y: str
                  ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Items whose per-item correctness changed (evidence hit@5 when either run was retrieval-only)."""
    ra = {r["id"]: r for r in answers_a if r.get("pipeline") == x}
    rb = {r["id"]: r for r in answers_b if r.get("pipeline") == y}
    common = sorted(set(ra) & set(rb))
    has_correct = all("correct" in r.get("metrics", {}) for r in [*ra.values(), *rb.values()])
    key = "correct" if has_correct else "evidence_hit@5"
    better, worse = [], []
    for id_ in common:
        oa, ob = _item_ok(ra[id_], key), _item_ok(rb[id_], key)
        if oa is None or ob is None or oa == ob:
            continue
        entry = {"id": id_, "kind": rb[id_].get("kind"), "question": rb[id_].get("question"), "by": key}
        (better if ob else worse).append(entry)
    return better, worse


def print_compare(result: dict[str, Any], name_a: str, name_b: str) -> None:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    console = Console()
    if not result["pairs"]:
        console.print("Geen gemeenschappelijke pipeline om te vergelijken.")
    for pair in result["pairs"]:
        table = Table(title=f"{pair['a']} ({name_a}) → {pair['b']} ({name_b})")
        for col in ("Maat", "A", "B", "Verschil"):
            table.add_column(col, justify="left" if col == "Maat" else "right", no_wrap=True)
        for r in pair["rows"]:
            style = "green" if r["better"] else ("red" if r["better"] is False else "")
            table.add_row(escape(r["label"]), r["a"], r["b"], f"[{style}]{r['delta']}[/{style}]" if style else r["delta"])
        console.print(table)
        if pair.get("n_a") != pair.get("n_b"):
            console.print(f"[yellow]Let op: A telt {pair.get('n_a')} vragen, B {pair.get('n_b')}; "
                          "de maten gaan over verschillende vragen.[/yellow]")
        for title, entries in (("Beter", pair["better"]), ("Slechter", pair["worse"])):
            by = entries[0]["by"] if entries else ""
            console.print(f"[bold]{title} ({len(entries)})[/bold]" + (f" — volgens {by}" if by else ""))
            for e in entries:
                console.print(escape(f"  {e['id']} [{e['kind']}] {e['question']}"))
