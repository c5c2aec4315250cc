"""Run the benchmarks in sequence and print their headline numbers: ``python -m bench [names...]``.

Names are the module stems without ``_bench`` (``coldstart drift durable ingest scoring``); none means all.
Each benchmark runs as its own subprocess with a time limit, and a failing one does not stop the
rest. ``drift`` runs under the bench venv (``BENCH_PYTHON``, default the repository's .venv-bench/bin/python)
when Evidently is importable there, so its Evidently comparison runs too; everything else runs
under this interpreter. Exit status 1 when any benchmark failed.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
RESULTS = BENCH_DIR / "results"
BENCH_PYTHON = Path(os.environ.get("BENCH_PYTHON", str(ROOT / ".venv-bench" / "bin" / "python")))
#: Run order: cheap and self-contained first, the HTTP stack last.
ORDER = ["coldstart", "drift", "feedback", "durable", "ingest", "tabular", "scoring", "dashboard"]
RESULT_FILES = {
    "coldstart": "coldstart.json",
    "drift": "drift.json",
    "feedback": "feedback.json",
    "durable": "durable.json",
    "ingest": "ingest.json",
    "scoring": "scoring.json",
    "dashboard": "dashboard.json",
    "tabular": "tabular.json",
}


def available() -> list[str]:
    """Benchmark names found in bench/, in run order."""
    found = {p.stem.removesuffix("_bench") for p in BENCH_DIR.glob("*_bench.py")}
    return [n for n in ORDER if n in found] + sorted(found - set(ORDER))


def _has_evidently(python: Path) -> bool:
    if not python.exists():
        return False
    probe = subprocess.run(
        [str(python), "-c", "import evidently"], capture_output=True, timeout=120, check=False
    )
    return probe.returncode == 0


def command(name: str) -> tuple[list[str], dict[str, str]]:
    """Interpreter, arguments and environment for one benchmark."""
    env = dict(os.environ)
    if name == "drift" and _has_evidently(BENCH_PYTHON):
        env["PYTHONPATH"] = str(ROOT)  # the bench venv does not install this project
        return [str(BENCH_PYTHON), "-m", "bench.drift_bench"], env
    return [sys.executable, "-m", f"bench.{name}_bench"], env


def run_one(name: str, timeout_s: float) -> dict[str, Any]:
    """Run one benchmark to completion or its time limit; its return code and duration."""
    cmd, env = command(name)
    print(f"\n=== {name}: {' '.join(cmd)}", flush=True)
    began = time.perf_counter()
    try:
        done = subprocess.run(cmd, cwd=ROOT, env=env, timeout=timeout_s, check=False)
        code: int | str = done.returncode
    except subprocess.TimeoutExpired:
        code = f"timeout after {timeout_s:.0f} s"
    return {"name": name, "rc": code, "seconds": time.perf_counter() - began, "started": time.time()}


def _get(data: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(data, dict) or key not in data:
            return None
        data = data[key]
    return data


def _fmt(value: Any, unit: str = "", digits: int = 1) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:,.{digits}f}{unit}"
    if isinstance(value, int):
        return f"{value:,}{unit}"
    return f"{value}{unit}"


def _drift(d: dict[str, Any]) -> str:
    ev = d.get("evidently", {})
    r = d.get("ratios", {})
    product = (
        f"product path {_fmt(r.get('product_step_s'), ' s', 2)} / "
        f"{_fmt(r.get('product_peak_rss_mb'), ' MB', 0)} peak; "
        if "product_step_s" in r
        else ""
    )
    speed = r.get("evidently_over_product") or ev.get("speedup") or ev.get("speedup_full_extrapolated")
    return (
        f"{product}library {_fmt(_get(d, 'ours', 'median_s'), ' s', 2)} for {_fmt(d.get('rows'))} rows; "
        f"Evidently {_fmt(speed, 'x', 0)} slower"
    )


def _durable(d: dict[str, Any]) -> str:
    m = d.get("median", {})
    return (
        f"sequential {_fmt(m.get('sequential_ms_per_step'), ' ms/step')}, "
        f"fan-out {_fmt(m.get('fan_out_activities_per_s'), ' act/s', 0)}, "
        f"concurrent {_fmt(m.get('concurrent_orchestrations_per_s'), ' orch/s')}"
    )


def _ingest(d: dict[str, Any]) -> str:
    r = d.get("ratios", {})
    ours = d.get("ours", {})
    return (
        f"ours {_fmt(ours.get('rows_per_s'), ' rows/s')} ({_fmt(ours.get('mb_per_s'), ' MB/s')}), "
        f"declared types {_fmt(_get(d, 'ours_declared_types', 'rows_per_s'), ' rows/s')}; "
        f"pandera-{r.get('pandera_best_api', '?')} time / ours "
        f"{_fmt(r.get('speedup_vs_pandera_best'), 'x', 2)}; "
        f"ours {_fmt(r.get('ours_vs_numpy_floor_x_slower'), 'x')} the numpy byte-scan floor"
    )


def _scoring(d: dict[str, Any]) -> str:
    local = d.get("in_process_batch1", {})
    sat = _get(d, "http_wrk", "saturation") or {}
    single = _get(d, "http_wrk", "closed_loop", "1") or {}
    return (
        f"onnx p50 {_fmt(_get(local, 'session_run_ms', 'p50'), ' ms', 3)}, "
        f"score() p50 {_fmt(_get(local, 'score_ms', 'p50'), ' ms', 3)}; "
        f"HTTP (wrk) 1 conn p50 {_fmt(_get(single, 'latency_ms', 'p50'), ' ms', 2)} "
        f"p99 {_fmt(_get(single, 'latency_ms', 'p99'), ' ms', 2)}; "
        f"saturation {_fmt(sat.get('requests_per_s'), ' req/s', 0)}"
    )


def _coldstart(d: dict[str, Any]) -> str:
    imports = d.get("imports", {})
    first = d.get("first_request", {})
    return (
        f"import {_fmt(_get(imports, 'app', 'seconds_median'), ' s', 2)} / "
        f"{_fmt(_get(imports, 'app', 'rss_mb_median'), ' MB', 0)} = "
        f"{_fmt(imports.get('ratio_time'), 'x', 1)} bare DFApp; first score "
        f"{_fmt(first.get('first_request_ms_median'), ' ms', 0)} vs warm "
        f"{_fmt(first.get('warm_request_ms_median'), ' ms', 1)}"
    )


def _dashboard(d: dict[str, Any]) -> str:
    browser = d.get("browser_open_to_first_200_rows_drawn")
    return (
        f"run page on {_fmt(_get(d, 'orchestration', 'raw_history_events'))} events: "
        f"cold {_fmt(_get(d, 'open_run_page_cold', 'max_s'), ' s', 2)} max, "
        f"warm {_fmt(_get(d, 'open_run_page_warm', 'median_s'), ' s', 2)}; "
        f"browser {_fmt(_get(browser, 'in_app_from_runs_list', 'median_s'), ' s', 2)}"
        f" (new tab {_fmt(_get(browser, 'new_tab', 'median_s'), ' s', 2)})"
    )


def _tabular(d: dict[str, Any]) -> str:
    auc = d.get("auc", {})
    raw = _get(d, "latency_ms", "raw_columns_in_graph") or {}
    return (
        f"AUC platform {_fmt(auc.get('platform'), '', 4)} vs hand-built sklearn "
        f"{_fmt(auc.get('hand_built_sklearn'), '', 4)} "
        f"(numeric-only {_fmt(auc.get('numeric_only_before'), '', 4)}); "
        f"score() p50 batch 1 {_fmt(_get(raw, 'batch_1', 'score_ms', 'p50'), ' ms', 3)}, "
        f"batch 1000 {_fmt(_get(raw, 'batch_1000', 'score_ms', 'p50'), ' ms', 1)}"
    )


def _job_wait(d: dict[str, Any]) -> str:
    return (
        f"job end -> collect {_fmt(d.get('gap_median_s'), ' s', 2)} "
        f"(poll {_fmt(d.get('poll_seconds'), ' s')}); "
        f"training child imports {_fmt(_get(d, 'child_imports', 'with_sklearn_trainer_s'), ' s', 1)}"
    )


def _training(d: dict[str, Any]) -> str:
    cuda = d.get("cuda", {})
    gpu = cuda.get("not_run") or f"{_fmt(cuda.get('samples_per_s_median'), ' samples/s', 0)}"
    return f"torch_mlp CPU {_fmt(_get(d, 'cpu', 'samples_per_s_median'), ' samples/s', 0)}; CUDA: {gpu}"


def _feedback(d: dict[str, Any]) -> str:
    join = d.get("joined_window", {})
    quality = d.get("quality_check", {})
    return (
        f"join {_fmt(_get(d, 'predictions', 'rows'))} predictions x labels: "
        f"{_fmt(join.get('median_s'), ' s', 2)} / {_fmt(join.get('peak_rss_mb'), ' MB', 0)} peak; "
        f"quality window {_fmt(quality.get('median_s'), ' s', 2)}; "
        f"intake {_fmt(_get(d, 'feedback_intake', 'rows_per_s'), ' labels/s', 0)}"
    )


def _fanout(d: dict[str, Any]) -> str:
    if not d:
        return "no rows measured"
    rows = max((k for k in d if k.isdigit()), key=int)
    r = d[rows].get("result", {})
    fan, one = r.get("fan_out", {}), r.get("single", {})
    same = all((r.get("same_result") or {"?": False}).values())
    return (
        f"{_fmt(int(rows))} rows in {r.get('parts')} parts / {r.get('workers')} workers: "
        f"{_fmt(fan.get('wall_s'), ' s')} vs one activity {_fmt(one.get('wall_s'), ' s')}; "
        f"activity peak {_fmt(fan.get('peak_rss_mb_max'), ' MB', 0)}; same result: {same}"
    )


HEADLINES: dict[str, Callable[[dict[str, Any]], str]] = {
    "fanout": _fanout,
    "feedback": _feedback,
    "job_wait": _job_wait,
    "training": _training,
    "coldstart": _coldstart,
    "drift": _drift,
    "durable": _durable,
    "ingest": _ingest,
    "scoring": _scoring,
    "dashboard": _dashboard,
    "tabular": _tabular,
}


def headline(name: str) -> tuple[str, str]:
    """(result file age, headline text) for one benchmark's JSON, or why there is none."""
    path = RESULTS / RESULT_FILES.get(name, f"{name}.json")
    if not path.exists():
        return "-", "no result file"
    age = time.strftime("%Y-%m-%d %H:%M", time.gmtime(path.stat().st_mtime))
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        return age, f"unreadable JSON: {exc}"
    describe = HEADLINES.get(name)
    return age, describe(data) if describe else "(no headline defined)"


