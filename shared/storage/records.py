"""Record models (one per table, DESIGN section 4) and the repository bound to each table.

Fields are deliberately lean; later issues extend them. Key fields are plain strings because
they become PartitionKey/RowKey; ``version_key`` zero-pads numeric versions so they sort.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from shared.storage.tables import TableRepository

VERSION_WIDTH = 6


def version_key(version: int) -> str:
    """A model version as a sortable RowKey, e.g. 1 -> '000001'."""
    return f"{version:0{VERSION_WIDTH}d}"


class Record(BaseModel):
    """Base of every table record: field docstrings become schema descriptions."""

    model_config = ConfigDict(use_attribute_docstrings=True, validate_assignment=True)


class PipelineRecord(Record):
    """A registered pipeline spec (pipelines: pipeline / spec version)."""

    pipeline: str
    """Pipeline name (PartitionKey)."""
    spec_version: str
    """Content hash or sequence of the spec (RowKey)."""
    spec: dict[str, Any] = Field(default_factory=dict)
    """The validated pipeline spec as plain JSON."""
    registered_at: datetime | None = None
    """When this spec version was registered (UTC)."""


class RunRecord(Record):
    """One pipeline run (runs: pipeline / run id = orchestration instance id)."""

    pipeline: str
    """Pipeline name (PartitionKey)."""
    run_id: str
    """Orchestration instance id (RowKey)."""
    status: str = "Pending"
    """A ``shared.contracts.RunStatus`` value: Pending, Running, AwaitingApproval, or a terminal one."""
    step_timings: dict[str, float] = Field(default_factory=dict)
    """Seconds spent per step name."""
    dataset_version: str | None = None
    """Content hash of the dataset the run used."""
    gate_decisions: list[dict[str, Any]] = Field(default_factory=list)
    """Each gate with its numbers, verdict and reason."""
    model_version: str | None = None
    """Registered model version (zero-padded), when the run registered one."""
    cost: float = 0.0
    """Estimated cost of the run in the configured currency."""
    counters: dict[str, int] = Field(default_factory=dict)
    """Free-form counters (rows read, polls, retries, ...)."""
    started_at: datetime | None = None
    """Start time (UTC)."""
    finished_at: datetime | None = None
    """End time (UTC), once finished."""
    error: str | None = None
    """Why the run failed, when it did."""
    reason: str | None = None
    """Why the run ended as it did (every terminal status has one)."""
    trigger: str = "http"
    """What started the run: http, cli, schedule, drift."""
    steps: list[dict[str, Any]] = Field(default_factory=list)
    """Timeline: {name, status, started_at, finished_at, seconds, detail} per step, in order."""
    metrics: dict[str, float] = Field(default_factory=dict)
    """Holdout metrics of the candidate model."""
    details: dict[str, Any] = Field(default_factory=dict)
    """Step outputs worth keeping (rows accepted/quarantined, rejection reasons, ...)."""


class DatasetRecord(Record):
    """A dataset version (datasets: dataset / content hash)."""

    dataset: str
    """Dataset name (PartitionKey)."""
    content_hash: str
    """sha256 of the normalised content: the dataset version (RowKey)."""
    rows: int = 0
    """Rows accepted."""
    bytes: int = 0
    """Size of the stored data in bytes."""
    schema_: dict[str, Any] = Field(default_factory=dict, alias="schema")
    """Inferred column schema."""
    profile_blob: str | None = None
    """Blob holding the profile (drift reference)."""
    quarantine_blob: str | None = None
    """Blob holding rejected rows with reasons."""
    source: str | None = None
    """Where the data came from."""
    rows_read: int = 0
    """Data records seen in the source (accepted + quarantined)."""
    rows_quarantined: int = 0
    """Records that failed validation and went to the quarantine blob."""
    status: str = "ingested"
    """ingested, validated or rejected."""
    reasons: list[str] = Field(default_factory=list)
    """Why the dataset was rejected (empty when accepted)."""
    splits: dict[str, str] = Field(default_factory=dict)
    """Split name -> Parquet blob (datasets container)."""
    split_rows: dict[str, int] = Field(default_factory=dict)
    """Rows per split."""
    ingested_blob: str | None = None
    """Typed, normalised rows as read (Parquet), input of validation."""
    issues_blob: str | None = None
    """Row problems found while reading (Parquet)."""
    rules_key: str | None = None
    """Hash of the spec's data rules the validation fields were computed with (None before validation)."""
    source_blobs: list[dict[str, Any]] = Field(default_factory=list)
    """Lineage: each blob read, in order ({container, name, etag, size, last_modified, sha256})."""

    model_config = ConfigDict(use_attribute_docstrings=True, populate_by_name=True, serialize_by_alias=True)


