"""Probe: an output binding annotated func.Out[dict[str, Any]]."""

from __future__ import annotations

from typing import Any

import azure.functions as func

app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@app.route(route="x")
@app.queue_output(arg_name="out", queue_name="probe-out", connection="AzureWebJobsStorage")
def answer(req: func.HttpRequest, out: func.Out[dict[str, Any]]) -> func.HttpResponse:
    return func.HttpResponse("x")
