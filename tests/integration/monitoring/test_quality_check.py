"""Model-quality check on Azurite: logged predictions joined with feedback, vs the holdout baseline.

Predictions are written by the serving's predictions log writer, labels through the feedback
intake (``record_feedback``, what ``POST /api/models/{name}/feedback`` calls). The check must be
quiet with the true labels, fire on a label shift (and request a retrain through the drift
monitor's ledger), say when there are too few labels, and show the label-free estimate next to
the observed metric.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import polars as pl
import pytest

from shared.models.evaluate import prediction_metrics
from shared.models.frames import class_indices, model_inputs
from shared.models.predict import predict_matrix
from shared.steps import monitoring, monitoring_quality
from shared.steps.feedback_intake import record_feedback
from shared.steps.models import load_version
from shared.steps.prediction_ids import generated_ids
from shared.steps.prediction_log import PredictionLogBuffer
from tests.integration.monitoring.support import Deployed

HOUR = datetime(2026, 11, 23, 10, tzinfo=UTC)
UNTIL = HOUR + timedelta(hours=1)
WINDOW = "2026-11-23T10"
QUALITY = {"min_rows": 100, "max_drop": 0.05}


@pytest.fixture
def quality_deploy(deploy: Callable[..., Deployed]) -> Callable[..., Deployed]:
    """Deploy with the real holdout metrics on the model record (the baseline) and min_rows 100."""

    def make(**kwargs: Any) -> Deployed:
        first = deploy(**kwargs, quality=QUALITY)
        loaded = load_version(first.storage, first.record)
        metrics = prediction_metrics(loaded, first.split("holdout"), first.spec.target, "holdout")
        return deploy(**kwargs, quality=QUALITY, metrics=metrics)

    return make


def _serve(
    d: Deployed, hour: datetime, flip: float = 0.0, rows: int | None = None, seed: int = 0
) -> list[Any]:
    """Log the model's predictions on train + holdout rows at ``hour``; return the (shifted) true labels."""
    frame = pl.concat([d.split("train"), d.split("holdout")])
    if rows is not None:
        frame = frame.head(rows)
    loaded = load_version(d.storage, d.record)
    sig = loaded.signature
    raw = predict_matrix(loaded, model_inputs(frame, sig))
    ids = generated_ids(hour, frame.height)
    buffer = PredictionLogBuffer(d.storage, background=False)
    buffer.add(
        d.name, d.record.version, hour + timedelta(minutes=5), ids,
        classes=list(sig.classes or []), class_index=raw.class_index, probabilities=raw.probabilities,
    )  # fmt: skip
    truth = class_indices(frame[d.spec.target], sig.classes or [])
    rng = np.random.default_rng(seed)
    shifted = np.where(rng.random(truth.size) < flip, 1 - truth, truth)  # binary: flip the class
    labels = [(sig.classes or [])[i] for i in shifted]
    _feedback(d, hour, ids, labels)
    return labels


def _feedback(d: Deployed, hour: datetime, ids: list[str], labels: list[Any]) -> None:
    """Labels for the logged predictions through the feedback intake (found by the hour in each id)."""
    observed = (hour + timedelta(minutes=30)).isoformat()
    rows = [{"id": i, "label": label, "observed_at": observed} for i, label in zip(ids, labels, strict=True)]
    assert record_feedback(d.storage, d.name, rows)["stored"] == len(rows)


def _check(d: Deployed, until: datetime = UNTIL, window: str = WINDOW) -> dict[str, Any]:
    return monitoring_quality.run_quality_check(d.storage, d.spec, d.name, until, window, now=until)


def test_true_labels_are_quiet_and_the_estimate_is_shown_next_to_the_observed(
    quality_deploy: Callable[..., Deployed],
) -> None:
    d = quality_deploy()
    _serve(d, HOUR)
    result = _check(d)
    assert result["status"] == "ok", result["decision"]
    assert result["labeled"] == result["rows"] > 400
    assert result["retrain"]["status"] == "not_needed"
    assert set(result["metrics"]) == {"accuracy", "auc", "f1"}
    assert result["baseline"]["accuracy"] == d.record.metrics["accuracy"]
    accuracy = result["estimate"]["metrics"]["accuracy"]
    assert accuracy["observed"] == result["metrics"]["accuracy"]
    assert accuracy["difference"] == pytest.approx(accuracy["estimated_labeled"] - accuracy["observed"])
    assert abs(accuracy["difference"]) <= 0.05, accuracy  # the stated error, on a real model
    assert result["estimate"]["calibration"]["method"] == "isotonic"
    assert d.storage.blobs.exists(
        "profiles", monitoring_quality.calibration_blob_name(d.name, d.record.version)
    )
    (row,) = monitoring_quality.latest_quality(d.storage, d.name)
    assert (row["window"], row["status"], row["labeled"]) == (WINDOW, "ok", result["labeled"])


