"""Activity triggers: each parses its typed input, calls one step in shared/, returns a StepReply.

Every activity goes through ``runs.recorded``: the step is recorded on the run row, a permanent
error comes back as a typed failure (never retried), a transient one raises (retried by the
orchestrator's RetryOptions).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Dict, TypeVar  # noqa: UP035 - see Payload

import azure.durable_functions as df
import pydantic

from functions import deps
from orchestrations import names
from shared.contracts import (
    ApprovalCheck,
    AwaitApproval,
    Contract,
    DatasetPlan,
    DatasetRef,
    DeployInput,
    Deployment,
    EvaluateInput,
    Evaluation,
    FinishRun,
    JobInput,
    JobState,
    MergePartsInput,
    ModelRef,
    PartInput,
    PartOutput,
    PartSurvey,
    PartTyping,
    RegisterInput,
    RunIds,
    StartRun,
    StepFailure,
    StepInput,
    StepReply,
    SurveysInput,
    TrainingCandidate,
    TrainingJob,
    TrainInput,
    TypedPartInput,
    ValidateInput,
    ValidationResult,
    VerifyApproval,
)

if TYPE_CHECKING:
    from shared.pipeline.spec import PipelineSpec
    from shared.storage.factory import Storage

# The steps (polars, onnxruntime, scikit-learn, the storage SDKs) are imported inside each
# activity, on first use: importing function_app must stay light for a cold instance.

bp = df.Blueprint()

#: What an activity receives and returns. Spelled with ``typing.Dict`` on purpose: the Functions
#: Python worker refuses PEP 585 generics (``dict[str, Any]``) on binding parameters as a
#: "non-type annotation", and then indexes no function of the app at all.
Payload = Dict[str, Any]  # noqa: UP006

I = TypeVar("I", bound=RunIds)  # noqa: E741 - the input contract


def _activity(
    payload: Payload,
    contract: type[I],
    step: str | None,
    body: Callable[[Storage, I, dict[str, Any]], Contract],
) -> Payload:
    """Parse the input at the edge, run the body as a recorded step, return the reply as a dict."""
    try:
        request = contract.model_validate(payload)
    except pydantic.ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()[:5])
        failure = StepFailure(
            step=step or "input", error="ValidationError", message=f"bad activity input: {problems}"
        )
        return StepReply(failure=failure).to_payload()
    from shared.steps import runs

    storage = deps.storage()
    reply = runs.recorded(
        storage, request.pipeline, request.run_id, step, lambda d: body(storage, request, d)
    )
    return reply.to_payload()


def _spec(request: StepInput) -> PipelineSpec:
    from shared.pipeline.spec import load_spec

    return load_spec(request.spec)


@bp.activity_trigger(input_name="payload", activity=names.START_RUN)
def start_run(payload: Payload) -> Payload:
    """Move the run row to Running."""
    from shared.steps import runs

    def body(storage: Storage, r: StartRun, _: dict[str, Any]) -> RunIds:
        runs.start_run(storage, r.pipeline, r.run_id, r.trigger)
        return RunIds(pipeline=r.pipeline, run_id=r.run_id)

    return _activity(payload, StartRun, None, body)


@bp.activity_trigger(input_name="payload", activity=names.INGEST_DATASET)
def ingest_dataset(payload: Payload) -> Payload:
    """Read the source and version it by content."""
    from shared.steps import datasets, runs

    def body(storage: Storage, r: StepInput, detail: dict[str, Any]) -> DatasetRef:
        summary = datasets.ingest(storage, _spec(r))
        result = DatasetRef.model_validate(summary)
        detail.update(version=result.version, rows_read=result.rows_read, reused=result.reused)
        # Lineage: exactly which blobs this run read (a prefix/pattern resolves anew each run).
        read = {"source_blobs": summary["source_blobs"]} if summary.get("source_blobs") else {}
        runs.update_run(storage, r.pipeline, r.run_id, dataset_version=result.version, details=read)
        return result

    return _activity(payload, StepInput, "ingest", body)


@bp.activity_trigger(input_name="payload", activity=names.VALIDATE_DATASET)
def validate_dataset(payload: Payload) -> Payload:
    """Validate, quarantine, split and profile the dataset version."""
    from shared.steps import datasets, runs

    def body(storage: Storage, r: ValidateInput, detail: dict[str, Any]) -> ValidationResult:
        result = ValidationResult.model_validate(datasets.validate(storage, _spec(r), r.dataset.version))
        counts = result.model_dump(
            include={"rows_read", "rows_accepted", "rows_quarantined", "rejected", "reasons"}
        )
        detail.update(counts)
        runs.update_run(storage, r.pipeline, r.run_id, details={"validation": counts})
        return result

    return _activity(payload, ValidateInput, "validate", body)


@bp.activity_trigger(input_name="payload", activity=names.SUBMIT_TRAINING_JOB)
def submit_training_job(payload: Payload) -> Payload:
    """Submit the training job (idempotent by run id); the train step spans submit -> collect."""
    from shared.steps import runs, training

    def body(storage: Storage, r: TrainInput, detail: dict[str, Any]) -> TrainingJob:
        handle = training.submit(storage, deps.settings(), _spec(r), r.run_id, r.dataset.model_dump())
        detail.update(handle)
        runs.begin_step(storage, r.pipeline, r.run_id, "train", restart=False)
        return TrainingJob.model_validate(handle)

    return _activity(payload, TrainInput, "submit", body)


@bp.activity_trigger(input_name="payload", activity=names.GET_TRAINING_JOB_STATUS)
def get_training_job_status(payload: Payload) -> Payload:
    """Poll the job (and mirror its checkpoints to Blob); polls are not recorded as steps."""
    from shared.steps import training

    def body(storage: Storage, r: JobInput, _: dict[str, Any]) -> JobState:
        return JobState.model_validate(
            training.status(storage, deps.settings(), _spec(r), r.job.model_dump(), run_id=r.run_id)
        )

    return _activity(payload, JobInput, None, body)


@bp.activity_trigger(input_name="payload", activity=names.COLLECT_TRAINING_OUTPUT)
def collect_training_output(payload: Payload) -> Payload:
    """Upload the trained ONNX as the run's candidate and close the train step."""
    from shared.steps import runs, training

    def body(storage: Storage, r: JobInput, _: dict[str, Any]) -> TrainingCandidate:
        result = TrainingCandidate.model_validate(
            training.collect(storage, deps.settings(), r.run_id, r.job.model_dump())
        )
        detail = {"job": result.job, "sha256": result.sha256, "size": result.size}
        runs.end_step(storage, r.pipeline, r.run_id, "train", detail)
        return result

    return _activity(payload, JobInput, None, body)


