"""Argument binding and output collection for user functions; timer monitor defaults."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import azure.functions as func
import pytest

from devhost.errors import AppLoadError
from devhost.invocation import invoke, queue_out_messages
from devhost.loader import load_app
from devhost.queue_listener import trigger_argument
from devhost.schedule import parse_schedule
from devhost.timers import ScheduleStatus, TimerJob, monitor_enabled, timer_zone

APP = """
import azure.functions as func
app = func.FunctionApp()

@app.route(route="x", auth_level=func.AuthLevel.ANONYMOUS)
@app.queue_output(arg_name="out", queue_name="outq", connection="AzureWebJobsStorage")
def sync_fn(req: func.HttpRequest, out: func.Out[str], context: func.Context) -> str:
    out.set(req.get_body().decode())
    return context.function_name

@app.queue_trigger(arg_name="msg", queue_name="inq", connection="AzureWebJobsStorage")
async def as_text(msg: str) -> None:
    pass

@app.timer_trigger(schedule="* * * * * *", arg_name="t")
def fast(t: func.TimerRequest) -> None:
    pass

@app.timer_trigger(schedule="0 0 * * * *", arg_name="t")
def hourly(t: func.TimerRequest) -> None:
    pass

@app.timer_trigger(schedule="0 0 9 * * *", arg_name="t")
def daily9(t: func.TimerRequest) -> None:
    pass

@app.timer_trigger(schedule="* * * * * *", arg_name="t", use_monitor=True)
def fast_monitored(t: func.TimerRequest) -> None:
    pass
"""


@pytest.fixture
def app(tmp_path: Path) -> Any:
    (tmp_path / "function_app.py").write_text(APP)
    (tmp_path / "host.json").write_text("{}")
    return load_app(tmp_path, {})


def test_sync_function_gets_context_and_out(app: Any) -> None:
    spec = app.by_name("sync_fn")
    request = func.HttpRequest("POST", "http://h/api/x", body=b"hello")
    result = asyncio.run(invoke(spec, request, app_dir="/app"))
    assert result.result == "sync_fn"
    assert result.outputs == {"out": "hello"}


def test_str_annotated_queue_trigger_gets_text(app: Any) -> None:
    spec = app.by_name("as_text")
    assert trigger_argument(spec, b"body") == "body"


def test_queue_message_argument_carries_metadata(app: Any) -> None:
    spec = app.by_name("sync_fn")  # not str/bytes annotated trigger: a QueueMessage
    message = trigger_argument(spec, b'{"a": 1}', id="m1", dequeue_count=3, pop_receipt="p")
    assert isinstance(message, func.QueueMessage)
    assert message.get_json() == {"a": 1}
    assert (message.id, message.dequeue_count, message.pop_receipt) == ("m1", 3, "p")
    assert message.insertion_time is not None and message.expiration_time is not None


def test_queue_output_values() -> None:
    assert queue_out_messages("a") == [b"a"]
    assert queue_out_messages(["a", b"b"]) == [b"a", b"b"]
    assert queue_out_messages(func.QueueMessage(body="q")) == [b"q"]
    assert queue_out_messages(None) == []
    with pytest.raises(TypeError):
        queue_out_messages({"a": 1})


def test_monitor_defaults_follow_the_recurrence(app: Any) -> None:
    now = datetime(2024, 1, 1, tzinfo=UTC)
    for name, expected in (("fast", False), ("hourly", True), ("fast_monitored", True)):
        spec = app.by_name(name)
        assert monitor_enabled(spec, parse_schedule(spec.trigger.get("schedule")), now) is expected


def test_schedule_status_round_trip() -> None:
    status = ScheduleStatus(datetime(2024, 1, 1, tzinfo=UTC), datetime(2024, 1, 2, tzinfo=UTC), None)
    data = json.loads(json.dumps(status.to_json()))
    assert set(data) == {"Last", "Next", "LastUpdated"}
    assert ScheduleStatus.from_json(data) == status


def test_schedules_follow_website_time_zone(app: Any) -> None:
    zone = timer_zone({"WEBSITE_TIME_ZONE": "America/New_York"})
    job = TimerJob(app.by_name("daily9"), None, None, "host", zone)  # type: ignore[arg-type]
    assert job._next(datetime(2024, 1, 1, 12, tzinfo=UTC)) == datetime(2024, 1, 1, 14, tzinfo=UTC)  # EST
    assert job._next(datetime(2024, 7, 1, 12, tzinfo=UTC)) == datetime(2024, 7, 1, 13, tzinfo=UTC)  # EDT
    assert timer_zone({}) is UTC
    with pytest.raises(AppLoadError):
        timer_zone({"WEBSITE_TIME_ZONE": "Eastern Standard Time"})
