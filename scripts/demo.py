"""`make demo`: the main job on the embedded default (Azurite + devhost, no cloud).

Starts Azurite (data kept in .demo/ so a second demo reuses the dataset version) and devhost,
writes the breast-cancer table as the first CSV batch under ``data/demo/breast-cancer/``, runs the
breast-cancer pipeline (reading the newest batch of that prefix) over HTTP to deployment, scores
holdout rows through the scoring endpoint and prints a summary. Then the monitoring loop
(``scripts.demo_loop``): drifted traffic, labels for it as feedback, a fresh labeled batch, the
monitor (drift, data quality, model quality with the label-free estimate), and the retraining run
its request started, which reads the fresh batch and is judged against the champion on it.
Stops everything at the end. ``--dir`` keeps the data elsewhere than .demo/.
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import polars as pl
import yaml

from cli.client import ApiClient
from cli.local import ROOT, LocalStack
from scripts import demo_loop

DEMO_DIR = ROOT / ".demo"
SPEC = ROOT / "examples" / "breast_cancer.yaml"
TERMINAL = {"Succeeded", "Failed", "DataRejected", "GateRejected", "ApprovalRejected"}


def follow(api: ApiClient, run_id: str, timeout_s: float = 600) -> dict[str, Any]:
    """Print each step as it changes until the run ends."""
    seen: dict[str, str] = {}
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        record: dict[str, Any] = api.get(f"/api/runs/{run_id}")
        for step in record.get("steps", []):
            if seen.get(step["name"]) != step.get("status"):
                seen[step["name"]] = step.get("status", "")
                took = f" ({step['seconds']:.2f} s)" if isinstance(step.get("seconds"), (int, float)) else ""
                print(f"    {step['name']:<10} {step.get('status')}{took}")
        if record.get("status") in TERMINAL:
            return record
        time.sleep(0.5)
    raise TimeoutError(f"run {run_id} did not finish in {timeout_s:.0f} s")


def holdout_rows(
    connection_string: str, pipeline: str, version: str, target: str, n: int
) -> list[dict[str, Any]]:
    """A few rows of the run's holdout split, without the target."""
    storage = demo_loop.storage_of(connection_string)
    record = storage.datasets.get(pipeline, version)[0]
    frame = pl.read_parquet(io.BytesIO(storage.blobs.get_bytes("datasets", record.splits["holdout"])))
    return frame.drop(target).head(n).to_dicts()


def demo_spec() -> dict[str, Any]:
    """examples/breast_cancer.yaml reading the newest CSV batch of the demo's blob prefix."""
    spec = yaml.safe_load(SPEC.read_text())
    spec["source"] = demo_loop.SOURCE
    return dict(spec)


def main(argv: list[str] | None = None) -> int:
    """Run the demo; 0 when the model is trained, gated, deployed and served."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", type=Path, default=DEMO_DIR, help="where Azurite's data and logs are kept")
    where = parser.parse_args(argv).dir.resolve()
    where.mkdir(parents=True, exist_ok=True)
    spec = demo_spec()
    print(f"demo: Azurite + devhost, data kept in {where} (delete it to start afresh)")
    with LocalStack(
        azurite_workspace=where / "azurite", work_dir=where / "work", log_path=where / "devhost.log"
    ) as stack:
        api = ApiClient(stack.url, stack.master_key)
        connection = str(stack.connection_string)
        # Rewritten on every demo so it is the newest batch: the first run always reads the original.
        demo_loop.write_batch(
            demo_loop.storage_of(connection), demo_loop.ORIGINAL, demo_loop.original_frame()
        )
        print(f"devhost on {stack.url}; running pipeline {spec['name']!r} ({SPEC.relative_to(ROOT)}) on the")
        print(f"  newest batch of blob prefix {spec['source']['location']} ({demo_loop.ORIGINAL})")
        started = api.post(f"/api/pipelines/{spec['name']}/runs", {"spec": spec, "trigger": "demo"})
        run = follow(api, started["run_id"])
        print(f"run {run['run_id']}: {run['status']}")
        if run["status"] != "Succeeded":
            print(f"  details: {run.get('details')}  error: {run.get('error')}")
            return 1
        rows = holdout_rows(connection, spec["name"], run["dataset_version"], spec["target"], 1000)
        scored = api.post(f"/api/models/{spec['name']}/score", {"rows": rows[:5]})
        latencies = []
        for i in range(50):  # one row per call, cycling through the holdout (it is logged for drift)
            t0 = time.perf_counter()
            api.post(f"/api/models/{spec['name']}/score", {"rows": [rows[(5 + i) % len(rows)]]})
            latencies.append((time.perf_counter() - t0) * 1000)
        latencies.sort()
        summary(run, scored, latencies)
        retrain = demo_loop.monitoring_loop(api, spec["name"], connection)
        if retrain is not None:
            retraining(api, spec["name"], retrain["instance_id"])
    return 0


def retraining(api: ApiClient, name: str, instance_id: str) -> None:
    """Follow the retraining run the monitor's request started, then show what it decided."""
    for _ in range(240):
        if any(r["run_id"] == instance_id for r in api.get("/api/runs", pipeline=name)["runs"]):
            break
        time.sleep(0.5)
    print(f"  retraining run {instance_id} (started by the retrain-requests queue trigger)")
    demo_loop.show_retraining(follow(api, instance_id))


def summary(run: dict[str, Any], scored: dict[str, Any], latencies: list[float]) -> None:
    """Print what the run decided and produced."""
    validation = (run.get("details") or {}).get("validation", {})
    reused = next((s.get("detail", {}).get("reused") for s in run["steps"] if s["name"] == "ingest"), None)
    print("\nsummary")
    print(f"  dataset version   {run['dataset_version'][:16]}…  ({'reused' if reused else 'new'})")
    print(
        f"  rows              {validation.get('rows_read')} read, "
        f"{validation.get('rows_accepted')} accepted, {validation.get('rows_quarantined')} quarantined"
    )
    print("  metrics           " + ", ".join(f"{k}={v:.4f}" for k, v in run.get("metrics", {}).items()))
    for gate in run.get("gate_decisions", []):
        print(f"  gate {gate['gate']:<18} {gate['status']:<8} {gate['reason']}")
    print(f"  model version     {run['model_version']} (alias production)")
    labels = [p.get("label") for p in scored["predictions"]]
    print(f"  scored 5 holdout rows -> labels {labels}")
    p50 = statistics.median(latencies)
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    print(
        f"  scoring latency   p50 {p50:.1f} ms, p99 {p99:.1f} ms "
        f"over {len(latencies)} HTTP calls (1 row each)"
    )


if __name__ == "__main__":
    sys.exit(main())
