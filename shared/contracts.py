"""What crosses the Durable boundary: small typed models, serialised only at that boundary.

Pure: imports pydantic and the standard library only (no I/O, no azure.functions), so the
deterministic orchestrators in ``orchestrations/`` may import it. Activities receive and return
plain dicts (``to_payload()`` / ``model_validate`` at the edge); everything between is typed.

Unknown keys are ignored on read (``extra="ignore"``): a field a step adds stays inside that step
until it is declared here, so no key is spelled in two files without mypy seeing it.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class RunStatus(StrEnum):
    """Status of a run row; the last six are terminal."""

    PENDING = "Pending"
    RUNNING = "Running"
    AWAITING_APPROVAL = "AwaitingApproval"
    SUCCEEDED = "Succeeded"
    DATA_REJECTED = "DataRejected"
    GATE_REJECTED = "GateRejected"
    APPROVAL_REJECTED = "ApprovalRejected"
    FAILED = "Failed"
    CANCELLED = "Cancelled"


TERMINAL_STATUSES = frozenset(
    {
        RunStatus.SUCCEEDED,
        RunStatus.DATA_REJECTED,
        RunStatus.GATE_REJECTED,
        RunStatus.APPROVAL_REJECTED,
        RunStatus.FAILED,
        RunStatus.CANCELLED,
    }
)


def is_terminal(status: str) -> bool:
    """True for a status no run leaves again (``Terminated`` is the pre-contract spelling of Cancelled)."""
    return status in TERMINAL_STATUSES or status == "Terminated"


class Contract(BaseModel):
    """Base of every boundary model: immutable, unknown keys ignored."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    def to_payload(self) -> dict[str, Any]:
        """The JSON-ready dict that crosses the boundary."""
        return self.model_dump(mode="json")


# ---- what the orchestration is started with ---------------------------------------------------


class ApprovalPolicy(Contract):
    """The spec's approval section, as the orchestrator needs it."""

    required: bool = False
    timeout_hours: float = 24.0


class RunRequest(Contract):
    """Input of the training pipeline orchestration."""

    pipeline: str
    spec: dict[str, Any] = Field(description="The validated spec as JSON; only activities parse it.")
    trigger: str = "http"
    approval: ApprovalPolicy = Field(default_factory=ApprovalPolicy)
    poll_seconds: int = Field(default=5, description="Seconds between training-job polls (spec.compute).")


class RunIds(Contract):
    """Which run an activity works for."""

    pipeline: str
    run_id: str


class StepInput(RunIds):
    """Every pipeline activity's input: the run and its spec."""

    spec: dict[str, Any]


# ---- step results ------------------------------------------------------------------------------


class DatasetRef(Contract):
    """A dataset version: content hash, counts, blob names of its splits, profile and quarantine."""

    version: str
    dataset: str
    rows_read: int = 0
    rows_accepted: int = 0
    rows_quarantined: int = 0
    status: str = "ingested"
    rejected: bool = False
    splits: dict[str, str] = Field(default_factory=dict)
    split_rows: dict[str, int] = Field(default_factory=dict)
    profile_blob: str | None = None
    quarantine_blob: str | None = None
    reasons: list[str] = Field(default_factory=list)
    reused: bool = False


class ValidationResult(DatasetRef):
    """A validated dataset version plus what validation noticed."""

    notes: list[str] = Field(default_factory=list)
    failures: dict[str, int] = Field(default_factory=dict)


class TrainingJob(Contract):
    """A submitted training job (its name is derived from the run id, so submit is idempotent)."""

    name: str
    backend: str
    location: str = ""
    created: bool = False
    attempt: int = Field(default=1, description="1, or n+1 after n preemptions of a low-priority job.")


class JobState(Contract):
    """A poll of a training job."""

    state: str
    attempt: int = 0
    error: str = ""
    log_tail: str = ""


class TrainingCandidate(Contract):
    """The trained ONNX uploaded as the run's candidate."""

    blob: str
    sha256: str
    size: int
    metrics: dict[str, Any] = Field(default_factory=dict)
    signature: dict[str, Any] = Field(default_factory=dict)
    job: str


class Evaluation(Contract):
    """Candidate vs champion on the holdout, with every gate decision and its numbers."""

    passed: bool
    metrics: dict[str, float] = Field(default_factory=dict)
    champion_version: str | None = None
    champion_metrics: dict[str, float] | None = None
    decisions: list[dict[str, Any]] = Field(default_factory=list)
    holdout_rows: int = 0
    no_change: str | None = Field(
        default=None,
        description="Why registering would add nothing (identical to or no better than the champion).",
    )

    def rejection_reasons(self) -> list[str]:
        """The reasons of the gates that failed."""
        return [
            str(d.get("reason", d.get("gate", "?"))) for d in self.decisions if d.get("status") == "failed"
        ]


class ModelRef(Contract):
    """A registered model version."""

    model: str
    version: str
    sha256: str
    onnx_blob: str
    metrics: dict[str, Any] = Field(default_factory=dict)


class Deployment(Contract):
    """Where the alias points now, and where it pointed before."""

    model: str
    alias: str
    version: str
    previous: str | None = None
    drift_reference: str | None = None


# ---- approval -------------------------------------------------------------------------------


class ApprovalDecision(Contract):
    """A decision recorded by the approval API (the only decisions that count)."""

    decision_id: str
    decision: Literal["approve", "reject"]
    actor: str
    at: datetime
    comment: str = ""


class ApprovalEvent(Contract):
    """What the approval API raises: only the id of a decision it recorded."""

    decision_id: str


