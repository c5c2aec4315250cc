"""Model quality on devhost, the way a user meets it: scored rows -> feedback over HTTP -> the monitor
-> GET /api/quality and `mlops quality` -> a retraining run through the retrain queue."""

from __future__ import annotations

import io
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
from typer.testing import CliRunner

from cli.client import ApiClient
from cli.local import LocalStack
from cli.main import app
from shared.settings import load_settings
from shared.steps.inference_log import read_inference_log
from shared.steps.monitoring import retrain_instance_id
from shared.storage.factory import Storage

from .test_pipeline_http import spec, wait_for


def _until(check: Any, timeout: float = 120, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.5)
    raise AssertionError(f"{what} not reached in {timeout} s")


def _feedback(api: ApiClient, name: str, body: list[dict[str, Any]]) -> dict[str, Any] | None:
    """POST labels; None while the predictions log has not flushed the ids yet."""
    try:
        return dict(api.post(f"/api/models/{name}/feedback", body))
    except Exception as exc:  # a 400 naming unknown ids until the background flush
        assert "unknown prediction id" in str(exc), exc
        return None


def test_flipped_labels_degrade_quality_request_a_retrain_and_show_in_api_and_cli(
    stack: LocalStack, api: ApiClient, log_of: Path, unique: str
) -> None:
    name = f"quality-{unique}"
    body = spec(name, monitoring={"schedule": "0 0 * * * *", "auto_retrain": True, "cooldown_hours": 24})
    first = wait_for(api, api.post(f"/api/pipelines/{name}/runs", {"spec": body})["run_id"], log_of)
    assert first["status"] == "Succeeded", first
    storage = Storage.from_settings(
        load_settings(environ={"AzureWebJobsStorage": str(stack.connection_string)})
    )
    record = storage.datasets.get(name, first["dataset_version"])[0]
    frame = pl.concat(
        [
            pl.read_parquet(io.BytesIO(storage.blobs.get_bytes("datasets", record.splits[s])))
            for s in ("train", "holdout")
        ]
    )
    ids: list[str] = []
    for i in range(0, frame.height, 100):  # traffic from the training distribution: no drift
        answer = api.post(f"/api/models/{name}/score", {"rows": frame.drop("target")[i : i + 100].to_dicts()})
        ids += [p["id"] for p in answer["predictions"]]
    flip = np.random.default_rng(0).random(frame.height) < 0.4  # the world's labels moved
    labels = np.where(flip, 1 - frame["target"].to_numpy(), frame["target"].to_numpy())
    rows = [{"id": i, "label": int(label)} for i, label in zip(ids, labels, strict=True)]
    stored = _until(lambda: _feedback(api, name, rows), timeout=60, what="feedback accepted")
    assert stored["stored"] == len(rows), stored

    hour = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)
    _until(
        lambda: len(read_inference_log(storage, name, hour, hour + timedelta(hours=3))) >= len(rows),
        timeout=60,
        what="every scored row in the inference log",
    )
    api.request("POST", "/admin/functions/drift_monitor", json={"input": ""})
    quality = _until(lambda: api.get(f"/api/quality/{name}")["latest"], what="a quality check")
    assert quality["status"] == "degraded", quality["decision"]
    assert quality["labeled"] == len(rows) and quality["decision"]["metric"] == "accuracy"
    assert quality["retrain"]["status"] == "sent", quality["retrain"]
    assert quality["estimate"]["metrics"]["accuracy"]["difference"] > 0.2  # blind to a label shift
    drift = api.get(f"/api/drift/{name}")["latest"]
    assert drift["window"] == quality["window"] and drift["retrain"]["status"] == "not_needed"
    assert drift["data_quality"]["null_rate"] == 0 and drift["data_quality"]["rows"] >= len(rows)

    out = CliRunner().invoke(app, ["quality", name, "--url", stack.url, "--key", stack.master_key])
    assert out.exit_code == 0, out.output
    assert "degraded" in out.output and "est - obs" in out.output and "accuracy" in out.output

    instance_id = retrain_instance_id(name, quality["window"])
    _until(lambda: any(r["run_id"] == instance_id for r in api.get("/api/runs", pipeline=name)["runs"]))
    retrain = wait_for(api, instance_id, log_of)
    assert retrain["trigger"] == "drift" and retrain["status"] == "Succeeded", retrain
