"""Real pipeline data for the dashboard's browser tests: runs that succeed, wait, fail, and drift.

``python tests/browser/dashboard_seed.py`` starts Azurite + devhost, seeds, prints the dashboard URL and keys,
and keeps serving until interrupted (to look at the pages by hand).
"""

from __future__ import annotations

import io
import secrets
import sys
import time
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from cli.client import ApiClient  # noqa: E402
from cli.local import LocalStack  # noqa: E402
from shared.settings import load_settings  # noqa: E402
from shared.storage.factory import Storage  # noqa: E402

TERMINAL = {"Succeeded", "Failed", "DataRejected", "GateRejected", "ApprovalRejected", "Cancelled"}
OK, WAITING, REJECTED, CRASH = "dash-bc", "dash-approve", "dash-gates", "dash-crash"
#: The function key the browser tests' devhost is started with (the master key is LocalStack's own).
FUNCTION_KEY = secrets.token_urlsafe(24)


def spec(name: str, **changes: Any) -> dict[str, Any]:
    """The breast-cancer example, small and quick, with ``changes`` applied on top."""
    data: dict[str, Any] = yaml.safe_load((ROOT / "examples" / "breast_cancer.yaml").read_text())
    data.update(name=name, compute={"kind": "local", "poll_seconds": 1})
    data["trainer"]["params"] = {"n_estimators": 20, "max_depth": 2}
    # The pages are under test, not the latency gate: a browser starting beside the run must not
    # turn a scheduling stall into a GateRejected seed run.
    data["gates"]["latency_budget_ms_p95"] = 200
    data.update(changes)
    return data


def rejected_spec() -> dict[str, Any]:
    """A gate no model passes, and a rule that quarantines 14 of 569 rows (under the 5% threshold)."""
    data = spec(REJECTED, gates={"absolute": {"accuracy": {"min": 0.9999}}})
    data["expectations"]["columns"]["mean radius"]["max"] = 22
    return data


def crashing_trainer() -> dict[str, Any]:
    """The example's trainer with n_estimators 0."""
    return {**spec(CRASH)["trainer"], "params": {"n_estimators": 0}}


def wait_for(api: ApiClient, run_id: str, statuses: set[str], timeout: float = 180) -> dict[str, Any]:
    """Poll a run until its status is one of ``statuses``."""
    deadline = time.monotonic() + timeout
    record: dict[str, Any] = {}
    while time.monotonic() < deadline:
        record = api.get(f"/api/runs/{run_id}")
        if record["status"] in statuses:
            return record
        if record["status"] in TERMINAL:
            raise AssertionError(f"run {run_id} ended {record['status']}: {record.get('reason')}")
        time.sleep(0.3)
    raise AssertionError(f"run {run_id} is {record.get('status')} after {timeout} s")


def _holdout(connection_string: str, pipeline: str, version: str, target: str) -> list[dict[str, Any]]:
    import polars as pl

    storage = Storage.from_settings(load_settings(environ={"AzureWebJobsStorage": connection_string}))
    record = storage.datasets.get(pipeline, version)[0]
    frame = pl.read_parquet(io.BytesIO(storage.blobs.get_bytes("datasets", record.splits["holdout"])))
    return frame.drop(target).head(400).to_dicts()


def drift(api: ApiClient, connection_string: str, run: dict[str, Any]) -> dict[str, Any]:
    """Score drifted rows, run the drift monitor, wait for the model's new drift check."""
    rows = _holdout(connection_string, OK, run["dataset_version"], "target")
    shifted = [c for c in rows[0] if c.startswith(("mean ", "worst "))]
    drifted = [{**r, **{c: r[c] * 3 for c in shifted}} for r in rows]
    for i in range(0, len(drifted), 100):
        api.post(f"/api/models/{OK}/score", {"rows": drifted[i : i + 100]})
    deadline = time.monotonic() + 60
    while True:  # the inference log is flushed every second; run the monitor until it sees rows
        api.request("POST", "/admin/functions/drift_monitor", json={"input": ""})
        latest = api.get(f"/api/drift/{OK}")["latest"]
        if latest and latest.get("rows"):  # the first checks may run before the log is flushed
            return dict(latest)
        if time.monotonic() > deadline:
            raise AssertionError(f"no drift check for {OK} after 60 s: {latest}")
        time.sleep(1.0)


def seed(stack: LocalStack, api: ApiClient) -> dict[str, Any]:
    """Four runs started together (deployed, waiting for approval, gate-rejected, training crash) and a
    drift check."""
    started = {
        OK: api.post(f"/api/pipelines/{OK}/runs", {"spec": spec(OK)})["run_id"],
        WAITING: api.post(
            f"/api/pipelines/{WAITING}/runs",
            {"spec": spec(WAITING, approval={"required": True, "timeout_hours": 1.0})},
        )["run_id"],
        REJECTED: api.post(f"/api/pipelines/{REJECTED}/runs", {"spec": rejected_spec()})["run_id"],
        # Accepted at submission, refused by the estimator: the training job fails.
        CRASH: api.post(f"/api/pipelines/{CRASH}/runs", {"spec": spec(CRASH, trainer=crashing_trainer())})[
            "run_id"
        ],
    }
    ok = wait_for(api, started[OK], {"Succeeded"})
    wait_for(api, started[WAITING], {"AwaitingApproval"})
    wait_for(api, started[REJECTED], {"GateRejected"})
    wait_for(api, started[CRASH], {"Failed"})
    check = drift(api, str(stack.connection_string), ok)
    return {"runs": started, "drift": check}


if __name__ == "__main__":
    import signal
    import tempfile

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # so `with` stops devhost and Azurite
    with LocalStack(
        work_dir=Path(tempfile.mkdtemp(prefix="dashboard-work-")),
        log_path=Path(tempfile.mkdtemp(prefix="dashboard-log-")) / "devhost.log",
        extra_env={"DEVHOST_FUNCTION_KEY": "dev-function-key"},
    ) as local:
        client = ApiClient(local.url, local.master_key)
        print(f"{local.url}/api/dashboard?code=dev-function-key  master key {local.master_key}", flush=True)
        print(seed(local, client)["runs"], flush=True)
        while True:
            time.sleep(3600)
