"""POST /api/runs/{run_id}/approval: the only way a decision reaches a waiting run.

Admin level (DESIGN 3b: approving is more than a function key may do). Who decided: the signed-in
principal from App Service authentication headers when present (the platform sets them and strips
any a client sends when authentication is on), else the key level the host admitted, with a short
fingerprint of the key so rotations can be told apart (never the key itself).
"""

from __future__ import annotations

import hashlib
from typing import Literal, cast

import azure.durable_functions as df
import azure.functions as func

from functions import deps
from functions.http_util import handle_errors, json_body, json_response
from orchestrations import names
from shared.contracts import ApprovalEvent
from shared.errors import StorageUnavailableError, ValidationError

bp = df.Blueprint()

DECISIONS = ("approve", "reject")
MAX_COMMENT = 2000


def caller(req: func.HttpRequest) -> str:
    """Who is calling (see the module docstring)."""
    name = req.headers.get("x-ms-client-principal-name")
    principal_id = req.headers.get("x-ms-client-principal-id")
    if name or principal_id:
        return f"principal:{name or '?'} ({principal_id or 'no id'})"
    key = req.headers.get("x-functions-key") or req.params.get("code") or ""
    fingerprint = hashlib.sha256(key.encode()).hexdigest()[:8] if key else "none"
    return f"admin key (sha256 {fingerprint})"


def _parse(body: object) -> tuple[Literal["approve", "reject"], str]:
    if not isinstance(body, dict):
        raise ValidationError('body must be a JSON object like {"decision": "approve"}', field="body")
    decision = body.get("decision")
    if decision not in DECISIONS:
        raise ValidationError(
            f"decision must be one of {', '.join(DECISIONS)}, got {str(decision)[:40]!r}", field="decision"
        )
    comment = body.get("comment", "")
    if comment is None:
        comment = ""
    if not isinstance(comment, str) or len(comment) > MAX_COMMENT:
        raise ValidationError(
            f"comment must be a string of at most {MAX_COMMENT} characters", field="comment"
        )
    unknown = sorted(set(body) - {"decision", "comment"})
    if unknown:
        raise ValidationError(f"unknown field {unknown[0][:64]!r}", field=unknown[0][:64])
    return cast(Literal["approve", "reject"], decision), comment


@bp.route(route="runs/{run_id}/approval", methods=["POST"], auth_level=func.AuthLevel.ADMIN)
@bp.durable_client_input(client_name="client")
@handle_errors
async def decide_run(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """Record approve/reject on a waiting run (400 bad decision, 409 not waiting), then tell the run."""
    from shared.steps import approvals

    decision, comment = _parse(json_body(req, required=True))
    run_id = req.route_params["run_id"]
    recorded = approvals.record_decision(deps.storage(), run_id, decision, comment, caller(req))
    try:
        await client.raise_event(
            run_id, names.APPROVAL_EVENT, ApprovalEvent(decision_id=recorded.decision_id).to_payload()
        )
    except Exception as exc:  # recorded but not delivered: the same request again re-sends it
        raise StorageUnavailableError(
            f"decision recorded but not delivered to run {run_id}; send it again"
        ) from exc
    return json_response({"run_id": run_id, **recorded.to_payload()}, 202)
