"""Benchmark: our pipeline beside the naive baseline, measured in the same run.

What is measured (``python -m evals bench``):

* ingest throughput, cold (fresh data dir; chunks/s) and warm (unchanged
  re-run; seconds). Ours re-embeds nothing on an unchanged corpus; the naive
  afternoon script has no incremental indexing and rebuilds everything, so its
  warm run is a full rebuild (measured at scale 1, equal to cold beyond that);
* retrieval latency p50/p95 at 1x, 100x, 1000x the corpus. The larger corpora
  are generated from the real documents: per copy the municipality, numbers,
  years and months are varied and the sentences inside each paragraph are
  shuffled, so no two texts are equal (written as .txt into a temp corpus);
* LLM speed: prompt tokens/s, generation tokens/s and time to first token for
  our prompt and the naive prompt on the same questions (all of ours first,
  then all naive ones, so each side gets llama.cpp's prefix cache as it would
  in production). Token counts come from the model's tokenizer (llama.cpp)
  plus ~5 tokens per message for the chat template;
* peak memory (``resource.getrusage`` maxrss) of each measurement.

Every measurement runs in its own child process, so peak memory, caches and
model loads of one side never leak into the other. Larger scales are skipped
(and reported as skipped) when the measured ingest throughput predicts they
would not fit in ``budget_min``.
"""

from __future__ import annotations

import json
import os
import random
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from evals.metrics import percentile

RESULT_PREFIX = "BENCH_RESULT "
WARMUP_QUESTION = "Wat is het Nationaal Programma Onderwijs?"  # not a measured question
ROOT = Path(__file__).resolve().parent.parent

GEMEENTEN = [
    "Amersfoort", "Almelo", "Alphen aan den Rijn", "Apeldoorn", "Assen", "Bergen op Zoom", "Breda", "Delft",
    "Deventer", "Doetinchem", "Dordrecht", "Ede", "Eindhoven", "Emmen", "Enschede", "Goes", "Gouda",
    "Groningen", "Haarlem", "Harderwijk", "Heerenveen", "Heerlen", "Helmond", "Hengelo", "Hoorn",
    "Leeuwarden", "Leiden", "Lelystad", "Maastricht", "Meppel", "Middelburg", "Nijmegen", "Oss", "Roermond",
    "Roosendaal", "Schiedam", "Sittard-Geleen", "Sneek", "Terneuzen", "Tiel", "Tilburg", "Utrecht", "Veenendaal",
    "Venlo", "Vlaardingen", "Vlissingen", "Waalwijk", "Weert", "Zaanstad", "Zeist", "Zoetermeer", "Zutphen",
    "Zwolle", "Kampen", "Hardenberg", "Steenwijkerland", "Súdwest-Fryslân", "Westland", "Katwijk", "Barneveld",
]
MONTHS = ["januari", "februari", "maart", "april", "mei", "juni", "juli", "augustus", "september", "oktober",
          "november", "december"]


# ---------------------------------------------------------------- scaled corpora
def _vary_number(m: re.Match[str], rng: random.Random, year_shift: int) -> str:
    raw = m.group(0)
    if re.fullmatch(r"(19|20)\d\d", raw):
        return str(int(raw) + year_shift)
    if "," in raw or "." in raw:
        whole, _, frac = raw.replace(".", ",").partition(",")
        value = float(f"{whole}.{frac}") if whole.isdigit() and frac.isdigit() else None
        if value is None:
            return raw
        value *= rng.uniform(0.5, 1.6)
        return f"{value:.{max(1, len(frac))}f}".replace(".", ",")
    if len(raw) > 6:  # reference numbers and the like stay as digits of the same length
        return "".join(rng.choice("0123456789") for _ in raw)
    return str(max(1, round(int(raw) * rng.uniform(0.5, 1.6))))


