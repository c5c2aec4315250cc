"""Probe: an HTTP function whose return annotation is a PEP 585 generic (explicit $return)."""

from __future__ import annotations

from typing import Any

import azure.functions as func

app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@app.route(route="x")
def answer(req: func.HttpRequest) -> dict[str, Any]:
    return {}