class ModelRecord(Record):
    """A registered model version (models: model / zero-padded version)."""

    model: str
    """Model name (PartitionKey)."""
    version: str
    """Zero-padded version, e.g. '000001' (RowKey)."""
    onnx_blob: str
    """Blob name of the ONNX file."""
    sha256: str
    """sha256 of the ONNX bytes, verified before first use."""
    metrics: dict[str, float] = Field(default_factory=dict)
    """Evaluation metrics on the holdout."""
    run_id: str | None = None
    """Run that produced the model (lineage)."""
    dataset_version: str | None = None
    """Dataset version it was trained on (lineage)."""
    spec_version: str | None = None
    """Pipeline spec version that produced it (lineage; decides the current spec once deployed)."""
    input_schema: dict[str, Any] = Field(default_factory=dict)
    """Input columns and types the scorer validates requests against."""
    registered_at: datetime | None = None
    """When it was registered (UTC)."""


class AliasRecord(Record):
    """An alias pointing at a model version (aliases: model / alias); ETag-guarded."""

    model: str
    """Model name (PartitionKey)."""
    alias: str
    """Alias, e.g. production or canary (RowKey)."""
    version: str
    """Zero-padded model version the alias points at."""
    traffic_share: float = 1.0
    """Share of scoring traffic (0..1) routed to this alias."""
    updated_at: datetime | None = None
    """Last move (UTC)."""


class DeploymentRecord(Record):
    """A deployment event (deployments: model / deployment id)."""

    model: str
    """Model name (PartitionKey)."""
    deployment_id: str
    """Deployment id, e.g. time-ordered (RowKey)."""
    version: str
    """Model version deployed."""
    strategy: str = "direct"
    """direct or canary."""
    status: str = "Pending"
    """Pending, Baking, Promoted, RolledBack, ..."""
    reason: str | None = None
    """Why it was promoted or rolled back."""
    started_at: datetime | None = None
    """Start (UTC)."""


class DriftRecord(Record):
    """A drift check summary (drift: model / window)."""

    model: str
    """Model name (PartitionKey)."""
    window: str
    """Window id, e.g. 2026-11-21T00 (RowKey)."""
    drifted: bool = False
    """Whether dataset drift was declared."""
    drifted_share: float = 0.0
    """Share of columns that drifted."""
    columns: dict[str, Any] = Field(default_factory=dict)
    """Per-column test, statistic and p-value/score."""
    report_blob: str | None = None
    """Blob of the full JSON/HTML report."""


class CostRecord(Record):
    """A cost line (costs: day / item)."""

    day: str
    """UTC day, YYYY-MM-DD (PartitionKey)."""
    item: str
    """What was charged, e.g. run:<id> or storage (RowKey)."""
    amount: float = 0.0
    """Cost in the configured currency."""
    quantity: float = 0.0
    """Units consumed (seconds, GB-s, GB)."""
    unit: str = ""
    """Unit of quantity."""
    details: dict[str, Any] = Field(default_factory=dict)
    """Price used and other inputs."""


class AuditRecord(Record):
    """An audit entry (audit: entity / time+uuid)."""

    entity: str
    """What the entry is about, e.g. model:iris (PartitionKey)."""
    entry_id: str
    """Sortable time + uuid (RowKey)."""
    action: str
    """approve, reject, timeout, promote, rollback, ..."""
    actor: str | None = None
    """Who did it."""
    reason: str | None = None
    """Why."""
    at: datetime | None = None
    """When (UTC)."""
    data: dict[str, Any] = Field(default_factory=dict)
    """Extra context."""


class PipelineRepository(TableRepository[PipelineRecord]):
    """Registered pipeline specs."""

    table_name = "pipelines"
    model = PipelineRecord
    partition_key_field = "pipeline"
    row_key_field = "spec_version"


class RunRepository(TableRepository[RunRecord]):
    """Pipeline runs."""

    table_name = "runs"
    model = RunRecord
    partition_key_field = "pipeline"
    row_key_field = "run_id"


class DatasetRepository(TableRepository[DatasetRecord]):
    """Dataset versions."""

    table_name = "datasets"
    model = DatasetRecord
    partition_key_field = "dataset"
    row_key_field = "content_hash"


class ModelRepository(TableRepository[ModelRecord]):
    """Registered model versions."""

    table_name = "models"
    model = ModelRecord
    partition_key_field = "model"
    row_key_field = "version"


class AliasRepository(TableRepository[AliasRecord]):
    """Model aliases."""

    table_name = "aliases"
    model = AliasRecord
    partition_key_field = "model"
    row_key_field = "alias"


class DeploymentRepository(TableRepository[DeploymentRecord]):
    """Deployments."""

    table_name = "deployments"
    model = DeploymentRecord
    partition_key_field = "model"
    row_key_field = "deployment_id"


class DriftRepository(TableRepository[DriftRecord]):
    """Drift summaries."""

    table_name = "drift"
    model = DriftRecord
    partition_key_field = "model"
    row_key_field = "window"


class CostRepository(TableRepository[CostRecord]):
    """Cost lines."""

    table_name = "costs"
    model = CostRecord
    partition_key_field = "day"
    row_key_field = "item"


class AuditRepository(TableRepository[AuditRecord]):
    """Audit trail."""

    table_name = "audit"
    model = AuditRecord
    partition_key_field = "entity"
    row_key_field = "entry_id"
