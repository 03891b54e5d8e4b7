"""Run the golden set through our pipeline and the naive baseline, score, report.

``run_eval`` is the one entry point used by the CLI, the CI gate and the app's
Kwaliteit page. Both pipelines see the same items in the same run, so their
numbers are comparable: same machine, same model, same moment.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from evals.golden import GoldItem, load_golden
from evals.metrics import item_row, summarize
from ingest.pipeline import index_is_stale
from settings import Settings, get_settings

REPORTS_DIR = Path(__file__).resolve().parent / "reports"
PIPELINES = ("ours", "naive")


@dataclass
class RunConfig:
    mode: str | None = None  # None: settings.default_mode
    backend: str | None = None  # None: settings.llm_backend
    split: str = "test"
    limit: int | None = None
    pipeline: str = "both"  # ours | naive | both
    kind: str | None = None
    retrieval_only: bool = False
    ids: list[str] | None = None
    golden_path: str | None = None

    def pipelines(self) -> list[str]:
        return list(PIPELINES) if self.pipeline == "both" else [self.pipeline]


# ---------------------------------------------------------------- items
def select_items(
    items: Sequence[GoldItem],
    split: str = "all",
    kind: str | None = None,
    limit: int | None = None,
    ids: Iterable[str] | None = None,
) -> list[GoldItem]:
    """Filter by split ("dev", "test", "all"), kind and ids; ``limit`` keeps a kind mix.

    With a limit the items are taken round-robin over the kinds (in golden
    order within a kind), so ``--limit 5`` is not five factual questions.
    """
    chosen = [it for it in items if split == "all" or it.split == split]
    if kind:
        chosen = [it for it in chosen if it.kind == kind]
    if ids:
        wanted = set(ids)
        chosen = [it for it in chosen if it.id in wanted]
    if limit is None or limit >= len(chosen):
        return chosen
    by_kind: dict[str, list[GoldItem]] = {}
    for it in chosen:
        by_kind.setdefault(it.kind, []).append(it)
    picked: list[GoldItem] = []
    while len(picked) < limit:
        for queue in by_kind.values():
            if queue and len(picked) < limit:
                picked.append(queue.pop(0))
    order = {it.id: i for i, it in enumerate(chosen)}
    return sorted(picked, key=lambda it: order[it.id])


def gate_items(items: Sequence[GoldItem], n: int = 10, split: str = "test") -> list[GoldItem]:
    """The CI gate's small end-to-end set: a kind mix with two abstain items and one follow-up."""
    pool = [it for it in items if it.split == split]
    abstain = [it for it in pool if it.expected == "abstain"]
    follow = [it for it in pool if it.kind == "follow_up"]
    picked: list[GoldItem] = []
    # one unanswerable and one out-of-scope (or any two abstain items)
    for kind in ("unanswerable", "out_of_scope"):
        picked += [it for it in abstain if it.kind == kind][:1]
    picked += [it for it in abstain if it not in picked][: max(0, 2 - len(picked))]
    picked += follow[:1]
    rest = [it for it in pool if it.expected == "answer" and it.kind != "follow_up"]
    picked += select_items(rest, "all", limit=max(0, n - len(picked)))
    order = {it.id: i for i, it in enumerate(items)}
    return sorted(picked, key=lambda it: order[it.id])


# ---------------------------------------------------------------- pipelines
def source_dict(source: Any, text_chars: int | None = None) -> dict[str, Any]:
    d = asdict(source) if not isinstance(source, dict) else dict(source)
    if text_chars is not None:
        d["text"] = d.get("text", "")[:text_chars]
    return d


def build_settings(backend: str | None = None, base: Settings | None = None) -> Settings:
    settings = base or get_settings()
    if backend and backend != settings.llm_backend:
        settings = settings.model_copy(update={"llm_backend": backend})
    return settings


class OursAdapter:
    name = "ours"

    def __init__(self, settings: Settings, mode: str | None, assistant: Any = None) -> None:
        if assistant is None:
            from assistant import Assistant

            assistant = Assistant(settings)
        self.assistant = assistant
        self.mode = mode or settings.default_mode
        self.model_name = ""

    def prepare(self, log: Callable[[str], None]) -> None:
        if not self.assistant.documents() or index_is_stale(self.assistant.settings):
            log("Geen actuele index gevonden: de corpus wordt eerst (bij)geïndexeerd...")
            report = self.assistant.ingest()
            log(report.summary())
        self.model_name = self.assistant.model_name

    def retrieve(self, item: GoldItem) -> list[dict[str, Any]]:
        history = [t.model_dump() for t in item.history] or None
        return [source_dict(s) for s in self.assistant.retrieve(item.question, history=history)]

    def answer(self, item: GoldItem) -> dict[str, Any]:
        history = [t.model_dump() for t in item.history] or None
        return self.assistant.ask(item.question, history=history, mode=self.mode).to_dict()


