"""Pipeline and run endpoints: start runs, list them, show one with its steps and gates."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from urllib.parse import urlsplit

import azure.durable_functions as df
import azure.functions as func

from functions import deps
from functions.http_util import handle_errors, int_param, json_body, json_response
from functions.reconcile import reconcile_runs
from functions.starter import start_pipeline
from shared.errors import ValidationError

bp = df.Blueprint()


#: What started a run is the server's to say: every run started through this API is an "http" run.
HTTP_TRIGGER = "http"
#: Kinds of run only the app itself starts (drift monitor, schedule timer); a caller cannot claim them.
SERVER_TRIGGERS = frozenset({"drift", "schedule"})


def _check_trigger(value: object) -> None:
    """Refuse a caller claiming a server-started kind (it would steer cooldowns); other labels are ignored.

    Clients such as the CLI, demo and bench send a label ("cli", "demo", ...); it is informational
    only and the run is recorded as "http" whatever it says.
    """
    if value is None or (isinstance(value, str) and value not in SERVER_TRIGGERS and len(value) <= 40):
        return
    raise ValidationError(
        f"trigger is set by the server (runs started over HTTP are {HTTP_TRIGGER!r}); "
        f"{str(value)[:40]!r} cannot be requested",
        field="trigger",
    )


def _absolute(req: func.HttpRequest, path: str) -> str:
    parts = urlsplit(req.url)
    return f"{parts.scheme}://{parts.netloc}{path}" if parts.scheme and parts.netloc else path


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
    _check_trigger(body.get("trigger"))
    from shared.steps import pipelines

    name = req.route_params["name"]
    storage = deps.storage()
    spec = pipelines.resolve_spec(storage, name, body.get("spec"), deps.settings())
    record = pipelines.register_spec(storage, spec)
    run_id = _new_run_id(name)
    await start_pipeline(client, storage, spec, run_id, HTTP_TRIGGER)
    # App URLs only: the Durable client's response links carry the system key, which would let any
    # function-key caller raise events (e.g. an approval) on its own run through the management API.
    run_url = f"/api/runs/{run_id}"
    body_out = {"run_id": run_id, "pipeline": name, "spec_version": record.spec_version, "run_url": run_url}
    return json_response(body_out, 202, headers={"Location": _absolute(req, run_url)})


@bp.route(route="runs", methods=["GET"], auth_level=func.AuthLevel.FUNCTION)
@bp.durable_client_input(client_name="client")
@handle_errors
async def list_runs(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """Recent runs, newest first (`pipeline`, `top` query parameters); ended instances reconciled."""
    from shared.steps import runs

    top = int_param(req, "top", 50, minimum=1)
    records = await reconcile_runs(client, runs.list_runs(deps.storage(), req.params.get("pipeline"), top))
    return json_response({"runs": [r.model_dump(mode="json") for r in records]})


@bp.route(route="runs/{run_id}", methods=["GET"], auth_level=func.AuthLevel.FUNCTION)
@bp.durable_client_input(client_name="client")
@handle_errors
async def get_run(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """One run: status, steps with timings, gate decisions, metrics, model version."""
    from shared.steps import runs

    # A terminated or crashed instance ends its run row here, so no run stays Running.
    [record] = await reconcile_runs(client, [runs.find_run(deps.storage(), req.route_params["run_id"])])
    data = record.model_dump(mode="json")
    data["gates"] = data.get("gate_decisions", [])
    return json_response(data)
