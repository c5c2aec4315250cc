"""`make demo`: the main job on the embedded default (Azurite + devhost, no cloud).

Starts Azurite (data kept in .demo/ so a second demo reuses the dataset version) and devhost,
runs the breast-cancer pipeline over HTTP to deployment, scores holdout rows through the
scoring endpoint and prints a summary. Then the monitoring loop: it sends drifted traffic
(every "mean ..." and "worst ..." feature multiplied by 3, as if an upstream system changed
units), runs the drift monitor through the admin API, shows the drift it found and follows the
retraining run that the drift request started. Stops everything at the end.
"""

from __future__ import annotations

import io
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import polars as pl
import yaml

from cli.client import ApiClient
from cli.local import ROOT, LocalStack
from shared.settings import load_settings
from shared.steps.inference_log import read_inference_log
from shared.storage.factory import Storage

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
    storage = Storage.from_settings(load_settings(environ={"AzureWebJobsStorage": connection_string}))
    record = storage.datasets.get(pipeline, version)[0]
    frame = pl.read_parquet(io.BytesIO(storage.blobs.get_bytes("datasets", record.splits["holdout"])))
    return frame.drop(target).head(n).to_dicts()


def main() -> int:
    """Run the demo; 0 when the model is trained, gated, deployed and served."""
    DEMO_DIR.mkdir(exist_ok=True)
    spec = yaml.safe_load(SPEC.read_text())
    print(f"demo: Azurite + devhost, data kept in {DEMO_DIR.relative_to(ROOT)}/ (delete it to start afresh)")
    with LocalStack(
        azurite_workspace=DEMO_DIR / "azurite", work_dir=DEMO_DIR / "work", log_path=DEMO_DIR / "devhost.log"
    ) as stack:
        api = ApiClient(stack.url, stack.master_key)
        print(f"devhost on {stack.url}; running pipeline {spec['name']!r} ({SPEC.relative_to(ROOT)})")
        started = api.post(f"/api/pipelines/{spec['name']}/runs", {"spec": spec, "trigger": "demo"})
        run = follow(api, started["run_id"])
        print(f"run {run['run_id']}: {run['status']}")
        if run["status"] != "Succeeded":
            print(f"  details: {run.get('details')}  error: {run.get('error')}")
            return 1
        rows = holdout_rows(
            str(stack.connection_string), spec["name"], run["dataset_version"], spec["target"], 1000
        )
        scored = api.post(f"/api/models/{spec['name']}/score", {"rows": rows[:5]})
        latencies = []
        for i in range(50):  # one row per call, cycling through the holdout (it is logged for drift)
            t0 = time.perf_counter()
            api.post(f"/api/models/{spec['name']}/score", {"rows": [rows[(5 + i) % len(rows)]]})
            latencies.append((time.perf_counter() - t0) * 1000)
        latencies.sort()
        summary(run, scored, latencies)
        monitoring_loop(stack, api, spec["name"], str(stack.connection_string), run, spec["target"])
    return 0


def wait_for_log(
    connection_string: str, name: str, since: datetime, rows: int, timeout_s: float = 60
) -> None:
    """Wait until the scored rows are in the inference log (the host flushes it in the background)."""
    storage = Storage.from_settings(load_settings(environ={"AzureWebJobsStorage": connection_string}))
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if len(read_inference_log(storage, name, since, datetime.now(UTC) + timedelta(minutes=1))) >= rows:
            return
        time.sleep(0.5)
    print(f"  (the inference log did not show all {rows} rows within {timeout_s:.0f} s)")


def monitoring_loop(
    stack: LocalStack, api: ApiClient, name: str, connection_string: str, run: dict[str, Any], target: str
) -> None:
    """Drifted traffic -> drift monitor (admin API) -> drift report -> queue -> retraining run."""
    rows = holdout_rows(connection_string, name, run["dataset_version"], target, 1000)
    shifted = [c for c in rows[0] if c.startswith(("mean ", "worst "))]
    drifted = [{**r, **{c: r[c] * 3 for c in shifted}} for r in rows]
    print(f"\nmonitoring: sending {len(drifted)} drifted rows ({len(shifted)} features x 3) for scoring")
    sent = datetime.now(UTC) - timedelta(seconds=1)
    for i in range(0, len(drifted), 25):
        api.post(f"/api/models/{name}/score", {"rows": drifted[i : i + 25]})
    wait_for_log(connection_string, name, sent, len(drifted))
    before = (api.get(f"/api/drift/{name}")["latest"] or {}).get("window")
    api.request("POST", "/admin/functions/drift_monitor", json={"input": ""})
    print("  ran the drift monitor through POST /admin/functions/drift_monitor")
    drift: dict[str, Any] = {}
    for _ in range(240):
        drift = api.get(f"/api/drift/{name}")["latest"] or {}
        if drift.get("window") and drift.get("window") != before:
            break
        time.sleep(0.5)
    columns = drift.get("columns") or {}
    moved = sorted(c for c, v in columns.items() if v.get("drifted"))
    print(
        f"  window {drift.get('window')}: {drift.get('status')}, {len(moved)}/{len(columns)} columns drifted "
        f"(share {drift.get('drifted_share', 0):.2f}), rows {drift.get('rows')}"
    )
    print(
        f"  report: reports/{drift.get('report_blob')} (+ .html); "
        f"retrain request: {drift.get('retrain', {}).get('status')}"
    )
    retrain = drift.get("retrain") or {}
    if retrain.get("status") != "sent":
        print(f"  no retraining started ({retrain.get('status')}); delete .demo/ to see the whole loop again")
        return
    instance_id = retrain["instance_id"]
    for _ in range(240):
        runs = [r for r in api.get("/api/runs", pipeline=name)["runs"] if r["run_id"] == instance_id]
        if runs:
            break
        time.sleep(0.5)
    print(f"  retraining run {instance_id} (started by the retrain-requests queue trigger)")
    final = follow(api, instance_id)
    outcome = f"model version {final['model_version']}" if final.get("model_version") else final.get("reason")
    print(f"  -> {final['status']}: {outcome}")
    for gate in final.get("gate_decisions", []):
        print(f"     gate {gate['gate']:<18} {gate['status']:<8} {gate['reason']}")


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