class NaiveAdapter:
    name = "naive"

    def __init__(self, settings: Settings) -> None:
        from evals.naive import NaivePipeline

        self.pipeline = NaivePipeline(settings)
        self.model_name = f"naïef: {settings.llm_backend}"

    def prepare(self, log: Callable[[str], None]) -> None:
        report = self.pipeline.ingest()
        if not report.skipped:
            log(f"Naïeve index opgebouwd: {report.chunks} fragmenten in {report.seconds:.1f} s.")

    def retrieve(self, item: GoldItem) -> list[dict[str, Any]]:
        history = [t.model_dump() for t in item.history] or None
        return [source_dict(s) for s in self.pipeline.retrieve(item.question, history=history)]

    def answer(self, item: GoldItem) -> dict[str, Any]:
        history = [t.model_dump() for t in item.history] or None
        return self.pipeline.ask(item.question, history=history).to_dict()


def make_adapter(name: str, settings: Settings, mode: str | None, assistant: Any = None) -> Any:
    return OursAdapter(settings, mode, assistant) if name == "ours" else NaiveAdapter(settings)


# ---------------------------------------------------------------- evaluation
@dataclass
class EvalResult:
    config: dict[str, Any]
    items: list[GoldItem]
    records: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # pipeline -> per item

    def rows(self, pipeline: str) -> list[dict[str, Any]]:
        return [r["metrics"] for r in self.records.get(pipeline, [])]

    def metrics(self) -> dict[str, Any]:
        out: dict[str, Any] = {name: summarize(self.rows(name)) for name in self.records}
        out["config"] = self.config
        out["items"] = len(self.items)
        return out


def evaluate(
    items: Sequence[GoldItem],
    adapters: Sequence[Any],
    retrieval_only: bool = False,
    progress: Callable[[str, GoldItem], None] | None = None,
) -> dict[str, list[dict[str, Any]]]:
    """Per pipeline, per item: retrieved sources, the answer and the metric row.

    A pipeline that raises on one item gets an error row for it (scored as
    wrong); the run goes on. With answers, retrieval is scored on the sources
    the answer showed (after a follow-up was rewritten or an English question
    searched in Dutch), which is what the user saw; without, on ``retrieve``.
    """
    records: dict[str, list[dict[str, Any]]] = {a.name: [] for a in adapters}
    for item in items:
        for adapter in adapters:
            if progress:
                progress(adapter.name, item)
            rec: dict[str, Any] = {
                "pipeline": adapter.name,
                "id": item.id,
                "kind": item.kind,
                "expected": item.expected,
                "question": item.question,
                "history": [t.model_dump() for t in item.history],
            }
            error = None
            sources: list[dict[str, Any]] | None = None
            answer: dict[str, Any] | None = None
            try:
                if retrieval_only:
                    sources = adapter.retrieve(item)
                else:
                    answer = adapter.answer(item)
                    sources = answer.get("sources")
                    if sources is None:  # a pipeline whose answers do not list their sources
                        sources = adapter.retrieve(item)
            except Exception as exc:  # noqa: BLE001 - one bad item must not stop the run
                error = f"{type(exc).__name__}: {exc}"
            rec["retrieved"] = [
                {k: s.get(k) for k in ("n", "source", "section", "score", "start", "end")}
                | {"text": (s.get("text") or "")[:600]}
                for s in (sources or [])
            ]
            if not retrieval_only:
                rec["answer"] = answer
            rec["error"] = error
            rec["metrics"] = item_row(
                item, sources if sources is not None else [], answer,
                with_answer=not retrieval_only, error=error,
            )
            records[adapter.name].append(rec)
    return records