def make_variant(text: str, index: int, seed: int = 7) -> str:
    """A realistic, different version of one document for copy ``index``."""
    rng = random.Random(f"{seed}-{index}-{len(text)}")
    name = GEMEENTEN[index % len(GEMEENTEN)]
    shift = rng.randrange(1, 12)
    year_shift = rng.choice((-3, -2, -1, 1, 2, 3))
    text = re.sub(r"\d+(?:[.,]\d+)?", lambda m: _vary_number(m, rng, year_shift), text)
    text = re.sub(
        r"\b(" + "|".join(MONTHS) + r")\b",
        lambda m: MONTHS[(MONTHS.index(m.group(1)) + shift) % 12],
        text,
    )
    text = re.sub(r"\b(de|uw|onze|als) gemeente\b", lambda m: f"{m.group(1)} gemeente {name}", text)
    paragraphs = []
    for para in text.split("\n\n"):
        sentences = re.split(r"(?<=[.!?])\s+(?=[A-Z])", para)
        if len(sentences) > 2:
            rng.shuffle(sentences)
        paragraphs.append(" ".join(sentences))
    lines = paragraphs[0].split("\n", 1)
    paragraphs[0] = f"{lines[0]} — gemeente {name} (versie {index})" + (f"\n{lines[1]}" if len(lines) > 1 else "")
    return "\n\n".join(paragraphs)


def build_scaled_corpus(source_dir: Path, target_dir: Path, scale: int) -> list[Path]:
    """``scale`` copies of every document: the originals plus ``scale - 1`` variants of each."""
    target_dir.mkdir(parents=True, exist_ok=True)
    files = sorted(p for p in source_dir.glob("*.txt"))
    manifest = source_dir / "manifest.json"
    if manifest.is_file():
        shutil.copyfile(manifest, target_dir / "manifest.json")
    out = []
    for path in files:
        text = path.read_text(encoding="utf-8")
        shutil.copyfile(path, target_dir / path.name)
        out.append(target_dir / path.name)
        for i in range(1, scale):
            variant = target_dir / f"{path.stem}_v{i:04d}.txt"
            variant.write_text(make_variant(text, i), encoding="utf-8")
            out.append(variant)
    return out


# ---------------------------------------------------------------- child side
def _maxrss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _settings(overrides: dict[str, Any]) -> Any:
    from settings import Settings

    return Settings(**overrides)


