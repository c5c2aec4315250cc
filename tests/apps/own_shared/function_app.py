"""An app with its own top-level ``shared`` package, as many Functions apps have: devhost must host it."""

from __future__ import annotations

import azure.functions as func
from shared.helpers import greeting

app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@app.route(route="hello/{name}", methods=["GET"])
def hello(req: func.HttpRequest) -> func.HttpResponse:
    """Answer with the app's own helper."""
    return func.HttpResponse(greeting(req.route_params["name"]))
