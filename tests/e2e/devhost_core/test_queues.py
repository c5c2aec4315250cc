"""Queue triggers and the queue output binding on the session Azurite."""

from __future__ import annotations

import base64
import contextlib
from typing import Any

import httpx
import pytest
from azure.storage.queue import QueueServiceClient

pytestmark = pytest.mark.e2e


def queue(env: dict[str, str], name: str) -> Any:
    client = QueueServiceClient.from_connection_string(env["AzureWebJobsStorage"]).get_queue_client(name)
    with contextlib.suppress(Exception):
        client.create_queue()
    return client


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def test_queue_message_is_processed(
    devhost: Any, app_env: dict[str, str], records: Any, wait_for: Any
) -> None:
    work = queue(app_env, app_env["WORK_QUEUE"])
    sent = work.send_message(b64('{"hello": "queue"}'))
    rows = wait_for(lambda: records("queue"))
    assert len(rows) == 1
    row = rows[0]
    assert row["body"] == '{"hello": "queue"}'
    assert row["message_id"] == sent.id
    assert row["dequeue_count"] == 1
    assert row["has_times"] is True
    wait_for(lambda: work.get_queue_properties().approximate_message_count == 0, timeout=10)


def test_batch_of_messages(devhost: Any, app_env: dict[str, str], records: Any, wait_for: Any) -> None:
    work = queue(app_env, app_env["WORK_QUEUE"])
    for i in range(40):
        work.send_message(b64(f"m{i}"))
    rows = wait_for(lambda: (r := records("queue")) and len(r) >= 40 and r, timeout=60)
    assert sorted(r["body"] for r in rows) == sorted(f"m{i}" for i in range(40))


def test_failing_message_goes_to_poison_after_five_attempts(
    devhost: Any, app_env: dict[str, str], records: Any, wait_for: Any
) -> None:
    fail = queue(app_env, app_env["FAIL_QUEUE"])
    fail.send_message(b64("bad message"))
    poison = queue(app_env, f"{app_env['FAIL_QUEUE']}-poison")
    moved = wait_for(lambda: list(poison.peek_messages(max_messages=5)), timeout=60)
    assert len(moved) == 1
    assert base64.b64decode(moved[0].content).decode() == "bad message"  # original content kept
    attempts = records("fail")
    assert sorted(r["dequeue_count"] for r in attempts) == [1, 2, 3, 4, 5]
    assert all(r["body"] == "bad message" for r in attempts)
    assert fail.get_queue_properties().approximate_message_count == 0


def test_undecodable_message_goes_to_poison(devhost: Any, app_env: dict[str, str], wait_for: Any) -> None:
    work = queue(app_env, app_env["WORK_QUEUE"])
    work.send_message("not base64 !!")
    poison = queue(app_env, f"{app_env['WORK_QUEUE']}-poison")
    moved = wait_for(lambda: list(poison.peek_messages()), timeout=30)
    assert moved[0].content == "not base64 !!"


def test_queue_output_binding_writes_base64(devhost: Any, app_env: dict[str, str], wait_for: Any) -> None:
    response = httpx.post(f"{devhost.url}/api/enqueue", content=b"to the queue", timeout=30)
    assert response.status_code == 202
    out = queue(app_env, app_env["OUT_QUEUE"])
    messages = wait_for(lambda: list(out.peek_messages()), timeout=10)
    assert base64.b64decode(messages[0].content).decode() == "to the queue"


def test_admin_runs_queue_function_with_input(
    devhost: Any, app_env: dict[str, str], records: Any, wait_for: Any
) -> None:
    master = devhost.keys()["master"]
    response = httpx.post(
        f"{devhost.url}/admin/functions/record_queue",
        json={"input": "from admin"},
        headers={"x-functions-key": master},
        timeout=30,
    )
    assert response.status_code == 202
    rows = wait_for(lambda: records("queue"))
    assert rows[0]["body"] == "from admin"
