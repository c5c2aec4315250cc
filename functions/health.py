"""GET /api/health: really probes blob, queue and table storage. Public (load balancer probes)."""

from __future__ import annotations

import json

import azure.functions as func

from functions import deps

bp = func.Blueprint()


@bp.route(route="health", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def health(req: func.HttpRequest) -> func.HttpResponse:
    """200 when every storage service answers, 503 naming the ones that did not."""
    from shared.health import check_storage

    report = check_storage(deps.settings())
    return func.HttpResponse(
        json.dumps(report.to_dict()),
        status_code=200 if report.healthy else 503,
        mimetype="application/json",
    )