def summary(runs: list[dict[str, Any]], names: list[str]) -> str:
    """A fixed-width table: benchmark, outcome, wall time, result written (UTC), headline."""
    by_name = {r["name"]: r for r in runs}
    lines = [f"{'benchmark':<9} {'outcome':<12} {'wall':>7}  {'result (UTC)':<16}  headline (medians)"]
    for name in names:
        run = by_name.get(name)
        outcome = "not run" if run is None else ("ok" if run["rc"] == 0 else f"failed {run['rc']}")
        wall = "-" if run is None else f"{run['seconds']:.0f} s"
        age, text = headline(name)
        lines.append(f"{name:<9} {outcome[:12]:<12} {wall:>7}  {age:<16}  {text}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run the chosen benchmarks (all by default) and print the summary."""
    names = available()
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("names", nargs="*", metavar="name", help=f"subset of: {' '.join(names)}")
    parser.add_argument("--timeout", type=float, default=3600.0, help="seconds per benchmark")
    parser.add_argument("--summary-only", action="store_true", help="print the table of existing results")
    args = parser.parse_args(argv)
    unknown = [n for n in args.names if n not in names]
    if unknown:
        parser.error(f"unknown benchmark(s) {unknown}; choose from {names}")
    chosen = [n for n in names if n in args.names] if args.names else names
    runs = [] if args.summary_only else [run_one(name, args.timeout) for name in chosen]
    print("\n" + summary(runs, chosen))
    return 1 if any(r["rc"] != 0 for r in runs) else 0


if __name__ == "__main__":
    sys.exit(main())