@bp.activity_trigger(input_name="payload", activity=names.EVALUATE_MODEL)
def evaluate_model(payload: Payload) -> Payload:
    """Candidate vs champion on the holdout; gate decisions stored on the run; no-change guard."""
    from shared.steps import champion_guard, models, runs

    def body(storage: Storage, r: EvaluateInput, detail: dict[str, Any]) -> Evaluation:
        spec = _spec(r)
        raw = models.evaluate(storage, spec, r.dataset.model_dump(), r.candidate.model_dump())
        result = Evaluation.model_validate(raw)
        no_change = champion_guard.no_change_reason(storage, spec, r.candidate.sha256, result)
        result = result.model_copy(update={"no_change": no_change})
        detail.update(passed=result.passed, champion_version=result.champion_version, no_change=no_change)
        runs.update_run(
            storage,
            r.pipeline,
            r.run_id,
            metrics=result.metrics,
            gate_decisions=result.decisions,
            details={
                "champion_version": result.champion_version,
                "champion_metrics": result.champion_metrics,
            },
        )
        return result

    return _activity(payload, EvaluateInput, "evaluate", body)


@bp.activity_trigger(input_name="payload", activity=names.AWAIT_APPROVAL)
def await_approval(payload: Payload) -> Payload:
    """Show the run as AwaitingApproval with the evaluation it waits on."""
    from shared.steps import approvals

    def body(storage: Storage, r: AwaitApproval, _: dict[str, Any]) -> RunIds:
        approvals.await_approval(storage, r.pipeline, r.run_id, r.evaluation, r.timeout_hours)
        return RunIds(pipeline=r.pipeline, run_id=r.run_id)

    return _activity(payload, AwaitApproval, None, body)