def run_eval(
    config: RunConfig,
    settings: Settings | None = None,
    log: Callable[[str], None] = print,
    show_progress: bool = True,
    assistant: Any = None,
) -> EvalResult:
    """Load the golden set, build the pipelines, evaluate; no files are written.

    ``assistant``: an already open ``Assistant`` to evaluate (the app passes its own).
    """
    settings = build_settings(config.backend, settings if assistant is None else assistant.settings)
    items = select_items(
        load_golden(config.golden_path), config.split, config.kind, config.limit, config.ids
    )
    adapters = [make_adapter(name, settings, config.mode, assistant) for name in config.pipelines()]
    for adapter in adapters:
        adapter.prepare(log)
    cfg = {
        "mode": "retrieval" if config.retrieval_only else (config.mode or settings.default_mode),
        "backend": settings.llm_backend,
        "split": config.split,
        "kind": config.kind,
        "limit": config.limit,
        "pipelines": config.pipelines(),
        "retrieval_only": config.retrieval_only,
        "models": {a.name: a.model_name for a in adapters},
        "embedding_model": settings.embedding_model,
        "top_k": {"ours": settings.top_k, "naive": 3},
        "started": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    started = time.perf_counter()
    if show_progress:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        with Progress(
            TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
            TextColumn("{task.fields[current]}"),
        ) as bar:
            task = bar.add_task("Evaluatie", total=len(items) * len(adapters), current="")
            records = _evaluate_with_bar(items, adapters, config.retrieval_only, bar, task)
    else:
        records = evaluate(items, adapters, config.retrieval_only)
    cfg["seconds"] = round(time.perf_counter() - started, 2)
    return EvalResult(cfg, list(items), records)


def _evaluate_with_bar(items: Sequence[GoldItem], adapters: Sequence[Any], retrieval_only: bool,
                       bar: Any, task: Any) -> dict[str, list[dict[str, Any]]]:
    state = {"done": 0}

    def progress(name: str, item: GoldItem) -> None:
        if state["done"]:
            bar.advance(task)
        state["done"] += 1
        bar.update(task, current=f"{name} {item.id}")

    records = evaluate(items, adapters, retrieval_only, progress)
    bar.update(task, completed=len(items) * len(adapters), current="klaar")
    return records


def run_and_report(
    config: RunConfig,
    settings: Settings | None = None,
    reports_dir: Path | None = None,
    log: Callable[[str], None] = print,
    show_progress: bool = False,
    assistant: Any = None,
) -> tuple[dict[str, Any], Path]:
    """Evaluate and write a report dir; returns (metrics, report dir). Used by the app."""
    from evals.report import write_report

    result = run_eval(config, settings, log, show_progress, assistant)
    metrics = result.metrics()
    out = write_report(new_report_dir(reports_dir), metrics, result.records, result.items)
    return metrics, out


def latest_report(reports_dir: Path | None = None, retrieval_only: bool | None = None) -> Path | None:
    """The newest evaluation report dir (optionally only retrieval-only or only full runs)."""
    root = Path(reports_dir) if reports_dir else REPORTS_DIR
    if not root.is_dir():
        return None
    runs = (p for p in root.iterdir() if p.name[:1].isdigit() and (p / "metrics.json").is_file())
    for path in sorted(runs, reverse=True):
        if retrieval_only is None:
            return path
        try:
            cfg = json.loads((path / "metrics.json").read_text(encoding="utf-8")).get("config", {})
        except (OSError, json.JSONDecodeError):
            continue
        if bool(cfg.get("retrieval_only")) == retrieval_only:
            return path
    return None


def new_report_dir(base: Path | None = None, prefix: str = "") -> Path:
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    root = Path(base) if base else REPORTS_DIR
    path = root / f"{prefix}{stamp}"
    n = 1
    while path.exists():
        n += 1
        path = root / f"{prefix}{stamp}-{n}"
    path.mkdir(parents=True)
    return path


def load_metrics(path: str | Path) -> tuple[dict[str, Any], Path]:
    """metrics.json from a report dir or a metrics.json path; returns (metrics, report dir)."""
    p = Path(path)
    if p.is_dir():
        p = p / "metrics.json"
    return json.loads(p.read_text(encoding="utf-8")), p.parent


def load_answers(report_dir: Path) -> list[dict[str, Any]]:
    path = report_dir / "answers.jsonl"
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


# ---------------------------------------------------------------- scoring external predictions
def read_predictions(path: Path) -> list[dict[str, Any]]:
    rows = []
    for lineno, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path}:{lineno}: geen geldige JSON-regel ({exc.msg})") from exc
    return rows


def prediction_answer(row: dict[str, Any]) -> dict[str, Any] | None:
    """A batch output row {id, question, answer, abstained, citations, timings} as an answer dict."""
    if row.get("error") and not row.get("answer"):
        return None
    return {
        "text": row.get("answer") or "",
        "abstained": bool(row.get("abstained")),
        "citations": [c for c in row.get("citations") or [] if isinstance(c, dict) and "n" in c],
        "sources": row.get("sources") or [],
        "timings": row.get("timings") or {},
    }


def score_predictions(
    predictions: Sequence[dict[str, Any]],
    items: Sequence[GoldItem],
    name: str = "predictions",
) -> tuple[dict[str, Any], dict[str, list[dict[str, Any]]], list[GoldItem], dict[str, Any]]:
    """Score prediction rows against golden items by id.

    Returns (metrics, records, scored items, info) where info lists golden ids
    without a prediction ("missing") and prediction ids not in the set ("unknown").
    Retrieval metrics are computed only when rows carry "sources" with text.
    """
    by_id = {str(r.get("id")): r for r in predictions}
    gold_ids = {it.id for it in items}
    scored = [it for it in items if it.id in by_id]
    records = []
    for item in scored:
        row = by_id[item.id]
        answer = prediction_answer(row)
        sources = row.get("sources") if row.get("sources") and all("text" in s for s in row["sources"]) else None
        records.append({
            "pipeline": name, "id": item.id, "kind": item.kind, "expected": item.expected,
            "question": item.question, "history": [t.model_dump() for t in item.history],
            "answer": answer, "error": row.get("error"),
            "metrics": item_row(item, sources, answer, error=row.get("error")),
        })
    metrics = {name: summarize([r["metrics"] for r in records])}
    info = {
        "missing": sorted(gold_ids - set(by_id)),
        "unknown": sorted(set(by_id) - gold_ids),
    }
    return metrics, {name: records}, scored, info
