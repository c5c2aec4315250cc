"""Probe: a queue function with a parameter no binding declares."""

from __future__ import annotations

import azure.functions as func

app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@app.queue_trigger(arg_name="msg", queue_name="probe-in", connection="AzureWebJobsStorage")
def take(msg: func.QueueMessage, extra: str) -> None:
    pass