class ApprovalCheck(Contract):
    """An activity's verdict on a raised event: the recorded decision, or why it was ignored."""

    decision: ApprovalDecision | None = None
    ignored: str | None = None


class AwaitApproval(RunIds):
    """Input of the activity that shows the run as waiting for approval."""

    evaluation: Evaluation
    timeout_hours: float


class VerifyApproval(RunIds):
    """Input of the activity that checks a raised event against the recorded decision."""

    event: Any = None


# ---- failures and outcomes ---------------------------------------------------------------------


class StepFailure(Contract):
    """A permanent error an activity caught: retrying would fail the same way."""

    step: str
    error: str = Field(description="Exception class name.")
    message: str
    field: str | None = None
    status: RunStatus = RunStatus.FAILED


class StepReply(Contract):
    """What every activity returns: its value, or the permanent failure it caught."""

    value: dict[str, Any] | None = None
    failure: StepFailure | None = None


class RunOutcome(Contract):
    """How a run ended and why; the orchestration's output and the run row's final state."""

    status: RunStatus
    reason: str
    step: str | None = Field(default=None, description="The step that failed or decided the outcome.")
    details: dict[str, Any] = Field(default_factory=dict)


class FinishRun(RunIds):
    """Input of the activity that ends the run row."""

    outcome: RunOutcome


# ---- activity inputs ---------------------------------------------------------------------------


class StartRun(RunIds):
    """Input of the activity that moves the run row to Running."""

    trigger: str = "http"


class ValidateInput(StepInput):
    """Input of validation: the ingested version."""

    dataset: DatasetRef


class TrainInput(StepInput):
    """Input of the training-job sub-orchestration and of submit."""

    dataset: ValidationResult
    poll_seconds: int = 5
    polls: int = 0


class JobInput(TrainInput):
    """Input of the poll and collect activities: the job being trained."""

    job: TrainingJob


class EvaluateInput(StepInput):
    """Input of evaluation: the validated dataset and the candidate."""

    dataset: ValidationResult
    candidate: TrainingCandidate


class RegisterInput(EvaluateInput):
    """Input of registration: the evaluated candidate."""

    evaluation: Evaluation


class DeployInput(StepInput):
    """Input of deployment: the registered version."""

    model: ModelRef
    dataset: ValidationResult


# ---- ingest fan-out (orchestrations/dataset_parts.py, shared/steps/dataset_parts.py) ------------


class PartCut(Contract):
    """One chunk of the single pass inside a part: source bytes ``[start, end)`` and how they parse."""

    start: int
    end: int
    kind: Literal["plain", "fast", "slow"]
    expected: int | None = None


class DatasetPart(Contract):
    """One part of a source: whole single-pass chunks, parsed by one activity."""

    index: int
    start: int
    end: int
    cuts: list[PartCut]


class PlanBlob(Contract):
    """One blob of a planned source: every part reads it at this ETag and size."""

    container: str
    name: str
    etag: str
    size: int


class DatasetPlan(Contract):
    """How a source is ingested: by one activity (``fan_out`` False, with why), or in parts."""

    fan_out: bool
    reason: str = ""
    version: str = Field(default="", description="sha256 of the source: the single pass's version.")
    size: int = 0
    location: str = ""
    blobs: list[PlanBlob] = Field(
        default_factory=list, description="A blob source's blobs, each read at the ETag the plan saw."
    )
    segments: list[tuple[int, int, int]] = Field(
        default_factory=list, description="The source as one CSV: (blob, start, end); blob -1: a newline."
    )
    source_blobs: list[dict[str, Any]] = Field(default_factory=list, description="Lineage of the blobs.")
    columns: list[str] = Field(default_factory=list)
    overrides: dict[str, str] = Field(default_factory=dict, description="Types forced at ingest.")
    parts: list[DatasetPart] = Field(default_factory=list)
    folder: str = Field(default="", description="datasets/<folder>: this fan-out's own ingest folder.")

    def label(self, index: int) -> str:
        """How a run's reason names a part."""
        part = self.parts[index]
        return f"part {index + 1} of {len(self.parts)} (bytes {part.start}-{part.end} of {self.location})"


class PartInput(StepInput):
    """Input of the survey of one part."""

    plan: DatasetPlan
    index: int


class PartSurvey(Contract):
    """What one part's survey counted: its records and per-column type evidence."""

    index: int
    records: int
    non_null: dict[str, int] = Field(default_factory=dict)
    parsed: dict[str, dict[str, int]] = Field(default_factory=dict)


class SurveysInput(StepInput):
    """Input of the merge of the surveys."""

    plan: DatasetPlan
    surveys: list[PartSurvey]


class PartTyping(Contract):
    """The surveys merged: the column types, each part's first row number, or a version to reuse."""

    dtypes: dict[str, str] = Field(default_factory=dict)
    first_rows: list[int] = Field(default_factory=list)
    rows_read: int = 0
    reused: DatasetRef | None = Field(
        default=None, description="The version was ingested before with these types: validate it as is."
    )


class TypedPartInput(StepInput):
    """Input of typing and validating one part."""

    plan: DatasetPlan
    typing: PartTyping
    index: int


class PartOutput(Contract):
    """One typed and validated part: its counts and the blob holding its blob names and partial totals."""

    index: int
    records: int
    rows_accepted: int
    rows_quarantined: int
    state_blob: str


class MergePartsInput(StepInput):
    """Input of the merge of the typed parts."""

    plan: DatasetPlan
    typing: PartTyping
    parts: list[PartOutput]
