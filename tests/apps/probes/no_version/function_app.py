"""Probe: a fine app whose host.json has no version (the host refuses it)."""

from __future__ import annotations

import azure.functions as func

app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@app.route(route="x")
def answer(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse("x")
