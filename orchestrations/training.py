"""The training pipeline and its training-job sub-orchestration (deterministic, no I/O).

ingest -> validate -> train (sub-orchestration: submit, poll with durable timers, collect) ->
evaluate gates -> [approve] -> register -> deploy. Every activity records its own step in the
`runs` table; the orchestrator decides what runs next and ends every run with a terminal status
and a reason, whatever failed: the whole flow runs inside one try, and the finish step comes
after it.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import azure.durable_functions as df

from orchestrations import names
from orchestrations.approval import wait_for_approval
from orchestrations.dataset_parts import ingest_and_validate, wants_parts
from orchestrations.rollout import deploy
from orchestrations.steps import Gen, StepFailed, call, first_line, unwrap
from shared.compute.events import training_instance
from shared.contracts import (
    DatasetRef,
    DeployInput,
    EvaluateInput,
    Evaluation,
    FinishRun,
    JobInput,
    JobState,
    ModelRef,
    RegisterInput,
    RunIds,
    RunOutcome,
    RunRequest,
    RunStatus,
    StartRun,
    StepFailure,
    StepInput,
    StepReply,
    TrainingCandidate,
    TrainingJob,
    TrainInput,
    ValidateInput,
    ValidationResult,
)

bp = df.Blueprint()

#: polls per orchestration generation before continue_as_new keeps the history small.
MAX_POLLS_PER_GENERATION = 20


class _Progress:
    """The step the orchestrator is in (named in the reason when an activity fails after retries)."""

    def __init__(self, context: df.DurableOrchestrationContext) -> None:
        self.context = context
        self.step = "start"

    def enter(self, step: str, **status: Any) -> None:
        self.step = step
        self.context.set_custom_status({"step": step, **status})


def training_pipeline(context: df.DurableOrchestrationContext) -> Gen[Any]:
    """Run one pipeline; returns its RunOutcome (plus ids) after ending the run row with it."""
    request = RunRequest.model_validate(context.get_input())
    ids = RunIds(pipeline=request.pipeline, run_id=context.instance_id)
    progress = _Progress(context)
    try:
        outcome = yield from _pipeline(context, request, ids, progress)
    except StepFailed as exc:
        outcome = _failed(exc.failure)
    except Exception as exc:  # an activity that kept failing after its retries, or a bug
        reason = f"{progress.step} failed: {first_line(exc)}"
        outcome = RunOutcome(status=RunStatus.FAILED, reason=reason, step=progress.step)
    context.set_custom_status({"step": "done", "status": outcome.status.value, "reason": outcome.reason})
    yield from call(context, names.FINISH_RUN, FinishRun(**ids.model_dump(), outcome=outcome), RunIds)
    return {**ids.to_payload(), **outcome.to_payload()}


def _failed(failure: StepFailure) -> RunOutcome:
    reason = f"{failure.step} failed: {failure.message}"
    if failure.status != RunStatus.FAILED:
        reason = failure.message
    details = {"failure": failure.to_payload()}
    return RunOutcome(status=failure.status, reason=reason, step=failure.step, details=details)


def _pipeline(
    context: df.DurableOrchestrationContext, request: RunRequest, ids: RunIds, progress: _Progress
) -> Gen[RunOutcome]:
    run = {**ids.model_dump(), "spec": request.spec}
    yield from call(context, names.START_RUN, StartRun(**ids.model_dump(), trigger=request.trigger), RunIds)

    if wants_parts(request.spec):  # a fan-out of activities, one per part of the source
        validation = yield from ingest_and_validate(context, run, progress.enter)
    else:
        progress.enter("ingest")
        dataset = yield from call(context, names.INGEST_DATASET, StepInput(**run), DatasetRef)
        progress.enter("validate", dataset_version=dataset.version)
        validation = yield from call(
            context, names.VALIDATE_DATASET, ValidateInput(**run, dataset=dataset), ValidationResult
        )
    if validation.rejected:
        reason = "; ".join(validation.reasons) or "the dataset failed validation"
        counts = {"rows_read": validation.rows_read, "rows_quarantined": validation.rows_quarantined}
        return RunOutcome(status=RunStatus.DATA_REJECTED, reason=reason, step="validate", details=counts)

    progress.enter("train", dataset_version=validation.version)
    job_input = TrainInput(**run, dataset=validation, poll_seconds=request.poll_seconds)
    raw = yield context.call_sub_orchestrator(
        names.TRAINING_JOB, job_input.to_payload(), training_instance(ids.run_id)
    )
    candidate = unwrap(raw, TrainingCandidate)

    progress.enter("evaluate", dataset_version=validation.version)
    scored = EvaluateInput(**run, dataset=validation, candidate=candidate)
    evaluation = yield from call(context, names.EVALUATE_MODEL, scored, Evaluation)
    if not evaluation.passed:
        reason = "; ".join(evaluation.rejection_reasons()) or "a gate failed"
        return RunOutcome(status=RunStatus.GATE_REJECTED, reason=reason, step="evaluate")
    if evaluation.no_change is not None:
        # Nothing new to register: the champion stays, and the run says so.
        return RunOutcome(
            status=RunStatus.SUCCEEDED, reason=f"no change: {evaluation.no_change}", step="evaluate"
        )

    if request.approval.required:
        progress.enter("approval")
        rejected = yield from wait_for_approval(context, ids, evaluation, request.approval.timeout_hours)
        if rejected is not None:
            return rejected

    progress.enter("register")
    registering = RegisterInput(**scored.model_dump(), evaluation=evaluation)
    model = yield from call(context, names.REGISTER_MODEL, registering, ModelRef)
    progress.enter("deploy", model_version=model.version)
    deploying = DeployInput(**run, model=model, dataset=validation)
    deployment = yield from deploy(context, deploying)  # direct, or a rollout sub-orchestration
    reason = f"model {model.model} version {model.version} deployed to {deployment.alias}"
    details = {
        "dataset_version": validation.version,
        "model": model.to_payload(),
        "deployment": deployment.to_payload(),
    }
    return RunOutcome(status=RunStatus.SUCCEEDED, reason=reason, step="deploy", details=details)


def _wait_for_job(context: df.DurableOrchestrationContext, poll_seconds: int) -> Gen[None]:
    """Until the job says it ended (the runner's event) or the poll timer fires, whichever is first.

    Either way the caller asks the status activity next: the event only ends the wait early, so a
    duplicate, late or forged one costs one poll of this generation's budget, never an outcome.
    """
    timer = context.create_timer(context.current_utc_datetime + timedelta(seconds=poll_seconds))
    finished = context.wait_for_external_event(names.JOB_FINISHED_EVENT)
    winner = yield context.task_any([finished, timer])
    if winner is not timer:
        timer.cancel()


def training_job(context: df.DurableOrchestrationContext) -> Gen[dict[str, Any]]:
    """Submit (idempotently), poll with durable timers, continue_as_new past a bound, collect.

    Each wait between polls also ends when the job's runner says it ended (JOB_FINISHED_EVENT,
    shared.compute.events); the timer stays as the safety net (Azure ML jobs, a lost message).

    Returns a StepReply: the candidate, or the failure (a failed job is a permanent failure of
    the run, reported with the job's own error rather than raised).
    """
    request = TrainInput.model_validate(context.get_input())
    polls = request.polls
    try:
        job = yield from call(context, names.SUBMIT_TRAINING_JOB, request, TrainingJob)
        watching = JobInput(**request.model_dump(), job=job)
        for _ in range(MAX_POLLS_PER_GENERATION):
            state = yield from call(context, names.GET_TRAINING_JOB_STATUS, watching, JobState)
            context.set_custom_status({"job": job.name, "state": state.state, "polls": polls})
            if state.state == "succeeded":
                candidate = yield from call(
                    context, names.COLLECT_TRAINING_OUTPUT, watching, TrainingCandidate
                )
                return StepReply(value=candidate.to_payload()).to_payload()
            if state.state == "preempted":
                # A low-priority node was taken away: submit finds the next attempt, which resumes
                # from the checkpoints; the poll budget of this generation goes on.
                job = yield from call(context, names.SUBMIT_TRAINING_JOB, request, TrainingJob)
                watching = JobInput(**request.model_dump(), job=job)
            elif state.state in ("failed", "cancelled"):
                message = f"training job {job.name} {state.state}"
                if state.error:
                    message += f": {state.error}"
                failure = StepFailure(step="train", error="TrainingJobFailed", message=message)
                return StepReply(failure=failure).to_payload()
            polls += 1
            yield from _wait_for_job(context, request.poll_seconds)
    except StepFailed as exc:
        return StepReply(failure=exc.failure).to_payload()
    # History stays bounded: start a fresh generation that re-finds the same job by name.
    context.continue_as_new(request.model_copy(update={"polls": polls}).to_payload())
    return {}


bp.orchestration_trigger(context_name="context", orchestration=names.TRAINING_PIPELINE)(training_pipeline)
bp.orchestration_trigger(context_name="context", orchestration=names.TRAINING_JOB)(training_job)
