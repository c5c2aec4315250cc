"""Probe: an HTTP function annotated "-> None" (its $return binding needs an HTTP response type)."""

from __future__ import annotations

import azure.functions as func

app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@app.route(route="x")
def answer(req: func.HttpRequest) -> None:
    pass
