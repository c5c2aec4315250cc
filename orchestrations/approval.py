"""Waiting for a human decision: an external event raced against a durable timer (no I/O here).

Only a decision the approval API recorded counts: each raised event goes to an activity that
looks for that decision on the run row; an event naming no recorded decision (a bare event
raised through the management API) is ignored and noted, and the wait goes on until the same
deadline.
"""

from __future__ import annotations

from datetime import timedelta

import azure.durable_functions as df

from orchestrations import names
from orchestrations.steps import Gen, call
from shared.contracts import (
    ApprovalCheck,
    AwaitApproval,
    Evaluation,
    RunIds,
    RunOutcome,
    RunStatus,
    VerifyApproval,
)


def wait_for_approval(
    context: df.DurableOrchestrationContext, ids: RunIds, evaluation: Evaluation, timeout_hours: float
) -> Gen[RunOutcome | None]:
    """None when approved; otherwise the ApprovalRejected outcome (rejected or timed out)."""
    waiting = AwaitApproval(**ids.model_dump(), evaluation=evaluation, timeout_hours=timeout_hours)
    yield from call(context, names.AWAIT_APPROVAL, waiting, RunIds)
    deadline = context.current_utc_datetime + timedelta(hours=timeout_hours)
    while True:
        # A fresh timer per wait, all with the same deadline: a task is yielded once.
        timer = context.create_timer(deadline)
        event = context.wait_for_external_event(names.APPROVAL_EVENT)
        winner = yield context.task_any([event, timer])
        if winner is timer:
            reason = f"timed out after {timeout_hours:g} h"
            details = {"approval": {"timed_out": True, "timeout_hours": timeout_hours}}
            return RunOutcome(
                status=RunStatus.APPROVAL_REJECTED, reason=reason, step="approval", details=details
            )
        timer.cancel()
        check = VerifyApproval(**ids.model_dump(), event=event.result)
        verdict = yield from call(context, names.VERIFY_APPROVAL, check, ApprovalCheck)
        if verdict.decision is None:
            continue  # ignored and noted by the activity
        decision = verdict.decision
        if decision.decision == "approve":
            return None
        reason = f"rejected by {decision.actor}" + (f": {decision.comment}" if decision.comment else "")
        details = {"approval": decision.to_payload()}
        return RunOutcome(status=RunStatus.APPROVAL_REJECTED, reason=reason, step="approval", details=details)
