"""The dashboard: one page, its static assets, and the JSON it needs beyond the API.

Protection is the API's: the page and every JSON endpoint take the function key (``?code=`` on
the first visit, then the ``x-functions-key`` header from the page's session storage). The
assets alone are anonymous: they are the shipped, fixed files of ``dashboard/`` and carry no data.
The Durable history is read here through the app's own Durable client (never the management API,
whose system key a function-key page must not get), folded into timeline spans and paged.
Terminating a run is admin level like approving (DESIGN 3b): a function key starts and reads runs.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlsplit

import azure.durable_functions as df
import azure.functions as func

from functions import deps
from functions.http_util import handle_errors, int_param, json_body, json_response
from functions.reconcile import reconcile_runs
from shared.contracts import is_terminal
from shared.errors import NotFoundError, StateConflictError, ValidationError
from shared.steps import dashboard_history as history

bp = df.Blueprint()
log = logging.getLogger("mlops.dashboard")
CACHE = history.HistoryCache(size=8)
#: Parts of a run whose history the dashboard reads: the run's instance and its training job's.
PARTS = {"run": "", "train": "-train"}
MAX_REASON = 500
#: The page runs only its own shipped scripts and talks only to this app.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)


def _page_params(req: func.HttpRequest) -> tuple[int, int]:
    offset = int_param(req, "offset", 0, maximum=10_000_000)
    limit = int_param(req, "limit", history.DEFAULT_PAGE, minimum=1, maximum=history.MAX_PAGE)
    return offset, limit


def _instance(req: func.HttpRequest) -> tuple[str, str]:
    """The part asked for and its instance id, of an existing run (400 for another part, 404 no run)."""
    from shared.steps import runs

    part = req.params.get("part") or "run"
    if part not in PARTS:
        raise ValidationError(f"query parameter part must be one of {', '.join(PARTS)}", field="part")
    record = runs.find_run(deps.storage(), req.route_params["run_id"])
    return part, record.run_id + PARTS[part]


def _events(status: df.DurableOrchestrationStatus | None) -> list[dict[str, Any]]:
    """The status's history: the SDK keeps the management API's ``historyEvents`` as an extra attribute."""
    if status is None:
        return []
    events = getattr(status, "historyEvents", None) or status.history or []
    return [e for e in events if isinstance(e, dict)]


async def _fold(client: df.DurableOrchestrationClient, part: str, instance_id: str) -> history.FoldedHistory:
    cached = CACHE.get(instance_id)
    if cached is not None:
        return cached
    train = part == "train"
    # Outputs only for the training job: its polls carry the job's states (a short history).
    status = await client.get_status(instance_id, show_history=True, show_history_output=train)
    runtime = getattr(status.runtime_status, "value", None) if status is not None else None
    if runtime is None:  # the run exists, its instance (or training job) has not started yet
        return history.FoldedHistory(instance_id, None, None)
    events = _events(status)
    updated = status.last_updated_time.isoformat() if status.last_updated_time else None
    folded = history.fold(instance_id, runtime, updated, events)
    if train:
        folded.spans = history.job_states(events) + folded.spans
    CACHE.put(folded)
    return folded


@bp.route(route="dashboard", methods=["GET"], auth_level=func.AuthLevel.FUNCTION)
@handle_errors
def dashboard_page(req: func.HttpRequest) -> func.HttpResponse:
    """The single page (its scripts load from dashboard/assets, relative to a path without a slash)."""
    from shared.steps import dashboard

    path = urlsplit(req.url).path
    if path.endswith("/"):  # relative asset links would resolve under .../dashboard/ otherwise
        return func.HttpResponse(status_code=302, headers={"Location": path.rstrip("/")})
    body, content_type = dashboard.asset("index.html")
    headers = {
        "Content-Type": content_type,
        "Cache-Control": "no-store",
        "Referrer-Policy": "no-referrer",  # the first visit's address carries the key
        "Content-Security-Policy": CSP,
        "X-Content-Type-Options": "nosniff",
    }
    return func.HttpResponse(body, status_code=200, headers=headers)


@bp.route(route="dashboard/assets/{name}", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
@handle_errors
def dashboard_asset(req: func.HttpRequest) -> func.HttpResponse:
    """A shipped static file of dashboard/ by name (no data, so no key)."""
    from shared.steps import dashboard

    body, content_type = dashboard.asset(req.route_params["name"])
    headers = {
        "Content-Type": content_type,
        "Cache-Control": "max-age=300",
        "X-Content-Type-Options": "nosniff",
    }
    return func.HttpResponse(body, status_code=200, headers=headers)


@bp.route(route="dashboard/runs", methods=["GET"], auth_level=func.AuthLevel.FUNCTION)
@bp.durable_client_input(client_name="client")
@handle_errors
async def dashboard_runs(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """A page of runs (pipeline, status, trigger, since, until filters) and the filters' values."""
    from shared.steps import dashboard

    offset, limit = _page_params(req)
    chosen, facets = dashboard.filter_runs(
        deps.storage(),
        pipeline=req.params.get("pipeline"),
        status=req.params.get("status"),
        trigger=req.params.get("trigger"),
        since=req.params.get("since"),
        until=req.params.get("until"),
    )
    window = history.page(chosen, offset, limit)
    shown = await reconcile_runs(client, window["items"])  # ended instances end their open rows
    window["items"] = [dashboard.run_summary(r) for r in shown]
    return json_response({**window, "facets": facets})


