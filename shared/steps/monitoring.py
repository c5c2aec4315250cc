"""Drift monitor step: build a model's drift reference, check an inference-log window, request retrains.

Blob layout: ``profiles/<model>/<version>/drift-reference.json`` (training features + the model's
predictions on them), ``reports/drift/<model>/<window>.json|.html``. Rows: ``drift`` (model / window,
see ``monitoring_records``). Queue: ``retrain-requests`` (see ``monitoring_retrain``).
"""

from __future__ import annotations

import contextlib
import re
from datetime import UTC, datetime
from typing import Any

from shared.errors import AlreadyExistsError, NotFoundError, ValidationError
from shared.monitoring import DriftConfig, ReferenceConfig, ReferenceProfile, compute_drift, render_html
from shared.monitoring.config import ColumnKind
from shared.monitoring.data_quality import DataQuality, null_count, range_counts, summarise
from shared.monitoring.report import DriftReport
from shared.pipeline.spec import PipelineSpec
from shared.steps.datasets import read_frame
from shared.steps.inference_log import LogWindow
from shared.steps.models import champion_of, load_version
from shared.steps.monitoring_frames import empty_frame, prediction_column, with_predictions
from shared.steps.monitoring_quality import build_calibration
from shared.steps.monitoring_records import DriftCheckRecord, drift_checks, quality_checks
from shared.steps.monitoring_retrain import (
    WINDOW_PATTERN,
    RetrainRequest,
    decide_retrain,
    parse_retrain_request,
    retrain_instance_id,
)
from shared.storage.factory import Storage
from shared.storage.records import ModelRecord

__all__ = [
    "RetrainRequest",
    "build_drift_reference",
    "latest_drift",
    "parse_retrain_request",
    "reference_blob_name",
    "retrain_instance_id",
    "run_drift_check",
]

PROFILES = "profiles"
REPORTS = "reports"
_JSON = "application/json"


def reference_blob_name(model: str, version: str) -> str:
    """Blob (profiles container) of a model version's drift reference."""
    return f"{model}/{version}/drift-reference.json"


def _features(model: ModelRecord) -> list[str]:
    features = model.input_schema.get("features")
    kinds = model.input_schema.get("columns")
    if isinstance(features, list) and isinstance(kinds, dict):
        # A raw-columns model: the inference log keeps its plain numeric features only.
        features = [f for f in features if kinds.get(f) in ("numeric", "bool")]
    if not isinstance(features, list) or not features:
        raise ValidationError(
            f"model {model.model} {model.version} has no input_schema.features", field="input_schema"
        )
    return [str(f) for f in features]


def build_drift_reference(
    storage: Storage, spec: PipelineSpec, model: ModelRecord, dataset_splits: dict[str, str]
) -> str:
    """Profile the training split's features + the model's predictions on it; idempotent per version.

    A classifier's calibration maps (for the label-free quality estimate) are fitted on its
    holdout split at the same time.
    """
    name = reference_blob_name(model.model, model.version)
    if spec.task == "classification" and ({"holdout", "validation"} & set(dataset_splits)):
        build_calibration(storage, spec, model, dataset_splits)
    if storage.blobs.exists(PROFILES, name):
        return name
    if "train" not in dataset_splits:
        raise ValidationError("dataset splits have no 'train' split", field="dataset_splits.train")
    train = read_frame(storage, dataset_splits["train"])
    features = _features(model)
    frame = with_predictions(load_version(storage, model), train, features)
    columns = [*features, prediction_column(features)]
    kinds: dict[str, ColumnKind] = {columns[-1]: "numeric"} if spec.task == "regression" else {}
    profile = ReferenceProfile.from_frame(frame, ReferenceConfig(columns=columns, kinds=kinds))
    data = profile.model_dump_json().encode()
    # A racing builder wrote the same profile of the same inputs: theirs is as good as ours.
    with contextlib.suppress(AlreadyExistsError):
        storage.blobs.put_bytes(PROFILES, name, data, content_type=_JSON, overwrite=False)
    return name


