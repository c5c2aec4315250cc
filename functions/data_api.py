"""Data endpoints: upload a local data file (content-addressed), read a run's quarantined rows."""

from __future__ import annotations

import azure.functions as func

from functions import deps
from functions.http_util import handle_errors, json_response
from shared.errors import ValidationError

bp = func.Blueprint()


def _int_param(req: func.HttpRequest, name: str, default: int) -> int:
    try:
        return int(req.params.get(name, str(default)))
    except ValueError as exc:
        raise ValidationError(f"{name} must be an integer", field=name) from exc


@bp.route(route="data/uploads", methods=["POST"], auth_level=func.AuthLevel.FUNCTION)
@handle_errors
def upload_data(req: func.HttpRequest) -> func.HttpResponse:
    """Store the raw body at data/uploads/<sha256>/<name> (create-only); 201 new, 200 already there."""
    from shared.steps import uploads

    container = uploads.upload_container(deps.settings())
    upload = uploads.store_upload(deps.storage(), req.params.get("name"), req.get_body(), container)
    return json_response(upload.to_dict(), 201 if upload.created else 200)


@bp.route(route="runs/{run_id}/quarantine", methods=["GET"], auth_level=func.AuthLevel.FUNCTION)
@handle_errors
def get_quarantine(req: func.HttpRequest) -> func.HttpResponse:
    """One page of a run's quarantined rows with reasons (`offset`, `limit` query parameters)."""
    from shared.steps import reports

    page = reports.quarantine_page(
        deps.storage(),
        req.route_params["run_id"],
        offset=_int_param(req, "offset", 0),
        limit=_int_param(req, "limit", reports.DEFAULT_PAGE),
    )
    return json_response(page)
