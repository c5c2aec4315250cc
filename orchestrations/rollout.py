"""The rollout sub-orchestration: canary, linear or shadow steps baked with durable timers (no I/O).

start -> for each step: [advance the share] -> bake (durable timers, one per check interval,
woken early by a manual promote/rollback), checking candidate vs production on the live traffic
of that step -> a breach rolls back at once; at the end of the period too little traffic rolls
back too, and passing every step promotes. A host restart mid-bake replays to
the same timer, so the rollout goes on where it was and ends with one decision (the activities
claim it under an ETag).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import azure.durable_functions as df

from orchestrations import names
from orchestrations.steps import Gen, StepFailed, call, unwrap
from shared.contracts import DeployInput, Deployment, RunStatus, StepFailure, StepReply
from shared.pipeline.operations import Deployment as DeploymentSpec
from shared.rollout_contracts import (
    Action,
    RolloutCheck,
    RolloutDecide,
    RolloutInput,
    RolloutRef,
    RolloutState,
    RolloutStep,
)

bp = df.Blueprint()


def rollout_input(deploying: DeployInput) -> RolloutInput | None:
    """The rollout the spec asks for (None: switch the alias directly)."""
    spec = DeploymentSpec.model_validate(deploying.spec.get("deployment") or {})
    steps = [RolloutStep(share=share, seconds=seconds) for share, seconds in spec.plan()]
    strategy = spec.strategy
    if strategy is None or strategy == "direct" or not steps:
        return None
    return RolloutInput(
        **deploying.model_dump(), strategy=strategy, steps=steps, check_seconds=spec.checks.interval_seconds
    )


def deploy(context: df.DurableOrchestrationContext, deploying: DeployInput) -> Gen[Deployment]:
    """Deploy as the spec says: a direct alias move, or a rollout sub-orchestration that ends in one."""
    plan = rollout_input(deploying)
    if plan is None:
        return (yield from call(context, names.DEPLOY_MODEL, deploying, Deployment))
    raw = yield context.call_sub_orchestrator(names.ROLLOUT, plan.to_payload(), f"{deploying.run_id}-rollout")
    return unwrap(raw, Deployment)


def rollout(context: df.DurableOrchestrationContext) -> Gen[dict[str, Any]]:
    """Run one rollout; returns a StepReply: the Deployment when promoted, a typed failure otherwise."""
    request = RolloutInput.model_validate(context.get_input())
    try:
        state = yield from _steps(context, request)
    except StepFailed as exc:
        return StepReply(failure=exc.failure).to_payload()
    context.set_custom_status({"rollout": request.strategy, "status": state.status, "reason": state.reason})
    if state.status == "Promoted":
        deployment = Deployment(
            model=state.model,
            alias=state.alias,
            version=state.candidate,
            previous=state.production,
            drift_reference=state.drift_reference,
        )
        return StepReply(value=deployment.to_payload()).to_payload()
    message = f"{request.strategy} of version {state.candidate} rolled back"
    message += (
        f" by {state.actor}: {state.reason}" if state.actor not in ("", "pipeline") else f": {state.reason}"
    )
    failure = StepFailure(step="rollout", error="RolledBack", message=message, status=RunStatus.GATE_REJECTED)
    return StepReply(failure=failure).to_payload()


def _steps(context: df.DurableOrchestrationContext, request: RolloutInput) -> Gen[RolloutState]:
    state = yield from call(context, names.START_ROLLOUT, request, RolloutState)
    if state.ended:  # nothing to compare with (first deployment): it was switched directly
        return state
    ref = RolloutRef(
        pipeline=request.pipeline,
        run_id=request.run_id,
        model=state.model,
        alias=state.alias,
        rollout_id=request.run_id,
        strategy=request.strategy,
        spec=request.spec,
    )
    check: RolloutCheck | None = None
    for index, step in enumerate(request.steps):
        ref = ref.model_copy(update={"step": index, "share": step.share})
        if check is not None:  # the previous step passed: raise the share
            state = yield from _decide(context, ref, request, "advance", check)
            if state.ended:
                return state
        context.set_custom_status({"rollout": request.strategy, "step": index + 1, "share": step.share})
        check = yield from _bake(context, ref, step, request.check_seconds)
        if check.verdict == "ended":
            return (yield from _decide(context, ref, request, "rollback", check))
        if check.verdict != "pass":  # a breach, or too little traffic to tell
            return (yield from _decide(context, ref, request, "rollback", check))
    assert check is not None  # a rollout has at least one step
    return (yield from _decide(context, ref, request, "promote", check))


def _bake(
    context: df.DurableOrchestrationContext, ref: RolloutRef, step: RolloutStep, every: float
) -> Gen[RolloutCheck]:
    """Bake one step: check every ``every`` seconds; a breach (or a manual decision) ends it at once,
    anything else waits for the end of the period, whose check is the step's verdict."""
    deadline = context.current_utc_datetime + timedelta(seconds=step.seconds)
    while True:
        wake = min(deadline, context.current_utc_datetime + timedelta(seconds=every))
        timer = context.create_timer(wake)  # a fresh task per wait
        event = context.wait_for_external_event(names.ROLLOUT_EVENT)
        winner = yield context.task_any([event, timer])
        if winner is not timer:
            timer.cancel()
        check = yield from call(context, names.CHECK_ROLLOUT, ref, RolloutCheck)
        if check.verdict in ("ended", "breach"):
            return check
        if winner is timer and wake >= deadline:
            return check
        # an early check that found nothing wrong, or a stray event: bake on to the same deadline


def _decide(
    context: df.DurableOrchestrationContext,
    ref: RolloutRef,
    request: RolloutInput,
    action: Action,
    check: RolloutCheck,
) -> Gen[RolloutState]:
    reason = "every check passed" if action == "promote" else check.reason
    decide = RolloutDecide(
        **ref.model_dump(),
        action=action,
        reason=reason,
        numbers=check.numbers,
        splits=request.dataset.splits,
    )
    return (yield from call(context, names.DECIDE_ROLLOUT, decide, RolloutState))


bp.orchestration_trigger(context_name="context", orchestration=names.ROLLOUT)(rollout)
