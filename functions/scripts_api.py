"""Trainer script endpoints: admins register code; any app client can list what is registered."""

from __future__ import annotations

import azure.functions as func

from functions import deps
from functions.http_util import handle_errors, json_response

bp = func.Blueprint()


def _actor(req: func.HttpRequest) -> str:
    # App Service authentication sets this header for an Azure identity (and strips it from
    # incoming requests); without it the caller held the admin (master) key.
    principal = req.headers.get("x-ms-client-principal-name")
    return f"identity:{principal}" if principal else "admin-key"


@bp.route(route="scripts/{name}", methods=["POST"], auth_level=func.AuthLevel.ADMIN)
@handle_errors
def register_script(req: func.HttpRequest) -> func.HttpResponse:
    """Store the body as trainer script ``name`` (create-only, sha256 recorded): 201, or 409 if taken."""
    from shared.steps import scripts

    script = scripts.register_script(deps.storage(), req.route_params["name"], req.get_body(), _actor(req))
    return json_response(script.describe(), 201)


@bp.route(route="scripts", methods=["GET"], auth_level=func.AuthLevel.FUNCTION)
@handle_errors
def list_scripts(req: func.HttpRequest) -> func.HttpResponse:
    """Shipped and registered trainer scripts with their sha256 (what a spec may name and pin)."""
    from shared.steps import scripts

    return json_response({"scripts": scripts.list_scripts(deps.storage())})
