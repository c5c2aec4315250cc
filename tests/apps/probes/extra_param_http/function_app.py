"""Probe: an HTTP function with a parameter no binding declares."""

from __future__ import annotations

import azure.functions as func

app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@app.route(route="x")
def answer(req: func.HttpRequest, extra: str) -> func.HttpResponse:
    return func.HttpResponse("x")
