"""Probe: two FunctionApp objects in one module."""

from __future__ import annotations

import azure.functions as func

app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)

other = func.FunctionApp()


@app.route(route="x")
def answer(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse("x")
