"""Human approval of a run: waiting, recording a decision, and checking a raised event against it.

A decision counts only when the approval API recorded it on the run row (with who, when and the
comment) and the event the orchestration received names that record's id: a bare event raised
through the Durable management API is ignored and noted on the run.
"""

from __future__ import annotations

import contextlib
import json
import uuid
from datetime import UTC, datetime
from typing import Any, Literal

import pydantic

from shared.contracts import (
    ApprovalCheck,
    ApprovalDecision,
    ApprovalEvent,
    Evaluation,
    RunStatus,
)
from shared.errors import StateConflictError
from shared.steps import audit, runs
from shared.storage.factory import Storage
from shared.storage.records import RunRecord

#: Ignored events kept on the run row (the audit table keeps all of them).
MAX_IGNORED_NOTES = 20


def _entity(run_id: str) -> str:
    return f"run:{run_id}"


def await_approval(
    storage: Storage, pipeline: str, run_id: str, evaluation: Evaluation, timeout_hours: float
) -> RunRecord:
    """Show the run as AwaitingApproval with the evaluation it waits on."""
    since = datetime.now(UTC)
    waiting = {
        "since": since.isoformat(),
        "timeout_hours": timeout_hours,
        "metrics": evaluation.metrics,
        "champion_version": evaluation.champion_version,
        "champion_metrics": evaluation.champion_metrics,
        "gates": evaluation.decisions,
    }

    def wait(r: RunRecord) -> RunRecord:
        if r.status != RunStatus.RUNNING.value:
            return r  # a re-run after the decision, or a run already ended, stays as it is
        details = {**r.details, "awaiting_approval": waiting}
        return r.model_copy(update={"status": RunStatus.AWAITING_APPROVAL.value, "details": details})

    record, _ = storage.runs.update(pipeline, run_id, wait)
    runs.begin_step(storage, pipeline, run_id, "approval", restart=False)  # the wait is on the timeline
    return record


def record_decision(
    storage: Storage,
    run_id: str,
    decision: Literal["approve", "reject"],
    comment: str,
    actor: str,
) -> ApprovalDecision:
    """Record a decision on a waiting run (StateConflictError when it is not waiting or already decided).

    Repeating the same decision while the run still waits returns the recorded one, so a caller
    whose event did not reach the orchestration can send it again.
    """
    record = runs.find_run(storage, run_id)
    new = ApprovalDecision(
        decision_id=uuid.uuid4().hex, decision=decision, actor=actor, at=datetime.now(UTC), comment=comment
    )
    chosen: dict[str, ApprovalDecision] = {}

    def decide(r: RunRecord) -> RunRecord:
        if r.status != RunStatus.AWAITING_APPROVAL.value:
            raise StateConflictError(
                f"run {run_id} is not waiting for approval (status {r.status})", field="run_id"
            )
        existing = r.details.get("approval")
        if existing:
            earlier = ApprovalDecision.model_validate(existing)
            if earlier.decision != decision:
                raise StateConflictError(
                    f"run {run_id} was already decided: {earlier.decision} by {earlier.actor}",
                    field="decision",
                )
            chosen["decision"] = earlier
            return r
        chosen["decision"] = new
        return r.model_copy(update={"details": {**r.details, "approval": new.to_payload()}})

    storage.runs.update(record.pipeline, run_id, decide)
    result = chosen["decision"]
    if result is new:
        audit.record(
            storage,
            _entity(run_id),
            decision,
            comment or f"{decision}d without a comment",
            {"decision_id": new.decision_id, "pipeline": record.pipeline},
            actor=actor,
        )
    return result


def _note_ignored(storage: Storage, pipeline: str, run_id: str, why: str, event: Any) -> None:
    note = {"at": datetime.now(UTC).isoformat(), "why": why}

    def add(r: RunRecord) -> RunRecord:
        notes = [*r.details.get("ignored_approval_events", []), note][-MAX_IGNORED_NOTES:]
        return r.model_copy(update={"details": {**r.details, "ignored_approval_events": notes}})

    storage.runs.update(pipeline, run_id, add)
    audit.record(
        storage,
        _entity(run_id),
        "approval-event-ignored",
        why,
        {"event": repr(event)[:500]},
        actor="pipeline",
    )


def verify(storage: Storage, pipeline: str, run_id: str, event: Any) -> ApprovalCheck:
    """The recorded decision a raised event names, or why the event is ignored (noted on the run)."""
    if isinstance(event, str):
        # The SDK client's raise_event sends its data JSON-encoded once more: it arrives as text.
        with contextlib.suppress(ValueError):
            event = json.loads(event)
    try:
        named = ApprovalEvent.model_validate(event)
    except pydantic.ValidationError:
        why = "event carries no decision id: approve or reject through POST /api/runs/{id}/approval"
        _note_ignored(storage, pipeline, run_id, why, event)
        return ApprovalCheck(ignored=why)
    record = storage.runs.get(pipeline, run_id)[0]
    recorded = record.details.get("approval")
    decision = ApprovalDecision.model_validate(recorded) if recorded else None
    if decision is None or decision.decision_id != named.decision_id:
        why = f"no decision {named.decision_id!r} was recorded by the approval API"
        _note_ignored(storage, pipeline, run_id, why, event)
        return ApprovalCheck(ignored=why)
    if decision.decision == "approve":

        def resume(r: RunRecord) -> RunRecord:
            if r.status != RunStatus.AWAITING_APPROVAL.value:
                return r
            return r.model_copy(update={"status": RunStatus.RUNNING.value})

        storage.runs.update(pipeline, run_id, resume)
    detail = {"decision": decision.decision, "actor": decision.actor, "decision_id": decision.decision_id}
    runs.end_step(storage, pipeline, run_id, "approval", detail)
    return ApprovalCheck(decision=decision)


def record_timeout(storage: Storage, run_id: str, timeout_hours: float) -> None:
    """Audit that nobody decided in time."""
    audit.record(
        storage,
        _entity(run_id),
        "approval-timeout",
        f"no decision within {timeout_hours:g} h",
        {"timeout_hours": timeout_hours},
        actor="pipeline",
    )
