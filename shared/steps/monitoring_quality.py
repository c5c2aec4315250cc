"""Model-quality monitor step: labeled predictions of a window vs the holdout baseline, and a
label-free (CBPE-style) estimate of a classifier's accuracy and AUC.

Blob: ``profiles/<model>/<version>/calibration.json`` (per-class isotonic maps fitted on the
holdout split when the drift reference is built). Rows: ``quality`` (model / window, see
``monitoring_records``). A drop beyond ``monitoring.quality.max_drop`` sends a retrain request
through ``monitoring_retrain.decide_retrain``: the same queue, window dedupe and cooldown as drift.
"""

from __future__ import annotations

import contextlib
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import polars as pl

from shared.errors import AlreadyExistsError, NotFoundError, ValidationError
from shared.models.frames import class_indices, model_inputs, target_column
from shared.models.predict import predict_matrix
from shared.monitoring import cbpe
from shared.monitoring.cbpe import Calibration
from shared.monitoring.quality import (
    DEFAULT_METRIC,
    REPORTED,
    Labeled,
    decide,
    labeled_rows,
    observed_metrics,
    probability_columns,
)
from shared.pipeline.spec import PipelineSpec
from shared.steps.datasets import read_frame
from shared.steps.models import champion_of, load_version
from shared.steps.monitoring_records import QualityCheckRecord, drift_checks, quality_checks
from shared.steps.monitoring_retrain import WINDOW_PATTERN, decide_retrain
from shared.storage.factory import Storage
from shared.storage.records import ModelRecord

PROFILES = "profiles"
_JSON = "application/json"


def calibration_blob_name(model: str, version: str) -> str:
    """Blob (profiles container) of a classifier version's calibration maps."""
    return f"{model}/{version}/calibration.json"


def build_calibration(
    storage: Storage, spec: PipelineSpec, model: ModelRecord, dataset_splits: dict[str, str]
) -> str | None:
    """Fit per-class calibration on the holdout split (classifiers; None for a regressor); idempotent."""
    if spec.task != "classification":
        return None
    name = calibration_blob_name(model.model, model.version)
    if storage.blobs.exists(PROFILES, name):
        return name
    split = "holdout" if "holdout" in dataset_splits else "validation"
    if split not in dataset_splits:
        raise ValidationError("dataset splits have no holdout split", field="dataset_splits.holdout")
    frame = read_frame(storage, dataset_splits[split])
    loaded = load_version(storage, model)
    sig = loaded.signature
    raw = predict_matrix(loaded, model_inputs(frame, sig, f"{split} split"))
    y = class_indices(
        target_column(frame, spec.target, f"{split} split"), sig.classes or [], f"{split} split"
    )
    assert raw.probabilities is not None
    calibration = cbpe.fit_calibration(raw.probabilities, y, list(sig.classes or []))
    # A racing builder fitted the same maps on the same rows: theirs is as good as ours.
    with contextlib.suppress(AlreadyExistsError):
        storage.blobs.put_bytes(
            PROFILES, name, calibration.model_dump_json().encode(), content_type=_JSON, overwrite=False
        )
    return name


def load_calibration(storage: Storage, spec: PipelineSpec, model: ModelRecord) -> Calibration | None:
    """A classifier version's calibration, fitted first if it is not stored yet (None: regressor)."""
    if spec.task != "classification":
        return None
    name = calibration_blob_name(model.model, model.version)
    if not storage.blobs.exists(PROFILES, name):
        dataset = storage.datasets.try_get(model.model, model.dataset_version or "")
        if dataset is None or not dataset.splits:
            return None  # no holdout to fit on: the estimate uses the model's own probabilities
        build_calibration(storage, spec, model, dataset.splits)
    return Calibration.model_validate_json(storage.blobs.get_bytes(PROFILES, name))


def _estimate(
    frame: pl.DataFrame, labeled: Labeled, classes: list[Any], calibration: Calibration | None,
    observed: dict[str, float],
) -> dict[str, Any]:  # fmt: skip
    """The label-free estimate on every row, and on the labeled rows next to the observed metrics."""
    columns = probability_columns([str(c) for c in classes])
    if all(c in frame.columns for c in columns):
        kept = frame.drop_nulls(columns).select([pl.col(c).cast(pl.Float64) for c in columns])
        every = kept.to_numpy().reshape(-1, len(columns))
    else:  # an empty window has no probability columns
        every = np.empty((0, len(columns)))
    everything = cbpe.estimate(every, calibration)  # what a window without labels would show
    assert labeled.probabilities is not None
    on_labeled = cbpe.estimate(labeled.probabilities, calibration)  # the observed rows: its error
    metrics = {
        name: {"estimated": everything[name], "estimated_labeled": row["estimated"],
               "observed": row["observed"], "difference": row["difference"]}
        for name, row in cbpe.compare(on_labeled, observed).items()
    }  # fmt: skip
    used = None if calibration is None else {"method": calibration.method, "rows": calibration.rows}
    return {"metrics": metrics, "calibration": used}


