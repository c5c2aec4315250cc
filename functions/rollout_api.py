"""Rollout control: see a model's rollout, promote or roll it back by hand, roll production back.

Reading is a function key's; changing what production serves is admin level (README, trust
model). Each change is recorded in ``audit`` with who made it, and a running rollout is woken so
its orchestration ends with that decision instead of baking on.
"""

from __future__ import annotations

import contextlib
from typing import Any

import azure.durable_functions as df
import azure.functions as func

from functions import deps
from functions.approvals import MAX_COMMENT, caller
from functions.http_util import handle_errors, json_body, json_response
from orchestrations import names
from shared.errors import StateConflictError, ValidationError

# Steps are imported inside each trigger: importing function_app must stay light (cold start).

bp = df.Blueprint()


def _body(req: func.HttpRequest, fields: set[str]) -> dict[str, Any]:
    body = json_body(req, required=True)
    if not isinstance(body, dict):
        raise ValidationError("body must be a JSON object", field="body")
    unknown = sorted(set(body) - fields)
    if unknown:
        raise ValidationError(f"unknown field {unknown[0][:64]!r}", field=unknown[0][:64])
    comment = body.get("comment") or ""
    if not isinstance(comment, str) or len(comment) > MAX_COMMENT:
        raise ValidationError(
            f"comment must be a string of at most {MAX_COMMENT} characters", field="comment"
        )
    return {**body, "comment": comment}


@bp.route(route="models/{name}/rollout", methods=["GET"], auth_level=func.AuthLevel.FUNCTION)
@handle_errors
def rollout_status(req: func.HttpRequest) -> func.HttpResponse:
    """The version at the model's deployment alias and its latest rollout (status, share, checks)."""
    from shared.steps import current_spec, rollout

    name = req.route_params["name"]
    storage = deps.storage()
    return json_response(rollout.describe(storage, name, current_spec.deployment_alias(storage, name)))


@bp.route(route="models/{name}/rollout", methods=["POST"], auth_level=func.AuthLevel.ADMIN)
@bp.durable_client_input(client_name="client")
@handle_errors
async def rollout_control(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """``{"action": "promote"|"rollback", "comment": ...}`` on the baking rollout (409 when none)."""
    from shared.steps import current_spec, rollout

    body = _body(req, {"action", "comment"})
    action = rollout.check_action(body.get("action"))
    name = req.route_params["name"]
    storage = deps.storage()
    alias = current_spec.deployment_alias(storage, name)
    baking = rollout.active(storage, name, alias)
    if baking is None:
        raise StateConflictError(f"model {name!r} has no rollout in progress at {alias!r}", field="model")
    who = caller(req)
    reason = f"{action} by hand" + (f": {body['comment']}" if body["comment"] else "")
    record, decided = rollout.end(
        storage, name, alias, baking.rollout_id, promote=action == "promote", reason=reason, actor=who
    )
    if not decided:
        raise StateConflictError(
            f"the rollout of {record.candidate} already ended: {record.status} ({record.reason})",
            field="model",
        )
    # Wake the orchestration so it ends with this decision now; if it is gone, the decision stands.
    with contextlib.suppress(Exception):
        await client.raise_event(f"{baking.rollout_id}-rollout", names.ROLLOUT_EVENT, {"action": action})
    return json_response(rollout.describe(storage, name, alias))


@bp.route(route="models/{name}/rollback", methods=["POST"], auth_level=func.AuthLevel.ADMIN)
@handle_errors
def rollback_production(req: func.HttpRequest) -> func.HttpResponse:
    """``{"to": VERSION, "comment": ...}``: point production back at a registered version."""
    from shared.steps import current_spec, rollout

    body = _body(req, {"to", "comment"})
    version = body.get("to")
    if not isinstance(version, str) or not version.strip():
        raise ValidationError("to must name a registered version, e.g. 000001", field="to")
    if version.isdigit():
        version = version.zfill(6)
    name = req.route_params["name"]
    storage = deps.storage()
    alias = current_spec.deployment_alias(storage, name)
    moved = rollout.rollback_to(storage, name, alias, version, caller(req), body["comment"])
    return json_response(moved)
