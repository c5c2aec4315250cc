"""Probe: a fine app without host.json (the host uses its default)."""

from __future__ import annotations

import azure.functions as func

app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@app.route(route="x")
def answer(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse("x")
