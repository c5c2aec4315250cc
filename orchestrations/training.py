"""The training pipeline and its training-job sub-orchestration (deterministic, no I/O).

ingest -> validate -> train (sub-orchestration: submit, poll with durable timers, collect) ->
evaluate gates -> [approve] -> register -> deploy. Every activity records its own step in the
`runs` table; the orchestrator only decides what runs next.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import azure.durable_functions as df

from orchestrations import names

bp = df.Blueprint()

#: activities that touch storage retry transient failures a few times.
STEP_RETRY = df.RetryOptions(first_retry_interval_in_milliseconds=2000, max_number_of_attempts=3)
#: polls per orchestration generation before continue_as_new keeps the history small.
MAX_POLLS_PER_GENERATION = 20
DEFAULT_POLL_SECONDS = 5


def _step(context: df.DurableOrchestrationContext, name: str, payload: dict[str, Any]) -> Any:
    return context.call_activity_with_retry(name, STEP_RETRY, payload)


@bp.orchestration_trigger(context_name="context", orchestration=names.TRAINING_PIPELINE)
def training_pipeline(context: df.DurableOrchestrationContext) -> Any:
    """Run one pipeline: returns {run_id, status, ...} and records every step in `runs`."""
    request: dict[str, Any] = context.get_input() or {}
    run = {"run_id": context.instance_id, "pipeline": request["pipeline"], "spec": request["spec"]}
    ctx = {"run_id": run["run_id"], "pipeline": run["pipeline"]}

    yield _step(context, names.START_RUN, {**run, "trigger": request.get("trigger", "http")})
    context.set_custom_status({"step": "ingest"})
    dataset = yield _step(context, names.INGEST_DATASET, run)

    context.set_custom_status({"step": "validate", "dataset_version": dataset["version"]})
    validation = yield _step(context, names.VALIDATE_DATASET, {**run, "dataset": dataset})
    if validation["rejected"]:
        return (yield from _finish(context, ctx, names.DATA_REJECTED, {"validation": validation}))
    dataset = validation  # the validated version: splits, profile and counts

    context.set_custom_status({"step": "train", "dataset_version": dataset["version"]})
    job_input = {**run, "dataset": dataset, "polls": 0}
    try:
        trained = yield context.call_sub_orchestrator(
            names.TRAINING_JOB, job_input, instance_id=f"{context.instance_id}-train"
        )
    except Exception as exc:
        return (yield from _finish(context, ctx, names.FAILED, {"error": f"training failed: {exc}"}))

    context.set_custom_status({"step": "evaluate", "dataset_version": dataset["version"]})
    evaluation = yield _step(context, names.EVALUATE_MODEL, {**run, "dataset": dataset, "candidate": trained})
    if not evaluation["passed"]:
        return (yield from _finish(context, ctx, names.GATE_REJECTED, {"evaluation": evaluation}))

    approval = request["spec"].get("approval") or {}
    if approval.get("required"):
        context.set_custom_status({"step": "approval"})
        decision = yield from _wait_for_approval(context, float(approval.get("timeout_hours", 24)))
        if not decision.get("approved"):
            return (yield from _finish(context, ctx, names.APPROVAL_REJECTED, {"approval": decision}))

    context.set_custom_status({"step": "register"})
    model = yield _step(
        context,
        names.REGISTER_MODEL,
        {**run, "dataset": dataset, "candidate": trained, "evaluation": evaluation},
    )
    context.set_custom_status({"step": "deploy", "model_version": model["version"]})
    deployment = yield _step(context, names.DEPLOY_MODEL, {**run, "model": model, "dataset": dataset})
    return (
        yield from _finish(
            context,
            ctx,
            names.SUCCEEDED,
            {"dataset_version": dataset["version"], "model": model, "deployment": deployment},
        )
    )


def _wait_for_approval(context: df.DurableOrchestrationContext, timeout_hours: float) -> Any:
    deadline = context.current_utc_datetime + timedelta(hours=timeout_hours)
    timer = context.create_timer(deadline)
    event = context.wait_for_external_event(names.APPROVAL_EVENT)
    winner = yield context.task_any([event, timer])
    if winner == event:
        timer.cancel()
        data = event.result if isinstance(event.result, dict) else {"approved": bool(event.result)}
        return data
    return {"approved": False, "reason": f"no decision within {timeout_hours} h"}


def _finish(
    context: df.DurableOrchestrationContext, ctx: dict[str, Any], status: str, details: dict[str, Any]
) -> Any:
    context.set_custom_status({"step": "done", "status": status})
    yield _step(context, names.FINISH_RUN, {**ctx, "status": status, "details": details})
    return {**ctx, "status": status, **details}


@bp.orchestration_trigger(context_name="context", orchestration=names.TRAINING_JOB)
def training_job(context: df.DurableOrchestrationContext) -> Any:
    """Submit (idempotently), poll with durable timers, continue_as_new past a bound, collect."""
    job: dict[str, Any] = context.get_input()
    handle = yield _step(context, names.SUBMIT_TRAINING_JOB, job)
    poll_s = int(job["spec"].get("compute", {}).get("poll_seconds", DEFAULT_POLL_SECONDS))
    polls = int(job.get("polls", 0))
    for _ in range(MAX_POLLS_PER_GENERATION):
        status = yield _step(context, names.GET_TRAINING_JOB_STATUS, {**job, "job": handle})
        context.set_custom_status({"job": handle.get("name"), "state": status["state"], "polls": polls})
        if status["state"] == "succeeded":
            return (yield _step(context, names.COLLECT_TRAINING_OUTPUT, {**job, "job": handle}))
        if status["state"] in ("failed", "cancelled"):
            detail = status.get("error", "")
            raise RuntimeError(f"training job {handle.get('name')} {status['state']}: {detail}")
        polls += 1
        yield context.create_timer(context.current_utc_datetime + timedelta(seconds=poll_s))
    # History stays bounded: start a fresh generation that re-finds the same job by name.
    context.continue_as_new({**job, "polls": polls})
    return None
