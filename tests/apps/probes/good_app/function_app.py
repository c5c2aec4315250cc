"""Probe: a small app both the worker and devhost accept (every trigger kind the project uses)."""

from __future__ import annotations

import typing
from collections.abc import Generator
from typing import Any

import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@app.route(route="start", methods=["POST"])
@app.durable_client_input(client_name="client")
async def start(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    instance_id = await client.start_new("flow", None, {"n": 1})
    return client.create_check_status_response(req, instance_id)


@app.orchestration_trigger(context_name="context")
def flow(context: df.DurableOrchestrationContext) -> Generator[Any, Any, Any]:
    result = yield context.call_activity("step", context.get_input())
    return result


@app.activity_trigger(input_name="payload")
def step(payload: typing.Dict[str, Any]) -> typing.Dict[str, Any]:  # noqa: UP006 - the worker refuses dict[...]
    return payload


@app.timer_trigger(schedule="0 0 0 1 1 *", arg_name="timer", run_on_startup=False)
def tick(timer: func.TimerRequest, context: func.Context) -> None:
    pass


@app.queue_trigger(arg_name="msg", queue_name="probe-in", connection="AzureWebJobsStorage")
@app.queue_output(arg_name="out", queue_name="probe-out", connection="AzureWebJobsStorage")
def relay(msg: func.QueueMessage, out: func.Out[str]) -> None:
    out.set(msg.get_body().decode())


@app.route(route="hello")
def hello(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse("hello")