@bp.route(route="dashboard/runs/{run_id}/timeline", methods=["GET"], auth_level=func.AuthLevel.FUNCTION)
@bp.durable_client_input(client_name="client")
@handle_errors
async def dashboard_timeline(
    req: func.HttpRequest, client: df.DurableOrchestrationClient
) -> func.HttpResponse:
    """One page of a run's (or its training job's) timeline spans with the history's summary."""
    from shared.steps import dashboard, runs

    offset, limit = _page_params(req)
    part, instance_id = _instance(req)
    folded = await _fold(client, part, instance_id)
    body = {**folded.summary(), **history.page(folded.spans, offset, limit)}
    if part == "run" and offset == 0:
        record = runs.find_run(deps.storage(), req.route_params["run_id"])
        body["steps"] = dashboard.step_spans(record)
    return json_response(body)


@bp.route(route="dashboard/runs/{run_id}/history", methods=["GET"], auth_level=func.AuthLevel.FUNCTION)
@bp.durable_client_input(client_name="client")
@handle_errors
async def dashboard_history(
    req: func.HttpRequest, client: df.DurableOrchestrationClient
) -> func.HttpResponse:
    """One page of history events without payloads (``types`` filters by event type)."""
    offset, limit = _page_params(req)
    folded = await _fold(client, *_instance(req))
    events = history.filter_events(folded.events, req.params.get("types"))
    return json_response({**folded.summary(), **history.page(events, offset, limit)})


@bp.route(
    route="dashboard/runs/{run_id}/history/{index}", methods=["GET"], auth_level=func.AuthLevel.FUNCTION
)
@bp.durable_client_input(client_name="client")
@handle_errors
async def dashboard_event(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """One history event with its input/result, loaded on demand (cut at 64,000 characters)."""
    text = req.route_params["index"]
    if not text.isdigit():
        raise ValidationError("index must be a non-negative integer", field="index")
    _, instance_id = _instance(req)
    status = await client.get_status(instance_id, show_history=True, show_history_output=True)
    detail = history.event_detail(_events(status), int(text))
    if detail is None:
        raise NotFoundError(f"no event {text} in the history of {instance_id!r}", field="index")
    return json_response(detail)


@bp.route(route="dashboard/models", methods=["GET"], auth_level=func.AuthLevel.FUNCTION)
@handle_errors
def dashboard_models(req: func.HttpRequest) -> func.HttpResponse:
    """Every model's versions with lineage (dataset -> run -> version -> aliases, deployments)."""
    from shared.steps import dashboard

    return json_response({"models": dashboard.lineage(deps.storage())})


@bp.route(route="dashboard/costs", methods=["GET"], auth_level=func.AuthLevel.FUNCTION)
@handle_errors
def dashboard_costs(req: func.HttpRequest) -> func.HttpResponse:
    """Costs per day x model and per run, with the daily budget line and alerts."""
    from shared.steps import dashboard

    return json_response(dashboard.cost_series(deps.storage()))


@bp.route(route="runs/{run_id}/terminate", methods=["POST"], auth_level=func.AuthLevel.ADMIN)
@bp.durable_client_input(client_name="client")
@handle_errors
async def terminate_run(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """Terminate a run's instance (admin); its row ends Cancelled with the reason on the next read."""
    from shared.steps import runs

    body = json_body(req) or {}
    reason = body.get("reason", "terminated from the dashboard") if isinstance(body, dict) else None
    if not isinstance(reason, str) or not reason or len(reason) > MAX_REASON:
        raise ValidationError(
            f"reason must be a non-empty string of at most {MAX_REASON} characters", field="reason"
        )
    record = runs.find_run(deps.storage(), req.route_params["run_id"])
    if is_terminal(record.status):
        raise StateConflictError(f"run {record.run_id} already ended ({record.status})", field="run_id")
    await client.terminate(record.run_id, reason)
    try:  # a training job still running outlives its terminated parent otherwise
        await client.terminate(record.run_id + PARTS["train"], reason)
    except Exception as exc:  # not started yet, or already ended (both fine)
        log.info("training instance of %s not terminated: %s", record.run_id, exc)
    [ended] = await reconcile_runs(client, [record])
    return json_response({"run_id": record.run_id, "status": ended.status, "reason": reason}, 202)