def run_quality_check(
    storage: Storage,
    spec: PipelineSpec,
    model: str,
    until: datetime,
    window_id: str,
    *,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Check the production version's predictions of the lookback before ``until`` against its holdout."""
    from shared.steps.feedback import joined_window

    if not re.fullmatch(WINDOW_PATTERN, window_id):
        raise ValidationError(f"window id {window_id!r} must match {WINDOW_PATTERN}", field="window_id")
    config = spec.monitoring.quality
    metric = config.metric or DEFAULT_METRIC[spec.task]
    if metric not in REPORTED[spec.task]:
        raise ValidationError(
            f"monitoring.quality.metric {metric!r} is not a {spec.task} metric; use one of "
            f"{', '.join(REPORTED[spec.task])}",
            field="monitoring.quality.metric",
        )
    checked_at = now or datetime.now(UTC)
    record = champion_of(storage, model, spec.deployment.alias)
    if record is None:
        raise NotFoundError(f"model {model!r} has no {spec.deployment.alias!r} version", field="model")
    since = until - timedelta(hours=config.lookback_hours)
    joined = joined_window(storage, model, since, until)
    if "version" in joined.columns:
        joined = joined.filter(pl.col("version") == record.version)  # the baseline is this version's
    classes = list(record.input_schema.get("classes") or [])
    labeled = labeled_rows(joined, spec.task, classes)
    observed = observed_metrics(spec.task, labeled)
    baseline = {k: float(v) for k, v in record.metrics.items() if k in REPORTED[spec.task]}
    decision = decide(
        metric, observed, baseline, labeled.labeled,
        max_drop=config.max_drop, min_rows=config.min_rows, relative=config.relative,
    )  # fmt: skip
    notes = []
    if labeled.unknown_labels:
        notes.append(f"{labeled.unknown_labels} labels are not classes of the model: left out")
    if joined.height and not labeled.labeled:
        notes.append("no feedback for this window's predictions yet")
    estimate: dict[str, Any] = {}
    if spec.task == "classification" and classes:
        calibration = load_calibration(storage, spec, record)
        estimate = _estimate(joined, labeled, classes, calibration, observed)
    existing = quality_checks(storage).try_get(model, window_id)
    prior = existing.retrain if existing is not None and existing.retrain.get("status") == "sent" else None
    if prior is None:  # the drift check of this window may have asked for the same run already
        drift_row = drift_checks(storage).try_get(model, window_id)
        if drift_row is not None and drift_row.retrain.get("status") == "sent":
            prior = drift_row.retrain
    retrain = decide_retrain(
        storage, spec, model, window_id, decision.status == "degraded", f"model quality: {decision.reason}",
        prior, checked_at, actor="quality-monitor", quiet=f"quality {decision.status}",
    )  # fmt: skip
    stored = "sent" if retrain["status"] == "already_sent" else retrain["status"]
    row = QualityCheckRecord(
        model=model,
        window=window_id,
        status=decision.status,
        version=record.version,
        since=since,
        until=until,
        checked_at=checked_at,
        rows=joined.height,
        labeled=labeled.labeled,
        metrics=observed,
        baseline=baseline,
        decision=decision.model_dump(mode="json"),
        estimate=estimate,
        retrain={k: v for k, v in retrain.items() if k != "status"} | {"status": stored},
        notes=notes,
    )

    def merge(current: QualityCheckRecord) -> QualityCheckRecord:
        # A request recorded by an earlier (or racing) check of this window is never forgotten.
        if current.retrain.get("status") == "sent":
            return row.model_copy(update={"retrain": current.retrain})
        return row

    quality_checks(storage).create_or_update(model, window_id, row, merge)
    return {**row.model_dump(mode="json"), "retrain": retrain}


def latest_quality(storage: Storage, model: str, top: int = 20) -> list[dict[str, Any]]:
    """The model's most recent quality checks, newest window first."""
    checks = sorted(quality_checks(storage).query(pk=model), key=lambda r: r.window, reverse=True)
    return [c.model_dump(mode="json") for c in checks[: max(top, 0)]]
