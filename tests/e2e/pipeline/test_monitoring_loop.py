"""The monitoring loop on devhost: drifted traffic -> drift report -> queue -> retraining run through
the gates; identical retrain messages start one run; malformed ones end in the poison queue."""

from __future__ import annotations

import io
import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import polars as pl

from cli.client import ApiClient
from cli.local import LocalStack
from shared.settings import load_settings
from shared.steps.monitoring import retrain_instance_id
from shared.steps.serving import read_inference_log
from shared.storage.factory import Storage
from shared.storage.queues import MessageQueue

from .test_pipeline_http import spec, wait_for


#: the shift: every "mean ..." and "worst ..." feature (20 of 30) multiplied by 3
def shifted_columns(columns: list[str]) -> list[str]:
    """The features the drift test scales."""
    return [c for c in columns if c.startswith(("mean ", "worst "))]


def _storage(stack: LocalStack) -> Storage:
    return Storage.from_settings(load_settings(environ={"AzureWebJobsStorage": str(stack.connection_string)}))


def _deploy(api: ApiClient, name: str, log: Path, cooldown_hours: float = 24) -> dict[str, Any]:
    body = spec(
        name, monitoring={"schedule": "0 0 * * * *", "auto_retrain": True, "cooldown_hours": cooldown_hours}
    )
    run = wait_for(api, api.post(f"/api/pipelines/{name}/runs", {"spec": body})["run_id"], log)
    assert run["status"] == "Succeeded", run
    return run


def _until(check: Any, timeout: float = 120, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.5)
    raise AssertionError(f"{what} not reached in {timeout} s")


def test_drifted_traffic_leads_to_a_retraining_run_through_the_gates(
    stack: LocalStack, api: ApiClient, log_of: Path, unique: str
) -> None:
    name = f"loop-{unique}"
    first = _deploy(api, name, log_of)
    storage = _storage(stack)
    record = storage.datasets.get(name, first["dataset_version"])[0]
    holdout = pl.read_parquet(io.BytesIO(storage.blobs.get_bytes("datasets", record.splits["holdout"])))
    features = holdout.drop("target")
    shifted = shifted_columns(features.columns)
    rows = features.with_columns([pl.col(c) * 3 for c in shifted]).to_dicts()
    sent = datetime.now(UTC)
    for i in range(0, len(rows), 20):
        api.post(f"/api/models/{name}/score", {"rows": rows[i : i + 20]})
    # The log is flushed in the background (sample rate 1.0): wait until every scored row is in it.
    hour = sent.replace(minute=0, second=0, microsecond=0)
    _until(
        lambda: len(read_inference_log(storage, name, hour, hour + timedelta(hours=2))) >= len(rows),
        timeout=30,
        what="every scored row in the inference log",
    )

    admin = httpx.post(
        f"{stack.url}/admin/functions/drift_monitor",
        json={"input": ""},
        headers={"x-functions-key": stack.master_key},
    )
    assert admin.status_code == 202
    drift = _until(lambda: api.get(f"/api/drift/{name}")["latest"], what="a drift check")
    assert drift["status"] == "drift" and drift["drifted"], drift
    assert drift["retrain"]["status"] == "sent"
    drifted = {c for c, v in drift["columns"].items() if v.get("drifted")}
    assert len(drifted & set(shifted)) >= len(shifted) // 2

    instance_id = retrain_instance_id(name, drift["window"])
    retrain = wait_for(api, _until(lambda: _run_or_none(api, instance_id), what="the retraining run"), log_of)
    assert retrain["status"] == "Succeeded" and retrain["trigger"] == "drift"
    # Same spec, same data: the retrained model is byte-identical to the champion, so the identical
    # model guard (issue 9 item 8) registers nothing and says so.
    assert retrain["model_version"] is None, retrain
    assert "no change" in (retrain.get("reason") or ""), retrain
    report = storage.blobs.get_bytes("reports", f"drift/{name}/{drift['window']}.html")
    assert b"<svg" in report


def _run_or_none(api: ApiClient, run_id: str) -> str | None:
    try:
        api.get(f"/api/runs/{run_id}")
        return run_id
    except Exception:
        return None


def test_three_identical_retrain_messages_start_one_run(
    stack: LocalStack, api: ApiClient, log_of: Path, unique: str
) -> None:
    name = f"dup-{unique}"
    _deploy(api, name, log_of, cooldown_hours=0)
    queue = MessageQueue(_storage(stack).clients.queue, "retrain-requests")
    queue_client = _storage(stack).clients.queue.get_queue_client("retrain-requests")
    message = {
        "model": name,
        "pipeline": name,
        "window": "2026-11-21T10",
        "reason": "test",
        "requested_at": "2026-11-21T11:00:00+00:00",
    }
    for _ in range(3):
        queue.send(message)
    instance_id = retrain_instance_id(name, "2026-11-21T10")
    _until(lambda: _run_or_none(api, instance_id), what="the retraining run")
    # Every start writes a fresh run row (create_pending) before the Durable start: a second start
    # of the same instance id, even one refused as a conflict, shows as a new started_at.
    first_start = api.get(f"/api/runs/{instance_id}")["started_at"]
    finished = wait_for(api, instance_id, log_of)
    assert finished["status"] == "Succeeded", finished
    properties = queue_client.get_queue_properties
    _until(lambda: properties().approximate_message_count == 0, what="all three messages processed")
    run = api.get(f"/api/runs/{instance_id}")
    assert run["started_at"] == first_start and run["status"] == "Succeeded", "the instance started again"
    drift_runs = [r for r in api.get("/api/runs", pipeline=name)["runs"] if r["trigger"] == "drift"]
    assert [r["run_id"] for r in drift_runs] == [instance_id]
    assert not any(name in m.content for m in queue.poison().peek(32)), "a duplicate was not dropped"


def test_a_malformed_retrain_message_ends_in_the_poison_queue_with_a_record_of_why(
    stack: LocalStack, unique: str
) -> None:
    storage = _storage(stack)
    queue = MessageQueue(storage.clients.queue, "retrain-requests")
    queue.send({"model": f"bad-{unique}", "window": "2026-11-21T10"})  # no requested_at / pipeline
    poison = queue.poison()

    def recorded() -> list[Any]:
        return [
            e
            for e in storage.audit.query(pk="queue:retrain-requests")
            if f"bad-{unique}" in json.dumps(e.data)
        ]

    entries = _until(recorded, timeout=90, what="the poison record")
    assert entries[0].action == "poison" and "malformed" in (entries[0].reason or "")
    assert entries[0].data["dequeue_count"] >= 1
    assert f"bad-{unique}" in entries[0].data["body"], "the record keeps the message itself"
    assert not any(f"bad-{unique}" in m.content for m in queue.peek(32)), "nothing left to retry"
    assert poison.name == "retrain-requests-poison"