def _splits_of(storage: Storage, model: ModelRecord) -> dict[str, str]:
    """The split blobs of the dataset version a model was trained on."""
    dataset = storage.datasets.try_get(model.model, model.dataset_version or "")
    if dataset is None or not dataset.splits:
        raise NotFoundError(
            f"model {model.model} {model.version}: dataset {model.dataset_version} has no splits",
            field="dataset_version",
        )
    return dataset.splits


def load_reference(storage: Storage, spec: PipelineSpec, model: ModelRecord) -> ReferenceProfile:
    """A version's drift reference, built first from its training dataset if it is not stored yet."""
    name = reference_blob_name(model.model, model.version)
    if not storage.blobs.exists(PROFILES, name):
        build_drift_reference(storage, spec, model, _splits_of(storage, model))
    return ReferenceProfile.from_json(storage.blobs.get_bytes(PROFILES, name))


def drift_config(spec: PipelineSpec, prediction: str) -> DriftConfig:
    """The drift test settings from the spec's monitoring thresholds."""
    t = spec.monitoring.thresholds
    return DriftConfig(
        prediction_column=prediction,
        p_value_threshold=t.p_value,
        drift_share=t.drift_share,
        psi_threshold=t.psi,
        numeric_distance="psi",  # large references: the spec's PSI threshold decides numeric drift
    )


def _columns(report: DriftReport) -> dict[str, Any]:
    """Compact per-column outcome for the drift row."""
    rows = [*report.columns, *([report.prediction] if report.prediction else [])]
    return {
        r.column: {
            "role": r.role,
            "status": r.status,
            "test": r.test,
            "statistic": r.statistic,
            "p_value": r.p_value_adjusted if r.p_value_adjusted is not None else r.p_value,
            "distance": r.distance,
            "threshold": r.threshold,
            "drifted": r.drifted,
            "n": r.n_cur,
            "dropped": r.n_null + r.n_nonfinite,
            **({"new_categories": r.new_categories} if r.new_categories else {}),
        }
        for r in rows
    }


def _reason(report: DriftReport) -> str:
    drifted = [c.column for c in report.columns if c.drifted]
    parts = [f"{len(drifted)}/{report.n_tested} features drifted ({', '.join(drifted[:10])})"]
    if report.prediction_drift:
        parts.append("prediction drifted")
    return "; ".join(parts)


