"""Monitor rows: drift checks in ``drift`` and quality checks in ``quality`` (model / window each),
one retrain ledger per model.

``DriftCheckRecord`` extends ``DriftRecord`` with what a check decided (status, rows, retrain);
``storage.drift`` still reads these rows, ignoring the extra fields. The per-model retrain ledger
lives in partition ``~retrain`` (``~`` cannot start a model name), so a model's own partition holds
only its windows; it is the single ETag-guarded row that serialises retrain requests per model.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field

from shared.storage.factory import Storage
from shared.storage.records import DriftRecord, Record
from shared.storage.tables import TableRepository

LEDGER_PARTITION = "~retrain"


class DriftCheckRecord(DriftRecord):
    """A drift check of one model and window, with the decision it led to."""

    status: str = "no_drift"
    """no_drift, drift or insufficient_data (never an alarm)."""
    rows: int = 0
    """Inference-log rows in the window."""
    prediction_drift: bool | None = None
    """Whether the prediction column drifted (None when it could not be tested)."""
    version: str | None = None
    """Production model version whose reference the window was compared with."""
    report_html: str | None = None
    """Blob (reports container) of the HTML report; report_blob holds the JSON one."""
    since: datetime | None = None
    """Start of the window (UTC, inclusive)."""
    until: datetime | None = None
    """End of the window (UTC, exclusive)."""
    checked_at: datetime | None = None
    """When the check ran (UTC)."""
    retrain: dict[str, Any] = Field(default_factory=dict)
    """Retrain decision: status (not_needed, disabled, sent, cooldown), message id, instance id."""
    notes: list[str] = Field(default_factory=list)
    """Report remarks (missing columns, too few rows, ...)."""
    data_quality: dict[str, Any] = Field(default_factory=dict)
    """Data-quality signals of the window (rates of nulls, out-of-range values, unseen categories,
    type errors; see ``shared.monitoring.data_quality``)."""


class QualityCheckRecord(Record):
    """A model-quality check of one model and window: metrics on labeled rows vs the holdout."""

    model: str
    """Model name (PartitionKey)."""
    window: str
    """Window id (RowKey), the same id as the drift check of that window."""
    status: str = "insufficient_data"
    """ok, degraded, insufficient_data or no_baseline (only degraded is an alarm)."""
    version: str | None = None
    """Production version whose predictions were checked (its holdout metrics are the baseline)."""
    since: datetime | None = None
    """Start of the predictions checked (UTC, inclusive): the lookback before ``until``."""
    until: datetime | None = None
    """End of the predictions checked (UTC, exclusive)."""
    checked_at: datetime | None = None
    """When the check ran (UTC)."""
    rows: int = 0
    """Predictions of the version in the window."""
    labeled: int = 0
    """Of those, rows with a usable label (the metrics' sample size)."""
    metrics: dict[str, float] = Field(default_factory=dict)
    """The task's metrics on the labeled rows."""
    baseline: dict[str, float] = Field(default_factory=dict)
    """The same metrics on the training holdout, from the model record."""
    decision: dict[str, Any] = Field(default_factory=dict)
    """The drop decision (metric, observed, baseline, drop, allowed_drop, rows, min_rows, reason)."""
    estimate: dict[str, Any] = Field(default_factory=dict)
    """Label-free estimate (classifiers): per metric estimated (all rows), estimated on the labeled
    rows, observed, and their difference; plus the calibration used."""
    retrain: dict[str, Any] = Field(default_factory=dict)
    """Retrain decision, as on drift rows (not_needed, disabled, sent, already_sent, cooldown)."""
    notes: list[str] = Field(default_factory=list)
    """Remarks (unknown labels, no feedback yet, ...)."""


class RetrainLedger(Record):
    """Last retrain request of a model, the one row every window's request is serialised through."""

    scope: str = LEDGER_PARTITION
    """Constant PartitionKey of ledger rows."""
    model: str
    """Model name (RowKey)."""
    last_window: str | None = None
    """Window whose drift caused the last request."""
    last_requested_at: datetime | None = None
    """When the last request was made (UTC): the cooldown runs from here."""
    requests: int = 0
    """Requests made so far."""


class DriftCheckRepository(TableRepository[DriftCheckRecord]):
    """Drift checks, in the drift table (model / window)."""

    table_name = "drift"
    model = DriftCheckRecord
    partition_key_field = "model"
    row_key_field = "window"


class RetrainLedgerRepository(TableRepository[RetrainLedger]):
    """Per-model retrain ledgers, in the drift table (~retrain / model)."""

    table_name = "drift"
    model = RetrainLedger
    partition_key_field = "scope"
    row_key_field = "model"


class QualityCheckRepository(TableRepository[QualityCheckRecord]):
    """Model-quality checks, in the quality table (model / window)."""

    table_name = "quality"
    model = QualityCheckRecord
    partition_key_field = "model"
    row_key_field = "window"


def quality_checks(storage: Storage) -> QualityCheckRepository:
    """The quality-check repository on the storage's table service."""
    return QualityCheckRepository(storage.clients.table, storage.blobs)


def drift_checks(storage: Storage) -> DriftCheckRepository:
    """The drift-check repository on the storage's table service."""
    return DriftCheckRepository(storage.clients.table, storage.blobs)


def retrain_ledgers(storage: Storage) -> RetrainLedgerRepository:
    """The retrain-ledger repository on the storage's table service."""
    return RetrainLedgerRepository(storage.clients.table, storage.blobs)
