"""Probe: an annotation naming something that does not exist (typing.get_type_hints fails)."""

from __future__ import annotations

import azure.functions as func

app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@app.route(route="x")
def answer(req: Nope) -> func.HttpResponse:  # type: ignore[name-defined]  # noqa: F821
    return func.HttpResponse("x")
