"""devhost's e2e test app: every trigger and auth level devhost serves, recording what it saw.

Settings (environment): RECORD_TABLE (table the queue/timer functions write to), WORK_QUEUE,
FAIL_QUEUE, OUT_QUEUE (queue names), TICK_SCHEDULE (the `tick` timer's schedule).
"""

from __future__ import annotations

import json
import os
import uuid
from datetime import UTC, datetime

import azure.functions as func
from azure.data.tables import TableServiceClient

STORAGE = "AzureWebJobsStorage"
app = func.FunctionApp(http_auth_level=func.AuthLevel.FUNCTION)


def _record(kind: str, **fields: object) -> None:
    service = TableServiceClient.from_connection_string(os.environ[STORAGE])
    table = service.create_table_if_not_exists(os.environ["RECORD_TABLE"])
    table.create_entity({"PartitionKey": kind, "RowKey": uuid.uuid4().hex, "pid": os.getpid(), **fields})


@app.route(route="anon", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def anon(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse("anon ok")


@app.route(route="secure", methods=["GET", "POST"])
def secure(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse("function ok")


@app.route(route="admin-only", methods=["GET"], auth_level=func.AuthLevel.ADMIN)
def admin_only(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse("admin ok")


@app.route(route="items/{id:int}/{name?}", methods=["GET", "HEAD"], auth_level=func.AuthLevel.ANONYMOUS)
def items(req: func.HttpRequest) -> func.HttpResponse:
    payload = {
        "route": dict(req.route_params),
        "params": dict(req.params),
        "url": req.url,
        "method": req.method,
    }
    return func.HttpResponse(json.dumps(payload), mimetype="application/json", headers={"x-item": "1"})


@app.route(route="files/{*path}", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def files(req: func.HttpRequest) -> str:
    return req.route_params.get("path", "")


@app.route(route="echo", methods=["POST"], auth_level=func.AuthLevel.ANONYMOUS)
async def echo(req: func.HttpRequest, context: func.Context) -> func.HttpResponse:
    body = {
        "body": req.get_body().decode(),
        "header": req.headers.get("x-test"),
        "function": context.function_name,
        "invocation": context.invocation_id,
    }
    return func.HttpResponse(json.dumps(body), status_code=201, mimetype="application/json")


@app.route(route="boom", auth_level=func.AuthLevel.ANONYMOUS)
def boom(req: func.HttpRequest) -> func.HttpResponse:
    raise RuntimeError("boom on purpose")


@app.route(route="enqueue", methods=["POST"], auth_level=func.AuthLevel.ANONYMOUS)
@app.queue_output(arg_name="out", queue_name="%OUT_QUEUE%", connection="AzureWebJobsStorage")
def enqueue(req: func.HttpRequest, out: func.Out[str]) -> func.HttpResponse:
    out.set(req.get_body().decode())
    return func.HttpResponse("queued", status_code=202)


@app.route(route="records/{kind:alpha}", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def records(req: func.HttpRequest) -> func.HttpResponse:
    service = TableServiceClient.from_connection_string(os.environ[STORAGE])
    table = service.create_table_if_not_exists(os.environ["RECORD_TABLE"])
    rows = [dict(e) for e in table.query_entities(f"PartitionKey eq '{req.route_params['kind']}'")]
    return func.HttpResponse(json.dumps(rows, default=str), mimetype="application/json")


@app.route(route="settings", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def settings(req: func.HttpRequest) -> func.HttpResponse:
    names = ("LOCAL_ONLY", "BOTH_PLACES")
    payload = {name: os.environ.get(name) for name in names}
    payload["storage_set"] = bool(os.environ.get(STORAGE))
    return func.HttpResponse(json.dumps(payload), mimetype="application/json")


@app.queue_trigger(arg_name="msg", queue_name="%WORK_QUEUE%", connection="AzureWebJobsStorage")
def record_queue(msg: func.QueueMessage) -> None:
    _record(
        "queue",
        body=msg.get_body().decode(),
        message_id=msg.id or "",
        dequeue_count=msg.dequeue_count or 0,
        has_times=bool(msg.insertion_time and msg.expiration_time),
    )


@app.queue_trigger(arg_name="msg", queue_name="%FAIL_QUEUE%", connection="AzureWebJobsStorage")
def always_fail(msg: func.QueueMessage) -> None:
    _record("fail", body=msg.get_body().decode(), dequeue_count=msg.dequeue_count or 0)
    raise ValueError("this message always fails")


@app.timer_trigger(schedule="%TICK_SCHEDULE%", arg_name="timer", use_monitor=True)
def tick(timer: func.TimerRequest) -> None:
    _record("tick", past_due=timer.past_due, at=datetime.now(UTC).isoformat())


@app.timer_trigger(schedule="0 0 0 1 1 *", arg_name="timer")
def yearly(timer: func.TimerRequest) -> None:
    _record("yearly", past_due=timer.past_due)


@app.timer_trigger(schedule="0 0 0 1 1 *", arg_name="timer", run_on_startup=True)
def on_startup(timer: func.TimerRequest) -> None:
    _record("startup", past_due=timer.past_due)
