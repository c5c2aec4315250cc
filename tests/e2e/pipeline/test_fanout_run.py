"""The fan-out ingest on devhost: a part that fails ends the run, and its reason names the part.

The source is rewritten once the run has planned its parts (the plan opens the ingest step only
when it cut the source): every part must read the bytes the plan hashed and cut, so the first
part that reads after the rewrite fails, and the run ends Failed with that part in its reason.
A run in parts that nobody disturbs succeeds with the single pass's dataset version.
"""

from __future__ import annotations

import hashlib
import re
import time
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from cli.client import ApiClient
from shared.settings import Settings
from shared.storage.factory import Storage

TERMINAL = {"Succeeded", "Failed", "DataRejected", "GateRejected", "ApprovalRejected", "Cancelled"}
#: Rows making a CSV of ~42 MB: two chunks of the single pass (its first chunk holds ~32 MiB), so two parts.
ROWS = 850_000


def _csv(seed: int) -> bytes:
    rng = np.random.default_rng(seed)
    frame = pl.DataFrame({f"x{i}": rng.normal(size=ROWS).round(6) for i in range(5)})
    frame = frame.with_columns(label=(pl.col("x0") > 0).cast(pl.Int64))
    return frame.write_csv().encode()


def _until(
    api: ApiClient, run_id: str, what: str, ok: Any, log: Path, timeout: float = 120
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    record: dict[str, Any] = {}
    while time.monotonic() < deadline:
        record = api.get(f"/api/runs/{run_id}")
        if ok(record):
            return record
        time.sleep(0.2)
    raise AssertionError(f"run {run_id}: no {what} after {timeout} s (last {record}); log {log}")


def test_a_part_that_fails_ends_the_run_naming_the_part(
    api: ApiClient, settings: Settings, log_of: Path, unique: str
) -> None:
    storage = Storage.from_settings(settings)
    storage.ensure_all()
    blob = f"uploads/fanout-{unique}.csv"
    storage.blobs.put_bytes("data", blob, _csv(1))
    name = f"fanout-{unique}"
    spec = {
        "name": name,
        "source": f"blob:data/{blob}",
        "target": "label",
        "task": "classification",
        "ingest": {"parts": 2},
        "trainer": {"kind": "sklearn", "model": "logistic_regression"},
        "compute": {"kind": "local", "poll_seconds": 1},
    }
    run_id = api.post(f"/api/pipelines/{name}/runs", {"spec": spec})["run_id"]
    _until(api, run_id, "planned parts", lambda r: any(s["name"] == "ingest" for s in r["steps"]), log_of)
    # A small rewrite (milliseconds): new ETag. The surveys may have read their bytes already, but
    # the typing parts read theirs again after every survey parsed a ~32 MiB chunk (seconds).
    storage.blobs.put_bytes("data", blob, b"x0,label\n1,0\n")
    run = _until(api, run_id, "end", lambda r: r["status"] in TERMINAL, log_of)
    assert run["status"] == "Failed", run
    pattern = (
        rf"^(ingest|validate) failed: part [12] of 2 \(bytes \d+-\d+ of data/{re.escape(blob)}\): "
        rf"source 'data/{re.escape(blob)}' changed since the run planned its parts"
    )
    assert re.match(pattern, run["reason"]), run["reason"]
    assert "Traceback" not in run["reason"] and run["model_version"] is None


def test_a_run_in_parts_succeeds_with_the_single_pass_version(
    api: ApiClient, settings: Settings, log_of: Path, unique: str
) -> None:
    storage = Storage.from_settings(settings)
    storage.ensure_all()
    blob = f"uploads/fanok-{unique}.csv"
    data = _csv(3)
    storage.blobs.put_bytes("data", blob, data)
    name = f"fanok-{unique}"
    spec = {
        "name": name,
        "source": f"blob:data/{blob}",
        "target": "label",
        "task": "classification",
        "ingest": {"parts": 2},
        "trainer": {"kind": "sklearn", "model": "logistic_regression"},
        "compute": {"kind": "local", "poll_seconds": 1},
    }
    run_id = api.post(f"/api/pipelines/{name}/runs", {"spec": spec})["run_id"]
    run = _until(api, run_id, "end", lambda r: r["status"] in TERMINAL, log_of, timeout=240)
    assert run["status"] == "Succeeded", run
    assert run["dataset_version"] == hashlib.sha256(data).hexdigest()
    steps = {s["name"]: s for s in run["steps"]}
    assert steps["ingest"]["detail"]["parts"] == 2 and steps["validate"]["detail"]["parts"] == 2, steps
    validation = run["details"]["validation"]
    assert validation["rows_read"] == ROWS == validation["rows_accepted"] + validation["rows_quarantined"]
