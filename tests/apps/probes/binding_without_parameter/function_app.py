"""Probe: an output binding whose name no parameter has."""

from __future__ import annotations

import azure.functions as func

app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@app.route(route="x")
@app.queue_output(arg_name="out", queue_name="probe-out", connection="AzureWebJobsStorage")
def answer(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse("x")
