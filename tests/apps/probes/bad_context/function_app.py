"""Probe: a context parameter annotated with something other than func.Context."""

from __future__ import annotations

import azure.functions as func

app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@app.route(route="x")
def answer(req: func.HttpRequest, context: str) -> func.HttpResponse:
    return func.HttpResponse("x")