def test_a_label_shift_raises_the_alarm_and_requests_one_retrain(
    quality_deploy: Callable[..., Deployed],
) -> None:
    d = quality_deploy()
    _serve(d, HOUR, flip=0.3)
    result = _check(d)
    assert result["status"] == "degraded", result["decision"]
    assert result["decision"]["drop"] > 0.2
    # The estimate cannot see a concept shift: it stays near the holdout, visibly off the observed.
    assert result["estimate"]["metrics"]["accuracy"]["difference"] > 0.2
    assert result["retrain"]["status"] == "sent" and result["retrain"]["sent"]
    assert [m["window"] for m in d.messages()] == [WINDOW]
    assert d.messages()[0]["reason"].startswith("model quality: accuracy")
    audit = [e for e in d.storage.audit.query(pk=f"model:{d.name}") if e.action == "retrain_request"]
    assert [(e.actor, e.data["status"]) for e in audit] == [("quality-monitor", "sent")]

    again = _check(d)  # the same window checked again: recorded, not sent twice
    assert again["retrain"]["status"] == "already_sent"
    assert len(d.messages()) == 1


def test_quality_and_drift_share_the_window_dedupe_and_the_cooldown(
    quality_deploy: Callable[..., Deployed],
) -> None:
    d = quality_deploy(cooldown_hours=24)
    _serve(d, HOUR, flip=0.3)
    assert _check(d)["retrain"]["status"] == "sent"
    # Drift in the same window asks for the same run: already sent, no second message.
    drifted = [{k: v * 3 if k.startswith("mean") else v for k, v in r.items()} for r in d.feature_rows()]
    d.write_log(HOUR, drifted)
    drift = monitoring.run_drift_check(d.storage, d.spec, d.name, HOUR, UNTIL, WINDOW, now=UNTIL)
    assert drift["status"] == "drift" and drift["retrain"]["status"] == "already_sent", drift["retrain"]
    # A later window's quality drop inside the cooldown: held back by the ledger drift also uses.
    later = HOUR + timedelta(hours=2)
    _serve(d, later, flip=0.3, seed=1)
    second = _check(d, later + timedelta(hours=1), "2026-11-23T12")
    assert second["status"] == "degraded" and second["retrain"]["status"] == "cooldown", second["retrain"]
    assert second["retrain"]["last_window"] == WINDOW
    assert [m["window"] for m in d.messages()] == [WINDOW]


def test_too_few_labels_is_no_decision_and_is_said(quality_deploy: Callable[..., Deployed]) -> None:
    d = quality_deploy()
    _serve(d, HOUR, flip=0.5, rows=60)
    result = _check(d)
    assert result["status"] == "insufficient_data"
    assert "60 labeled rows < min_rows 100" in result["decision"]["reason"]
    assert result["retrain"]["status"] == "not_needed" and d.messages() == []


def test_the_calibration_is_fitted_with_the_drift_reference(quality_deploy: Callable[..., Deployed]) -> None:
    d = quality_deploy()
    monitoring.build_drift_reference(d.storage, d.spec, d.record, d.dataset["splits"])
    name = monitoring_quality.calibration_blob_name(d.name, d.record.version)
    stored = io.BytesIO(d.storage.blobs.get_bytes("profiles", name)).read()
    calibration = monitoring_quality.Calibration.model_validate_json(stored)
    assert calibration.rows == d.split("holdout").height and len(calibration.maps) == 2


def test_a_window_without_predictions_is_no_decision(quality_deploy: Callable[..., Deployed]) -> None:
    d = quality_deploy()
    result = _check(d)
    assert (result["status"], result["rows"], result["labeled"]) == ("insufficient_data", 0, 0)
    assert result["estimate"]["metrics"]["accuracy"] == {
        "estimated": None,
        "estimated_labeled": None,
        "observed": None,
        "difference": None,
    }
