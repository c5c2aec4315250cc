"""Model registry endpoints and the scoring endpoint."""

from __future__ import annotations

import azure.functions as func

from functions import deps
from functions.http_util import handle_errors, json_body, json_response
from shared.errors import NotFoundError

bp = func.Blueprint()


@bp.route(route="models", methods=["GET"], auth_level=func.AuthLevel.FUNCTION)
@handle_errors
def list_models(req: func.HttpRequest) -> func.HttpResponse:
    """Every model with its latest version and the version at its deployment alias."""
    from shared.steps import current_spec

    return json_response({"models": current_spec.model_listing(deps.storage())})


@bp.route(route="models/{name}", methods=["GET"], auth_level=func.AuthLevel.FUNCTION)
@handle_errors
def get_model(req: func.HttpRequest) -> func.HttpResponse:
    """One model's versions (with lineage and metrics) and aliases."""
    name = req.route_params["name"]
    storage = deps.storage()
    versions = [r.model_dump(mode="json") for r in storage.models.query(pk=name)]
    if not versions:
        raise NotFoundError(f"model {name!r} not found", field="name")
    aliases = {a.alias: a.version for a in storage.aliases.query(pk=name)}
    return json_response({"name": name, "versions": versions, "aliases": aliases})


@bp.route(route="models/{name}/score", methods=["POST"], auth_level=func.AuthLevel.FUNCTION)
@handle_errors
def score(req: func.HttpRequest) -> func.HttpResponse:
    """Predictions for JSON rows from the version at the deployment alias; 400 naming a bad feature."""
    payload = json_body(req, required=True)
    result = deps.server().score(
        req.route_params["name"],
        payload,
        sample_rate=deps.settings().inference_sample_rate,
        routing_key=req.headers.get("x-routing-key"),  # else the body's routing_key (a rollout's split)
    )
    return json_response(result)


@bp.route(route="models/{name}/feedback", methods=["POST"], auth_level=func.AuthLevel.FUNCTION)
@handle_errors
def feedback(req: func.HttpRequest) -> func.HttpResponse:
    """Ground-truth labels for earlier predictions, by prediction id; 400 naming the row and field."""
    from shared.steps.feedback_intake import record_feedback

    payload = json_body(req, required=True)
    return json_response(record_feedback(deps.storage(), req.route_params["name"], payload))