@bp.activity_trigger(input_name="payload", activity=names.VERIFY_APPROVAL)
def verify_approval(payload: Payload) -> Payload:
    """The recorded decision a raised event names, or why the event is ignored."""
    from shared.steps import approvals

    def body(storage: Storage, r: VerifyApproval, _: dict[str, Any]) -> ApprovalCheck:
        return approvals.verify(storage, r.pipeline, r.run_id, r.event)

    return _activity(payload, VerifyApproval, None, body)


@bp.activity_trigger(input_name="payload", activity=names.REGISTER_MODEL)
def register_model(payload: Payload) -> Payload:
    """Registry row + ONNX blob with lineage."""
    from shared.steps import models, runs

    def body(storage: Storage, r: RegisterInput, detail: dict[str, Any]) -> ModelRef:
        raw = models.register(
            storage,
            _spec(r),
            r.run_id,
            r.dataset.model_dump(),
            r.candidate.model_dump(),
            r.evaluation.model_dump(),
        )
        result = ModelRef.model_validate(raw)
        detail.update(version=result.version)
        runs.update_run(storage, r.pipeline, r.run_id, model_version=result.version)
        return result

    return _activity(payload, RegisterInput, "register", body)


@bp.activity_trigger(input_name="payload", activity=names.DEPLOY_MODEL)
def deploy_model(payload: Payload) -> Payload:
    """Move the deployment alias and build the drift monitor's reference."""
    from shared.steps import models, monitoring

    def body(storage: Storage, r: DeployInput, detail: dict[str, Any]) -> Deployment:
        spec = _spec(r)
        result = models.deploy(storage, spec, r.run_id, r.model.model_dump())
        record = storage.models.get(spec.name, result["version"])[0]
        # the drift monitor's reference: training features + this model's predictions on them
        result["drift_reference"] = monitoring.build_drift_reference(storage, spec, record, r.dataset.splits)
        detail.update(result)
        return Deployment.model_validate(result)

    return _activity(payload, DeployInput, "deploy", body)


@bp.activity_trigger(input_name="payload", activity=names.FINISH_RUN)
def finish_run(payload: Payload) -> Payload:
    """End the run row with its terminal status and reason."""
    from shared.steps import approvals, runs

    def body(storage: Storage, r: FinishRun, _: dict[str, Any]) -> RunIds:
        runs.finish_run(storage, r.pipeline, r.run_id, r.outcome)
        approval = r.outcome.details.get("approval")
        if isinstance(approval, dict) and approval.get("timed_out"):
            approvals.record_timeout(storage, r.run_id, float(approval.get("timeout_hours", 0)))
        return RunIds(pipeline=r.pipeline, run_id=r.run_id)

    return _activity(payload, FinishRun, None, body)


# ---- ingest fan-out: one activity per part of the source (orchestrations/dataset_parts.py) ----------


def _part_activity(
    payload: Payload, contract: Any, step: str, body: Callable[[Storage, Any], Contract]
) -> Payload:
    """Like ``_activity`` but not recorded as a step, and every error names the part it happened in.

    A permanent error comes back as the step's failure with the part in its message; any other
    error is raised again with the part in front (retried; after the last try the run's reason
    names the part).
    """
    try:
        request = contract.model_validate(payload)
    except pydantic.ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()[:5])
        failure = StepFailure(step=step, error="ValidationError", message=f"bad activity input: {problems}")
        return StepReply(failure=failure).to_payload()
    from shared.errors import PermanentError
    from shared.steps import runs

    if isinstance(request, PartInput | TypedPartInput):
        where = request.plan.label(request.index)
    elif isinstance(request, SurveysInput | MergePartsInput):
        where = f"merge of {len(request.plan.parts)} parts"
    else:
        where = "plan"
    try:
        value = body(deps.storage(), request)
    except PermanentError as exc:
        failure = runs.failure_of(step, exc)
        failure = failure.model_copy(update={"message": f"{where}: {failure.message}"})
        return StepReply(failure=failure).to_payload()
    except Exception as exc:
        text = str(exc).strip().splitlines()
        raise RuntimeError(f"{where}: {type(exc).__name__}: {text[0] if text else ''}") from exc
    return StepReply(value=value.to_payload()).to_payload()


