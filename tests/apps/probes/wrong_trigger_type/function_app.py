"""Probe: a queue trigger parameter annotated with a type the queue binding cannot give."""

from __future__ import annotations

import azure.functions as func

app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@app.queue_trigger(arg_name="msg", queue_name="probe-in", connection="AzureWebJobsStorage")
def take(msg: int) -> None:
    pass