class LLMRecorder:
    """Times every streamed call of a chat model class (start, first token, end, text)."""

    def __init__(self, model: Any) -> None:
        self.model = model
        self.cls = type(model)
        self.calls: list[dict[str, Any]] = []
        self._orig: Any = None
        self._local = threading.local()

    def __enter__(self) -> LLMRecorder:
        self._orig = self.cls._stream
        recorder = self

        def _stream(model_self: Any, messages: Any, stop: Any = None, run_manager: Any = None, **kw: Any) -> Any:
            call = {"start": time.perf_counter(), "first": None, "end": None, "text": "",
                    "prompt": "\n".join(str(m.content) for m in messages), "messages": len(messages)}
            for chunk in recorder._orig(model_self, messages, stop, run_manager, **kw):
                if call["first"] is None and chunk.text:
                    call["first"] = time.perf_counter()
                call["text"] += chunk.text
                yield chunk
            call["end"] = time.perf_counter()
            recorder.calls.append(call)

        self.cls._stream = _stream
        return self

    def __exit__(self, *exc: Any) -> None:
        self.cls._stream = self._orig

    def count(self, text: str) -> int:
        counter = getattr(self.model, "count_tokens", None)
        if counter:
            try:
                return int(counter(text))
            except Exception:  # noqa: BLE001
                pass
        return max(1, len(text) // 4)

    def stats(self, call: dict[str, Any], previous_prompt: str | None = None) -> dict[str, Any]:
        """Token counts and speeds of one call.

        llama.cpp keeps the previous sequence in its KV cache and only evaluates
        the prompt after the longest common prefix, so besides all prompt tokens
        the tokens after the common prefix with the previous prompt are counted
        ("new") and ``prompt_eval_tps`` is computed over those.
        """
        prompt_tokens = self.count(call["prompt"]) + 5 * call["messages"]
        cached = 0
        if previous_prompt:
            common = os.path.commonprefix([previous_prompt, call["prompt"]])
            cached = self.count(common) if common else 0
        new_tokens = max(1, prompt_tokens - cached)
        gen_tokens = self.count(call["text"]) if call["text"] else 0
        ttft = (call["first"] or call["end"]) - call["start"]
        gen_s = call["end"] - (call["first"] or call["end"])
        return {
            "prompt_tokens": prompt_tokens,
            "prompt_new_tokens": new_tokens,
            "gen_tokens": gen_tokens,
            "ttft_s": ttft,
            "gen_s": gen_s,
            "prompt_tps": prompt_tokens / ttft if ttft > 0 else None,
            "prompt_eval_tps": new_tokens / ttft if ttft > 0 else None,
            "gen_tps": (gen_tokens - 1) / gen_s if gen_s > 0 and gen_tokens > 1 else None,
        }


def _child_ingest(spec: dict[str, Any]) -> dict[str, Any]:
    settings = _settings(spec["settings"])
    t0 = time.perf_counter()
    if spec["pipeline"] == "ours":
        from assistant import Assistant

        a = Assistant(settings)
        startup = time.perf_counter() - t0
        report = a.ingest()
        return {"seconds": report.seconds, "chunks": report.chunks_total, "embedded": report.chunks_embedded,
                "failed": len(report.failed), "startup_s": startup, "maxrss_mb": _maxrss_mb()}
    from evals.naive import NaivePipeline

    p = NaivePipeline(settings)
    startup = time.perf_counter() - t0
    report = p.ingest(force=True)
    return {"seconds": report.seconds, "chunks": report.chunks, "embedded": report.chunks, "failed": 0,
            "startup_s": startup, "maxrss_mb": _maxrss_mb()}


def _child_retrieve(spec: dict[str, Any]) -> dict[str, Any]:
    settings = _settings(spec["settings"])
    t0 = time.perf_counter()
    if spec["pipeline"] == "ours":
        from assistant import Assistant

        retrieve = Assistant(settings).retrieve
    else:
        from evals.naive import NaivePipeline

        retrieve = NaivePipeline(settings).retrieve
    questions = spec["questions"]
    retrieve(WARMUP_QUESTION)  # open the index, warm the embedder
    startup = time.perf_counter() - t0
    latencies = []
    for q in questions:
        s = time.perf_counter()
        retrieve(q)
        latencies.append(time.perf_counter() - s)
    return {"latencies": latencies, "startup_s": startup, "maxrss_mb": _maxrss_mb()}


def _child_llm(spec: dict[str, Any]) -> dict[str, Any]:
    from assistant.llm import get_chat_model

    settings = _settings(spec["settings"])
    t0 = time.perf_counter()
    if spec["pipeline"] == "ours":
        from assistant import Assistant

        a = Assistant(settings)
        ask = lambda q, history=None: a.ask(q, history=history, mode="chat")  # noqa: E731
    else:
        from evals.naive import NaivePipeline

        p = NaivePipeline(settings)
        ask = p.ask
    model = get_chat_model(settings)
    questions = spec["questions"]
    per_question = []
    with LLMRecorder(model) as rec:
        ask(WARMUP_QUESTION)  # load the model and prime the prompt cache, as a running app has
        startup = time.perf_counter() - t0
        for q in questions:
            before = len(rec.calls)
            # a follow-up comes as {"question", "history"} (ours only: the naive pipeline has no history)
            answer = ask(q["question"], q["history"]) if isinstance(q, dict) else ask(q)
            q = q["question"] if isinstance(q, dict) else q
            calls = [rec.stats(c, rec.calls[i - 1]["prompt"] if i else None)
                     for i, c in enumerate(rec.calls) if i >= before]
            per_question.append({
                "question": q, "calls": calls, "first_token_s": answer.timings.get("first_token"),
                "total_s": answer.timings.get("total"), "abstained": answer.abstained,
            })
    return {"questions": per_question, "startup_s": startup, "maxrss_mb": _maxrss_mb()}


def child_main(argv: Sequence[str]) -> None:
    spec = json.loads(Path(argv[0]).read_text())
    task = {"ingest": _child_ingest, "retrieve": _child_retrieve, "llm": _child_llm}[spec["task"]]
    result = task(spec)
    print(RESULT_PREFIX + json.dumps(result), flush=True)


def run_child(spec: dict[str, Any], workdir: Path, timeout: float | None = None) -> dict[str, Any]:
    """Run one measurement in a fresh Python process; its result comes back as JSON."""
    workdir.mkdir(parents=True, exist_ok=True)
    path = workdir / f"spec-{time.perf_counter_ns()}.json"
    path.write_text(json.dumps(spec, default=str))
    env = dict(os.environ)
    env.setdefault("ANONYMIZED_TELEMETRY", "False")
    env.setdefault("HF_HUB_OFFLINE", "1")
    env.setdefault("TRANSFORMERS_OFFLINE", "1")
    proc = subprocess.run(
        [sys.executable, "-m", "evals.bench", str(path)], cwd=ROOT, env=env,
        capture_output=True, text=True, timeout=timeout,
    )
    for line in reversed(proc.stdout.splitlines()):
        if line.startswith(RESULT_PREFIX):
            return json.loads(line[len(RESULT_PREFIX):])
    raise RuntimeError(
        f"meting '{spec['task']}/{spec['pipeline']}' mislukt (exitcode {proc.returncode}):\n{proc.stderr[-2000:]}"
    )


# ---------------------------------------------------------------- parent side
def _ms(values: Sequence[float], q: float) -> float | None:
    v = percentile(list(values), q)
    return None if v is None else round(1000 * v, 1)


def _ratio(a: Any, b: Any) -> float | None:
    try:
        return round(float(a) / float(b), 3) if a is not None and b not in (None, 0) else None
    except (TypeError, ValueError):
        return None


def _mean(values: Sequence[Any]) -> float | None:
    vals = [float(v) for v in values if v is not None]
    return sum(vals) / len(vals) if vals else None


def _llm_summary(result: dict[str, Any]) -> dict[str, Any]:
    """Means over questions; per question the last LLM call is the answer (earlier ones: rewrites)."""
    answer_calls = [q["calls"][-1] for q in result["questions"] if q["calls"]]
    return {
        "questions": len(result["questions"]),
        "llm_calls": sum(len(q["calls"]) for q in result["questions"]),
        "prompt_tokens": _mean([c["prompt_tokens"] for c in answer_calls]),
        "gen_tokens": _mean([c["gen_tokens"] for c in answer_calls]),
        "prompt_new_tokens": _mean([c["prompt_new_tokens"] for c in answer_calls]),
        "prompt_tps": _mean([c["prompt_tps"] for c in answer_calls]),
        "prompt_eval_tps": _mean([c["prompt_eval_tps"] for c in answer_calls]),
        "gen_tps": _mean([c["gen_tps"] for c in answer_calls]),
        "llm_ttft_s": _mean([c["ttft_s"] for c in answer_calls]),
        "answer_first_token_s": _mean([q["first_token_s"] for q in result["questions"]]),
        "answer_total_s": _mean([q["total_s"] for q in result["questions"]]),
        "startup_s": result["startup_s"],
        "maxrss_mb": result["maxrss_mb"],
    }


def bench_questions(n: int, with_history: bool = False) -> list[str]:
    from evals.golden import load_golden

    items = [it for it in load_golden() if it.expected == "answer" and (with_history or not it.history)]
    return [it.question for it in items[:n]]


def bench_conversations(n: int) -> list[dict[str, Any]]:
    """Follow-up questions with their history, each followed by a first-turn question, as a chat goes."""
    from evals.golden import load_golden

    items = load_golden()
    follow = [it for it in items if it.expected == "answer" and it.history][:n]
    first = [it.question for it in items if it.expected == "answer" and not it.history]
    out: list[dict[str, Any]] = []
    for it, plain in zip(follow, first):
        out += [{"question": it.question, "history": [t.model_dump() for t in it.history]}, {"question": plain, "history": []}]
    return out


def run_bench(
    scales: Sequence[int],
    quick: bool = False,
    n_questions: int = 5,
    llm: bool = True,
    reports_dir: Path | None = None,
    log: Callable[[str], None] = print,
    budget_min: float = 180.0,
    keep: bool = False,
) -> Path:
    """Run all measurements and write bench.json and bench.md into a new report dir."""
    from evals.runner import new_report_dir
    from settings import get_settings

    base = get_settings()
    started = time.perf_counter()
    tmp = Path(tempfile.mkdtemp(prefix="npo-bench-"))
    n_retrieval = 20 if quick else 50
    retrieval_qs = bench_questions(n_retrieval)
    result: dict[str, Any] = {
        "config": {"scales": list(scales), "quick": quick, "llm_questions": n_questions,
                   "retrieval_questions": len(retrieval_qs), "backend": base.llm_backend,
                   "embedding_model": base.embedding_model, "cpus": os.cpu_count(),
                   "started": datetime.now(timezone.utc).isoformat(timespec="seconds")},
        "ingest": {}, "retrieval": {}, "llm": {}, "skipped": {}, "notes": [],
    }
    throughput: dict[str, float] = {}
    out = new_report_dir(reports_dir, "bench-")

    def save() -> None:  # after every step, so an interrupted run still leaves its numbers
        result["config"]["seconds"] = round(time.perf_counter() - started, 1)
        result["summary"] = summarize_bench(result)
        (out / "bench.json").write_text(json.dumps(result, indent=2, ensure_ascii=False), encoding="utf-8")
        (out / "bench.md").write_text(render_bench_md(result), encoding="utf-8")

    log(f"Resultaten: {out}")
    try:
        for scale in sorted(set(scales)):
            corpus = tmp / f"corpus-{scale}"
            files = build_scaled_corpus(Path(base.corpus_dir), corpus, scale)
            est_chunks = {p: 12 * len(files) if p == "ours" else 8 * len(files) for p in ("ours", "naive")}
            if throughput:
                est_min = sum(est_chunks[p] / throughput[p] for p in throughput) / 60 * 1.2
                if est_min > budget_min:
                    msg = (f"schaal {scale}x overgeslagen: geschat {est_min:.0f} min indexeren "
                           f"(budget {budget_min:.0f} min)")
                    log(msg)
                    result["skipped"][str(scale)] = msg
                    shutil.rmtree(corpus, ignore_errors=True)
                    continue
                log(f"Schaal {scale}x: {len(files)} bestanden, geschat {est_min:.0f} min indexeren...")
            else:
                log(f"Schaal {scale}x: {len(files)} bestanden...")
            ing: dict[str, Any] = {}
            ret: dict[str, Any] = {}
            for pipeline in ("ours", "naive"):
                settings = {"corpus_dir": str(corpus), "data_dir": str(tmp / f"data-{scale}-{pipeline}")}
                spec = {"task": "ingest", "pipeline": pipeline, "settings": settings}
                cold = run_child(spec, tmp)
                entry = {
                    "files": len(files), "chunks": cold["chunks"], "cold_s": round(cold["seconds"], 2),
                    "chunks_per_s": round(cold["chunks"] / cold["seconds"], 2) if cold["seconds"] else None,
                    "ingest_maxrss_mb": round(cold["maxrss_mb"], 1),
                }
                throughput[pipeline] = entry["chunks_per_s"] or 1.0
                if pipeline == "ours" or scale == min(scales):
                    warm = run_child(spec, tmp)
                    entry["warm_s"] = round(warm["seconds"], 2)
                    entry["warm_embedded"] = warm["embedded"]
                else:
                    entry["warm_s"] = entry["cold_s"]
                    entry["warm_note"] = "volledige herbouw (gelijk aan koud)"
                ing[pipeline] = entry
                log(f"  {pipeline}: {entry['chunks']} fragmenten, koud {entry['cold_s']} s "
                    f"({entry['chunks_per_s']} frag/s), warm {entry['warm_s']} s")
                r = run_child({"task": "retrieve", "pipeline": pipeline, "settings": settings,
                               "questions": retrieval_qs}, tmp)
                ret[pipeline] = {"p50_ms": _ms(r["latencies"], 50), "p95_ms": _ms(r["latencies"], 95),
                                 "n": len(r["latencies"]), "startup_s": round(r["startup_s"], 2),
                                 "maxrss_mb": round(r["maxrss_mb"], 1)}
                log(f"  {pipeline}: retrieval p50 {ret[pipeline]['p50_ms']} ms, p95 {ret[pipeline]['p95_ms']} ms")
                result["ingest"][str(scale)] = ing
                result["retrieval"][str(scale)] = ret
                save()
            if scale != min(scales) and not keep:
                shutil.rmtree(corpus, ignore_errors=True)
                for pipeline in ("ours", "naive"):
                    shutil.rmtree(tmp / f"data-{scale}-{pipeline}", ignore_errors=True)

        if llm:
            scale = min(scales)
            questions = bench_questions(n_questions)
            log(f"LLM-metingen op {len(questions)} vragen (eerst ons, dan naïef)...")
            for pipeline in ("ours", "naive"):
                settings = {"corpus_dir": str(tmp / f"corpus-{scale}"), "data_dir": str(tmp / f"data-{scale}-{pipeline}")}
                try:
                    r = run_child({"task": "llm", "pipeline": pipeline, "settings": settings,
                                   "questions": questions}, tmp)
                    result["llm"][pipeline] = _llm_summary(r)
                    result["llm"][pipeline]["per_question"] = r["questions"]
                except Exception as exc:  # noqa: BLE001 - report, do not lose the other numbers
                    result["llm"][pipeline] = {"error": str(exc)[-1500:]}
                    log(f"  {pipeline}: LLM-meting mislukt: {str(exc)[-300:]}")
                save()
            # follow-ups: the rewrite prompt replaces the answer prompt in llama.cpp's cache, unless
            # the warm state of each system prompt is kept (NPO_LLM_PREFIX_STATES); ours with and without
            if base.llm_backend == "llamacpp":
                conversations = bench_conversations(max(2, n_questions // 2))
                log(f"Vervolgvragen: {len(conversations) // 2} gesprekken, met en zonder bewaarde prefix-staten...")
                result["followup"] = {}
                for states in (base.llm_prefix_states or 3, 0):
                    settings = {"corpus_dir": str(tmp / f"corpus-{scale}"), "data_dir": str(tmp / f"data-{scale}-ours"),
                                "llm_prefix_states": states}
                    try:
                        r = run_child({"task": "llm", "pipeline": "ours", "settings": settings,
                                       "questions": conversations}, tmp)
                        per = r["questions"]
                        result["followup"][str(states)] = {
                            "followup_first_token_s": _mean([q["first_token_s"] for q in per[0::2]]),
                            "followup_total_s": _mean([q["total_s"] for q in per[0::2]]),
                            "next_first_token_s": _mean([q["first_token_s"] for q in per[1::2]]),
                            "maxrss_mb": r["maxrss_mb"], "per_question": per,
                        }
                    except Exception as exc:  # noqa: BLE001 - report, do not lose the other numbers
                        result["followup"][str(states)] = {"error": str(exc)[-1500:]}
                    save()
    finally:
        if not keep:
            shutil.rmtree(tmp, ignore_errors=True)
    save()
    return out


def summarize_bench(result: dict[str, Any]) -> dict[str, Any]:
    """Ours/naive ratios of the headline numbers."""
    s: dict[str, Any] = {}
    for scale, ing in result["ingest"].items():
        o, n = ing.get("ours", {}), ing.get("naive", {})
        s[f"ingest_chunks_per_s_ratio@{scale}x"] = _ratio(o.get("chunks_per_s"), n.get("chunks_per_s"))
        s[f"ingest_warm_s_ratio@{scale}x"] = _ratio(o.get("warm_s"), n.get("warm_s"))
    for scale, ret in result["retrieval"].items():
        o, n = ret.get("ours", {}), ret.get("naive", {})
        s[f"retrieval_p50_ratio@{scale}x"] = _ratio(o.get("p50_ms"), n.get("p50_ms"))
        s[f"retrieval_p95_ratio@{scale}x"] = _ratio(o.get("p95_ms"), n.get("p95_ms"))
        s[f"retrieval_maxrss_ratio@{scale}x"] = _ratio(o.get("maxrss_mb"), n.get("maxrss_mb"))
    o, n = result["llm"].get("ours", {}), result["llm"].get("naive", {})
    for key in ("prompt_tokens", "prompt_new_tokens", "prompt_tps", "prompt_eval_tps", "gen_tps", "llm_ttft_s",
                "answer_first_token_s", "answer_total_s", "maxrss_mb"):
        if key in o or key in n:
            s[f"llm_{key}_ratio"] = _ratio(o.get(key), n.get(key))
    kept = [v for k, v in result.get("followup", {}).items() if k != "0"]
    off = result.get("followup", {}).get("0", {})
    if kept and "error" not in kept[0] and "error" not in off:
        for key in ("followup_first_token_s", "followup_total_s", "next_first_token_s", "maxrss_mb"):
            s[f"prefix_states_{key}_ratio"] = _ratio(kept[0].get(key), off.get(key))
    return s


def _cell(v: Any) -> str:
    if v is None:
        return "–"
    if isinstance(v, float):
        return f"{v:.2f}"
    return str(v)


def render_bench_md(result: dict[str, Any]) -> str:
    cfg = result["config"]
    lines = [
        "# Benchmark NPO-assistent (ons) naast naïeve RAG",
        "",
        f"- Gestart {cfg['started']} (UTC), duur {cfg.get('seconds')} s, {cfg['cpus']} cores, "
        f"backend {cfg['backend']}, embeddings {cfg['embedding_model']}",
        f"- Schalen: {', '.join(str(s) + 'x' for s in cfg['scales'])}; retrievalvragen: "
        f"{cfg['retrieval_questions']}; LLM-vragen: {cfg['llm_questions']}",
        "- Elke meting draait in een eigen proces (geheugen = piek-RSS van dat proces). Verhouding = ons / naïef.",
        "",
        "## Indexeren",
        "",
        "| Schaal | Pipeline | Bestanden | Fragmenten | Koud (s) | Frag/s | Warm (s) | Piekgeheugen (MB) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for scale, ing in result["ingest"].items():
        for p, e in ing.items():
            lines.append(f"| {scale}x | {p} | {e['files']} | {e['chunks']} | {_cell(e['cold_s'])} | "
                         f"{_cell(e['chunks_per_s'])} | {_cell(e['warm_s'])}{' *' if e.get('warm_note') else ''} | "
                         f"{_cell(e['ingest_maxrss_mb'])} |")
    lines += ["", "\\* naïef heeft geen incrementeel indexeren: een herhaalde run bouwt alles opnieuw op.", "",
              "## Retrieval-latentie", "",
              "| Schaal | Pipeline | p50 (ms) | p95 (ms) | Vragen | Opstart (s) | Piekgeheugen (MB) |",
              "|---|---|---|---|---|---|---|"]
    for scale, ret in result["retrieval"].items():
        for p, e in ret.items():
            lines.append(f"| {scale}x | {p} | {_cell(e['p50_ms'])} | {_cell(e['p95_ms'])} | {e['n']} | "
                         f"{_cell(e['startup_s'])} | {_cell(e['maxrss_mb'])} |")
    if result["skipped"]:
        lines += ["", *[f"- {msg}" for msg in result["skipped"].values()]]
    if result["llm"]:
        lines += ["", "## Taalmodel (zelfde vragen, eerst ons, dan naïef)", "",
                  "| Pipeline | Prompt-tokens | waarvan nieuw | Prompt tok/s | Prompt-evaluatie tok/s (nieuw) | "
                  "Generatie tok/s | LLM tijd tot 1e token (s) | Antwoord: 1e token (s) | Antwoord totaal (s) | "
                  "LLM-aanroepen | Piekgeheugen (MB) |",
                  "|---|---|---|---|---|---|---|---|---|---|---|"]
        for p, e in result["llm"].items():
            if "error" in e:
                lines.append(f"| {p} | mislukt: {e['error'][-200:].replace('|', '/')} |||||||||| ")
                continue
            lines.append(f"| {p} | {_cell(e['prompt_tokens'])} | {_cell(e['prompt_new_tokens'])} | "
                         f"{_cell(e['prompt_tps'])} | {_cell(e['prompt_eval_tps'])} | {_cell(e['gen_tps'])} | "
                         f"{_cell(e['llm_ttft_s'])} | {_cell(e['answer_first_token_s'])} | "
                         f"{_cell(e['answer_total_s'])} | {e['llm_calls']} | {_cell(e['maxrss_mb'])} |")
        lines += ["", "Prompt-tokens tellen de tokenizer van het model plus ~5 per bericht (chat-sjabloon). "
                  "Prompt tok/s = alle prompt-tokens / tijd tot eerste token van die aanroep. llama.cpp hergebruikt "
                  "het gemeenschappelijke begin met de vorige prompt (prefix-cache); 'nieuw' telt de tokens daarna, "
                  "en de prompt-evaluatiesnelheid is over die nieuwe tokens berekend. Elke meting wordt voorafgegaan "
                  "door één opwarmvraag die niet meetelt. Andere processen op de machine vertragen llama.cpp sterk "
                  "(zijn threads wachten op elkaar): vergelijk alleen verhoudingen uit dezelfde run."]
    if result.get("followup"):
        lines += ["", "## Vervolgvragen (ons, met en zonder bewaarde prefix-staten)", "",
                  "| Prefix-staten | Vervolgvraag: 1e token (s) | Vervolgvraag totaal (s) | "
                  "Volgende eerste vraag: 1e token (s) | Piekgeheugen (MB) |", "|---|---|---|---|---|"]
        for states, e in result["followup"].items():
            if "error" in e:
                lines.append(f"| {states} | mislukt: {e['error'][-200:].replace('|', '/')} |||| ")
                continue
            lines.append(f"| {states} | {_cell(e['followup_first_token_s'])} | {_cell(e['followup_total_s'])} | "
                         f"{_cell(e['next_first_token_s'])} | {_cell(e['maxrss_mb'])} |")
        lines += ["", "Een vervolgvraag wordt eerst met de herschrijfprompt zelfstandig gemaakt; zonder bewaarde "
                  "staten leest llama.cpp daarna de vaste systeemprompt van het antwoord opnieuw (en na een vraag "
                  "zonder antwoord ook bij de volgende eerste vraag). Verhoudingen onder: met / zonder."]
    lines += ["", "## Verhoudingen (ons / naïef; prefix_states_*: met / zonder)", "", "| Maat | Verhouding |", "|---|---|"]
    lines += [f"| {k} | {_cell(v)} |" for k, v in result.get("summary", {}).items()]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    child_main(sys.argv[1:])