@bp.activity_trigger(input_name="payload", activity=names.PLAN_DATASET_PARTS)
def plan_dataset_parts(payload: Payload) -> Payload:
    """Hash the source and cut it into parts at the single pass's chunk boundaries (or say why not)."""
    from shared.steps import dataset_parts, runs

    def body(storage: Storage, r: StepInput) -> DatasetPlan:
        plan = DatasetPlan.model_validate(dataset_parts.plan(storage, _spec(r)))
        if plan.fan_out:
            runs.begin_step(storage, r.pipeline, r.run_id, "ingest")
        return plan

    return _part_activity(payload, StepInput, "ingest", body)


@bp.activity_trigger(input_name="payload", activity=names.SURVEY_DATASET_PART)
def survey_dataset_part(payload: Payload) -> Payload:
    """One part's records and type evidence."""
    from shared.steps import dataset_parts

    def body(storage: Storage, r: PartInput) -> PartSurvey:
        return PartSurvey.model_validate(dataset_parts.survey_part(storage, _spec(r), r.plan, r.index))

    return _part_activity(payload, PartInput, "ingest", body)


@bp.activity_trigger(input_name="payload", activity=names.MERGE_DATASET_SURVEYS)
def merge_dataset_surveys(payload: Payload) -> Payload:
    """Column types over all parts and each part's first row; closes the ingest step."""
    from shared.steps import dataset_merge, runs

    def body(storage: Storage, r: SurveysInput) -> PartTyping:
        typing = PartTyping.model_validate(dataset_merge.merge_surveys(storage, _spec(r), r.plan, r.surveys))
        detail = {"version": r.plan.version, "rows_read": typing.rows_read, "parts": len(r.plan.parts)}
        runs.end_step(
            storage, r.pipeline, r.run_id, "ingest", {**detail, "reused": typing.reused is not None}
        )
        # Lineage: exactly which blobs this run read (a prefix/pattern resolves anew each run).
        read = {"source_blobs": r.plan.source_blobs} if r.plan.source_blobs else {}
        runs.update_run(storage, r.pipeline, r.run_id, dataset_version=r.plan.version, details=read)
        if typing.reused is None:
            runs.begin_step(storage, r.pipeline, r.run_id, "validate")
        return typing

    return _part_activity(payload, SurveysInput, "ingest", body)


@bp.activity_trigger(input_name="payload", activity=names.VALIDATE_DATASET_PART)
def validate_dataset_part(payload: Payload) -> Payload:
    """Type and validate one part: its typed rows, issues, quarantine lines, split rows and counts."""
    from shared.steps import dataset_parts

    def body(storage: Storage, r: TypedPartInput) -> PartOutput:
        raw = dataset_parts.process_part(storage, _spec(r), r.plan, r.typing, r.index)
        return PartOutput.model_validate(raw)

    return _part_activity(payload, TypedPartInput, "validate", body)


@bp.activity_trigger(input_name="payload", activity=names.MERGE_DATASET_PARTS)
def merge_dataset_parts(payload: Payload) -> Payload:
    """One dataset version from the parts, published as the single path publishes it."""
    from shared.steps import dataset_merge, runs

    def body(storage: Storage, r: MergePartsInput) -> ValidationResult:
        raw = dataset_merge.merge_parts(storage, _spec(r), r.plan, r.typing, r.parts)
        result = ValidationResult.model_validate(raw)
        counts = result.model_dump(
            include={"rows_read", "rows_accepted", "rows_quarantined", "rejected", "reasons"}
        )
        runs.end_step(storage, r.pipeline, r.run_id, "validate", {**counts, "parts": len(r.plan.parts)})
        runs.update_run(storage, r.pipeline, r.run_id, details={"validation": counts})
        return result

    return _part_activity(payload, MergePartsInput, "validate", body)