def run_drift_check(
    storage: Storage,
    spec: PipelineSpec,
    model: str,
    since: datetime,
    until: datetime,
    window_id: str,
    *,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Compare a window of the inference log with the reference of the version at the spec's alias."""
    if not re.fullmatch(WINDOW_PATTERN, window_id):
        raise ValidationError(f"window id {window_id!r} must match {WINDOW_PATTERN}", field="window_id")
    checked_at = now or datetime.now(UTC)
    record = champion_of(storage, model, spec.deployment.alias)
    if record is None:
        raise NotFoundError(f"model {model!r} has no {spec.deployment.alias!r} version", field="model")
    reference = load_reference(storage, spec, record)
    prediction = prediction_column(_features(record))
    # The window's log parts are scanned lazily, a batch of columns at a time: memory stays bounded.
    with LogWindow(storage, model, since, until, version=record.version, prediction=prediction) as window:
        current = window if window.height else empty_frame(reference)
        result = compute_drift(reference, current, drift_config(spec, prediction))
        quality = window.quality()  # nulls imputed / unseen categories: data quality, not drift
        signals = _data_quality(window, reference, record, quality)
    report = result.report.model_copy(update={"data_quality": signals})
    base = f"drift/{model}/{window_id}"
    json_blob = storage.blobs.put_bytes(
        REPORTS, f"{base}.json", report.to_json().encode(), content_type=_JSON
    )
    page = render_html(report, reference, result.current_summary).encode()
    html_blob = storage.blobs.put_bytes(
        REPORTS, f"{base}.html", page, content_type="text/html; charset=utf-8"
    )
    repo = drift_checks(storage)
    existing = repo.try_get(model, window_id)
    prior = existing.retrain if existing is not None and existing.retrain.get("status") == "sent" else None
    if prior is None:  # the quality check of this window may have asked for the same run already
        checked = quality_checks(storage).try_get(model, window_id)
        prior = checked.retrain if checked is not None and checked.retrain.get("status") == "sent" else None
    retrain = decide_retrain(
        storage,
        spec,
        model,
        window_id,
        report.status == "drift",
        _reason(report),
        prior,
        checked_at,
    )
    row = DriftCheckRecord(
        model=model,
        window=window_id,
        drifted=report.dataset_drift,
        drifted_share=report.share_drifted,
        columns=_columns(report),
        report_blob=json_blob.name,
        status=report.status,
        rows=report.n_rows_current,
        prediction_drift=report.prediction_drift,
        version=record.version,
        report_html=html_blob.name,
        since=since,
        until=until,
        checked_at=checked_at,
        retrain={k: v for k, v in retrain.items() if k != "status"} | {"status": _stored(retrain)},
        notes=[*report.notes, *_quality_notes(quality)],
        data_quality=signals.model_dump(mode="json"),
    )

    def merge(current: DriftCheckRecord) -> DriftCheckRecord:
        # A request recorded by an earlier (or racing) run of this window is never forgotten.
        if current.retrain.get("status") == "sent":
            return row.model_copy(update={"retrain": current.retrain})
        return row

    repo.create_or_update(model, window_id, row, merge)
    return {
        "model": model,
        "window": window_id,
        "version": record.version,
        "status": report.status,
        "dataset_drift": report.dataset_drift,
        "prediction_drift": report.prediction_drift,
        "drifted_share": report.share_drifted,
        "rows": report.n_rows_current,
        "report_json": json_blob.name,
        "report_html": html_blob.name,
        "retrain": retrain,
        "data_quality": signals.model_dump(mode="json"),
    }


#: Logged feature columns read at once for the data-quality counts (float32: 4 bytes a value).
_QUALITY_BATCH = 64


def _data_quality(
    window: LogWindow, reference: ReferenceProfile, record: ModelRecord, counts: dict[str, int]
) -> DataQuality:
    """Null, out-of-range, unseen-category and type-error rates of the window (see data_quality)."""
    logged = [c for c in _features(record) if c in window.columns]
    ranges: dict[str, tuple[int, int]] = {}
    nulls = 0
    for start in range(0, len(logged), _QUALITY_BATCH):
        frame = window.read(logged[start : start + _QUALITY_BATCH])
        ranges.update(range_counts(frame, reference))
        nulls += null_count(frame)
    kinds = record.input_schema.get("columns")
    categories = sum(1 for k in kinds.values() if k == "category") if isinstance(kinds, dict) else 0
    features = record.input_schema.get("features")
    return summarise(
        rows=window.height,
        counts=counts,
        ranges=ranges,
        logged_nulls=nulls,
        logged_features=len(logged),
        features=len(features) if isinstance(features, list) else len(logged),
        category_features=categories,
    )


def _quality_notes(quality: dict[str, int]) -> list[str]:
    """Notes on the window's imputed nulls and unseen categories (raw-columns models' log rows)."""
    notes = []
    if quality["nulls"]:
        notes.append(
            f"data quality: {quality['nulls']} null or missing feature values imputed in "
            f"{quality['rows_with_nulls']}/{quality['rows']} rows"
        )
    if quality["unseen_categories"]:
        notes.append(f"data quality: {quality['unseen_categories']} categories never seen in training")
    return notes


def _stored(retrain: dict[str, Any]) -> str:
    """The status kept on the row: a repeat of a sent request stays ``sent``."""
    return "sent" if retrain["status"] == "already_sent" else str(retrain["status"])


def latest_drift(storage: Storage, model: str, top: int = 20) -> list[dict[str, Any]]:
    """The model's most recent drift checks, newest window first."""
    checks = sorted(drift_checks(storage).query(pk=model), key=lambda r: r.window, reverse=True)
    return [c.model_dump(mode="json") for c in checks[: max(top, 0)]]
