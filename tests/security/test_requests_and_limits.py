"""Malformed and hostile requests against a real devhost with a plain function key (issue 15, 4/6/7).

Each test is an attack from the issue that must now fail with a 400 naming the field or limit, or a
queue message that must end in exactly one poison message with one audit record.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from azure.core.exceptions import ResourceExistsError
from azure.storage.queue import QueueClient

from cli.local import ROOT, LocalStack
from shared.settings import load_settings
from shared.steps.monitoring_records import LEDGER_PARTITION, retrain_ledgers
from shared.steps.retrain_queue import AUDIT_ENTITY, MAX_DEQUEUE_COUNT
from shared.storage.factory import Storage
from shared.storage.tables import SPILL_CONTAINER

BOMB_LEVELS = "abcdefghi"


def _spec(name: str, **changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((ROOT / "examples" / "breast_cancer.yaml").read_text())
    data["name"] = name
    data["trainer"]["params"] = {"n_estimators": 10, "max_depth": 2}
    data.update(changes)
    return data


def yaml_bomb(name: str) -> str:
    """A ~500-byte billion-laughs spec: 9 levels of 9 aliases, about 4.8 M leaves once expanded."""
    lines = [f"name: {name}", 'x0: &x0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, len(BOMB_LEVELS)):
        lines.append(f"x{i}: &x{i} [" + ",".join([f"*x{i - 1}"] * 9) + "]")
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def http(stack: LocalStack, host_keys: dict[str, str]) -> httpx.Client:
    """A client holding only the plain function key."""
    return httpx.Client(base_url=stack.url, headers={"x-functions-key": host_keys["function"]}, timeout=60)


@pytest.fixture(scope="module")
def storage(stack: LocalStack) -> Storage:
    return Storage.from_settings(load_settings(environ={"AzureWebJobsStorage": str(stack.connection_string)}))


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def _until(check: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.25)
    raise AssertionError(f"{what} not reached in {timeout} s")


def _refused(response: httpx.Response, field: str, limit: str | None = None) -> dict[str, Any]:
    assert response.status_code == 400, response.text
    body: dict[str, Any] = response.json()
    assert body["field"] == field, body
    if limit is not None:
        assert body["limit"] == limit and limit in body["message"], body
    return body


def test_a_yaml_anchor_bomb_is_refused_fast_without_expanding_or_storing_it(
    http: httpx.Client, stack: LocalStack, storage: Storage, unique: str
) -> None:
    name = f"bomb-{unique}"
    bomb = yaml_bomb(name)
    assert len(bomb) < 600
    assert stack.process is not None
    before = _rss_mb(stack.process.pid)
    started = time.monotonic()
    response = http.post(f"/api/pipelines/{name}/runs", json={"spec": bomb})
    elapsed = time.monotonic() - started
    _refused(response, "spec", "max_yaml_nodes")
    assert elapsed < 10, f"refusing the bomb took {elapsed:.1f} s"  # unbounded expansion took ~76 s
    assert _rss_mb(stack.process.pid) - before < 200, "the host's memory grew as if it expanded the bomb"
    assert list(storage.pipelines.query(pk=name)) == [], "a spec row was written"
    spilled = list(storage.blobs.list_names(SPILL_CONTAINER, f"pipelines/{name}"))
    assert spilled == [], "a spec blob was written"
    assert http.get("/api/health").status_code in (200, 503)


def test_deep_yaml_and_deep_json_are_refused_naming_the_depth_limit(http: httpx.Client, unique: str) -> None:
    name = f"deep-{unique}"
    deep_yaml = f"name: {name}\nx: " + "[" * 1000 + "]" * 1000 + "\n"
    _refused(http.post(f"/api/pipelines/{name}/runs", json={"spec": deep_yaml}), "spec", "max_depth")
    deep_json = '{"spec": ' + "[" * 1000 + "]" * 1000 + "}"
    response = http.post(
        f"/api/pipelines/{name}/runs", content=deep_json, headers={"content-type": "application/json"}
    )
    _refused(response, "body", "max_depth")
    deep_rows = '{"rows": ' + "[" * 5000 + "]" * 5000 + "}"
    response = http.post(f"/api/models/{name}/score", content=deep_rows)
    _refused(response, "body", "max_depth")


def test_an_oversized_spec_is_refused_naming_the_size_limit(http: httpx.Client, unique: str) -> None:
    name = f"big-{unique}"
    big = _spec(name, description="x" * 300_000)
    _refused(http.post(f"/api/pipelines/{name}/runs", json={"spec": big}), "spec", "max_spec_bytes")
    _refused(
        http.post(f"/api/pipelines/{name}/runs", json={"spec": yaml.safe_dump(big)}), "spec", "max_spec_bytes"
    )


def test_a_spec_that_is_not_a_mapping_is_a_400_naming_spec(http: httpx.Client, unique: str) -> None:
    for bad in (42, [1, 2], True):
        _refused(http.post(f"/api/pipelines/p-{unique}/runs", json={"spec": bad}), "spec")


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("/api/drift/some-model?top=abc", "top"),
        ("/api/drift/some-model?top=-5", "top"),
        ("/api/runs?top=abc", "top"),
        ("/api/costs?day=abc", "day"),
        ("/api/costs?day=2026-13-45", "day"),
    ],
)
def test_malformed_query_parameters_are_a_400_naming_them(http: httpx.Client, path: str, field: str) -> None:
    _refused(http.get(path), field)


def test_a_malformed_day_cannot_write_a_cost_report(http: httpx.Client) -> None:
    _refused(http.post("/api/costs/report?day=../../etc"), "day")


def test_a_caller_cannot_choose_the_drift_trigger_or_start_a_cooldown(
    http: httpx.Client, storage: Storage, unique: str
) -> None:
    name = f"trig-{unique}"
    response = http.post(f"/api/pipelines/{name}/runs", json={"spec": _spec(name), "trigger": "drift"})
    _refused(response, "trigger")
    assert list(storage.runs.query(pk=name)) == [], "a refused request started a run"
    assert retrain_ledgers(storage).try_get(LEDGER_PARTITION, name) is None, "a cooldown was recorded"


def test_the_202_of_a_run_request_carries_app_urls_and_no_system_key(
    http: httpx.Client, storage: Storage, host_keys: dict[str, str], unique: str
) -> None:
    name = f"links-{unique}"
    response = http.post(f"/api/pipelines/{name}/runs", json={"spec": _spec(name), "trigger": "cli"})
    assert response.status_code == 202, response.text
    body = response.json()
    run_id = body["run_id"]
    text = response.text + json.dumps(dict(response.headers))
    assert host_keys["durable_system"] not in text, "the 202 hands out the Durable system key"
    assert "code=" not in text and "/runtime/webhooks" not in text, text
    assert body["run_url"] == f"/api/runs/{run_id}"
    assert response.headers["location"].endswith(f"/api/runs/{run_id}")
    run = http.get(body["run_url"])
    assert host_keys["durable_system"] not in run.text
    assert run.json()["run_id"] == run_id and run.json()["trigger"] == "http", (
        "the server decides the trigger"
    )


def _queue(stack: LocalStack, name: str) -> QueueClient:
    client = QueueClient.from_connection_string(str(stack.connection_string), name)
    with contextlib.suppress(ResourceExistsError):
        client.create_queue()
    return client


def _poison_records(storage: Storage, token: str) -> list[Any]:
    return [e for e in storage.audit.query(pk=AUDIT_ENTITY) if token in json.dumps(e.data)]


def test_a_non_base64_message_goes_once_to_poison_with_one_audit_record(
    stack: LocalStack, storage: Storage, unique: str
) -> None:
    token = f"garbage-{unique}"
    _queue(stack, "retrain-requests").send_message(f"%%% not base64, not JSON {token} %%%")
    records = _until(lambda: _poison_records(storage, token), 60, "the poison record")
    assert len(records) == 1 and "malformed" in (records[0].reason or ""), records
    assert records[0].data["dequeue_count"] == 1
    assert token in records[0].data["body"]
    # The record is written by the poison trigger: it read the message, so there was no second hop.
    poison = storage.retrain_requests.poison()
    _until(lambda: not any(token in m.text for m in poison.peek(32)), 30, "the poison message settled")
    poison_poison = _queue(stack, "retrain-requests-poison-poison")
    assert not any(token in m.content for m in poison_poison.peek_messages(max_messages=32))
    main = _queue(stack, "retrain-requests")
    assert not any(token in m.content for m in main.peek_messages(max_messages=32))
    assert len(_poison_records(storage, token)) == 1


def test_a_request_that_keeps_failing_is_poisoned_with_its_real_dequeue_count(
    stack: LocalStack, storage: Storage, unique: str
) -> None:
    model = f"nospec-{unique}"  # valid request, but no spec is registered: starting it fails each time
    storage.retrain_requests.send(
        {
            "model": model,
            "pipeline": model,
            "window": "2026-11-21T10",
            "reason": "test",
            "requested_at": "2026-11-21T10:00:00+00:00",
        }
    )
    records = _until(lambda: _poison_records(storage, model), 90, "the poison record")
    assert len(records) == 1, records
    assert records[0].data["dequeue_count"] == MAX_DEQUEUE_COUNT, records[0].data
    assert "attempt 5" in (records[0].reason or "") and "NotFoundError" in (records[0].reason or "")


def test_the_app_and_host_json_agree_on_max_dequeue_count() -> None:
    queues = json.loads((ROOT / "host.json").read_text())["extensions"]["queues"]
    assert queues["maxDequeueCount"] == MAX_DEQUEUE_COUNT
    assert queues["messageEncoding"] == "none", "the app decodes base64 itself (shared/steps/retrain_queue)"
