"""Pipeline and run endpoints: start runs, list them, show one with its steps and gates."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime

import azure.durable_functions as df
import azure.functions as func

from functions import deps
from functions.http_util import handle_errors, json_body, json_response
from functions.starter import start_pipeline
from shared.errors import ValidationError
from shared.steps import pipelines, runs

bp = df.Blueprint()


def _new_run_id(pipeline: str) -> str:
    return f"{pipeline}-{datetime.now(UTC):%Y%m%d%H%M%S}-{secrets.token_hex(4)}"


@bp.route(route="pipelines/{name}/runs", methods=["POST"], auth_level=func.AuthLevel.FUNCTION)
@bp.durable_client_input(client_name="client")
@handle_errors
async def start_pipeline_run(
    req: func.HttpRequest, client: df.DurableOrchestrationClient
) -> func.HttpResponse:
    """202 with the run id and status URLs; 400 naming the spec field when the spec is invalid."""
    body = json_body(req) or {}
    if not isinstance(body, dict):
        raise ValidationError('body must be a JSON object like {"spec": {...}}', field="body")
    name = req.route_params["name"]
    storage = deps.storage()
    spec = pipelines.resolve_spec(storage, name, body.get("spec"), deps.settings())
    record = pipelines.register_spec(storage, spec)
    run_id = _new_run_id(name)
    await start_pipeline(client, storage, spec, run_id, str(body.get("trigger", "http")))
    links = client.get_client_response_links(req, run_id)
    body_out = {
        "run_id": run_id,
        "pipeline": name,
        "spec_version": record.spec_version,
        "run_url": f"/api/runs/{run_id}",
        **links,
    }
    return json_response(body_out, 202, headers={"Location": links["statusQueryGetUri"]})


@bp.route(route="runs", methods=["GET"], auth_level=func.AuthLevel.FUNCTION)
@handle_errors
def list_runs(req: func.HttpRequest) -> func.HttpResponse:
    """Recent runs, newest first (`pipeline`, `top` query parameters)."""
    try:
        top = int(req.params.get("top", "50"))
    except ValueError as exc:
        raise ValidationError("top must be an integer", field="top") from exc
    records = runs.list_runs(deps.storage(), req.params.get("pipeline"), top)
    return json_response({"runs": [r.model_dump(mode="json") for r in records]})


@bp.route(route="runs/{run_id}", methods=["GET"], auth_level=func.AuthLevel.FUNCTION)
@handle_errors
def get_run(req: func.HttpRequest) -> func.HttpResponse:
    """One run: status, steps with timings, gate decisions, metrics, model version."""
    record = runs.find_run(deps.storage(), req.route_params["run_id"])
    data = record.model_dump(mode="json")
    data["gates"] = data.get("gate_decisions", [])
    return json_response(data)
