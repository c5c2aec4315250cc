"""Idle wait after a training job: a demo-sized run on devhost, from the job's end to collect.

Run from the repository root:

    .venv/bin/python -m bench.job_wait_bench [--runs 3] [--poll-seconds 2]

Starts Azurite + devhost (cli.local.LocalStack), runs examples/breast_cancer.yaml ``--runs``
times with ``compute.poll_seconds`` set, and for each run reads two recorded times: the job's end
(the runner's ``succeeded`` state, written after its outputs are in Blob) and the moment the
``collect_training_output`` activity was scheduled (the ``<run>-train`` instance's Durable
history). The gap is what the run spent idle after the job had finished. It also times what the
training child of a sklearn job imports (fresh interpreters, median of 3).
Writes bench/results/job_wait.json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

from cli.client import ApiClient
from cli.local import ROOT, LocalStack

RESULTS = Path(__file__).resolve().parent / "results" / "job_wait.json"
SPEC = ROOT / "examples" / "breast_cancer.yaml"
TERMINAL = {"Succeeded", "Failed", "DataRejected", "GateRejected", "ApprovalRejected"}


def _epoch(stamp: str) -> float:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


def _wait(api: ApiClient, run_id: str, timeout_s: float = 300) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        record: dict[str, Any] = api.get(f"/api/runs/{run_id}")
        if record.get("status") in TERMINAL:
            return record
        time.sleep(0.2)
    raise TimeoutError(f"run {run_id} did not finish in {timeout_s:.0f} s")


def one_run(api: ApiClient, work: Path, spec: dict[str, Any]) -> dict[str, float]:
    """Run the pipeline once; the job's end -> collect gap and the run's wall time."""
    started = time.time()
    run_id = api.post(f"/api/pipelines/{spec['name']}/runs", {"spec": spec, "trigger": "bench"})["run_id"]
    record = _wait(api, run_id)
    if record["status"] != "Succeeded":
        raise RuntimeError(f"run {run_id} ended {record['status']}: {record.get('error')}")
    wall = time.time() - started
    attempts = record["details"]["training"]["attempts"]
    state = json.loads((work / "jobs" / attempts[-1]["name"] / "state.json").read_text())
    job_end = float(state["updated_at"])
    history = api.get(f"/runtime/webhooks/durabletask/instances/{run_id}-train", showHistory="true")
    scheduled = [
        _epoch(e["ScheduledTime"])
        for e in history.get("historyEvents") or []
        if e.get("EventType") == "TaskCompleted" and e.get("FunctionName") == "collect_training_output"
    ]
    if not scheduled:
        raise RuntimeError(f"no collect in the history of {run_id}-train")
    return {"gap_s": round(scheduled[0] - job_end, 3), "run_s": round(wall, 2)}


#: What the training child imports for a sklearn job: the runner's own imports, then the trainer's.
CHILD_IMPORTS = """
import json, sys, time
t = time.perf_counter()
import shared.compute.runner
from shared.compute.handoff import download_prefix, upload_folder
from shared.storage.factory import Storage
from shared.training.blob_checkpoints import BlobCheckpoints
from shared.training.job import run_job
app = time.perf_counter() - t
from shared.training.trainers import sklearn_trainer
total = time.perf_counter() - t
heavy = [m for m in ("torch", "scipy", "sklearn", "skl2onnx", "aiohttp") if m in sys.modules]
print(json.dumps({"app_s": round(app, 3), "with_sklearn_trainer_s": round(total, 3), "loaded": heavy}))
"""


def child_imports(repeats: int = 3) -> dict[str, Any]:
    """Import time of the training child of a sklearn job (median of fresh interpreters)."""
    runs = []
    for _ in range(repeats):
        done = subprocess.run(
            [sys.executable, "-c", CHILD_IMPORTS], cwd=ROOT, capture_output=True, text=True, check=True
        )
        runs.append(json.loads(done.stdout.strip().splitlines()[-1]))
    return {
        "app_s": statistics.median(r["app_s"] for r in runs),
        "with_sklearn_trainer_s": statistics.median(r["with_sklearn_trainer_s"] for r in runs),
        "loaded": runs[-1]["loaded"],
    }


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; 0 when every run succeeded."""
    parser = argparse.ArgumentParser(prog="python -m bench.job_wait_bench")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--poll-seconds", type=int, default=2)
    args = parser.parse_args(argv)
    spec = yaml.safe_load(SPEC.read_text())
    spec["compute"] = {"kind": "local", "poll_seconds": args.poll_seconds}
    spec["gates"] = {"absolute": {"auc": {"min": 0.5}}}  # every run deploys: the wait is what is timed
    results: list[dict[str, float]] = []
    with tempfile.TemporaryDirectory(prefix="job-wait-") as tmp:
        work = Path(tmp) / "work"
        with LocalStack(work_dir=work, log_path=Path(tmp) / "devhost.log") as stack:
            api = ApiClient(stack.url, stack.master_key)
            for i in range(args.runs):
                spec["name"] = f"bench-wait-{i}"
                results.append(one_run(api, work, spec))
                print(f"run {i}: {results[-1]}", flush=True)
    gaps = [r["gap_s"] for r in results]
    summary = {
        "poll_seconds": args.poll_seconds,
        "runs": results,
        "gap_median_s": statistics.median(gaps),
        "gap_max_s": max(gaps),
        "run_median_s": statistics.median(r["run_s"] for r in results),
        "child_imports": child_imports(),
    }
    RESULTS.write_text(json.dumps(summary, indent=2) + "\n")
    print(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
