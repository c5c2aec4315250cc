"""Drift reference and drift checks against real Azurite, with a real (tiny) deployed model."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from shared.models.onnx_io import ModelCache
from shared.monitoring import ReferenceProfile
from shared.steps import monitoring, schedules
from tests.integration.monitoring.support import Deployed
from tests.scoring_support import score_rows

HOUR = datetime(2026, 11, 21, 13, tzinfo=UTC)
SHIFTED = [
    "mean radius", "mean texture", "mean perimeter", "mean area", "mean smoothness",
    "mean compactness", "mean concavity", "mean concave points", "mean symmetry",
    "worst radius", "worst texture", "worst perimeter", "worst area", "worst smoothness",
]  # fmt: skip


def _check(d: Deployed, hour: datetime, now: datetime | None = None) -> dict[str, Any]:
    since, until, window = schedules.schedule_window("0 0 * * * *", hour + timedelta(hours=1, minutes=5))
    assert since == hour
    return monitoring.run_drift_check(d.storage, d.spec, d.name, since, until, window, now=now or until)


def _shifted(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v * 3 if k in SHIFTED else v for k, v in row.items()} for row in rows]


def test_reference_is_built_once_from_training_features_and_predictions(
    deploy: Callable[..., Deployed],
) -> None:
    d = deploy()
    name = monitoring.build_drift_reference(d.storage, d.spec, d.record, d.dataset["splits"])
    assert name == f"{d.name}/{d.record.version}/drift-reference.json"
    blob = d.storage.clients.blob.get_blob_client("profiles", name)
    etag = blob.get_blob_properties().etag
    profile = ReferenceProfile.from_json(d.storage.blobs.get_bytes("profiles", name))
    features = d.record.input_schema["features"]
    assert list(profile.columns) == [*features, "prediction"]
    assert profile.n_rows == d.dataset["split_rows"]["train"]
    prediction = profile.columns["prediction"]
    assert prediction.kind == "binary" and sum(prediction.counts.values()) == profile.n_rows  # type: ignore[union-attr]
    assert set(prediction.counts) == {"0", "1"}  # type: ignore[union-attr]
    again = monitoring.build_drift_reference(d.storage, d.spec, d.record, d.dataset["splits"])
    assert again == name and blob.get_blob_properties().etag == etag, "a second build must not rewrite"


def test_holdout_traffic_through_the_real_server_shows_no_drift(deploy: Callable[..., Deployed]) -> None:
    d = deploy()
    rows = d.feature_rows("holdout") + d.feature_rows("validation")
    before = datetime.now(UTC)
    score_rows(d.storage, ModelCache(), d.name, {"rows": rows})
    since = before.replace(minute=0, second=0, microsecond=0)
    until = datetime.now(UTC) + timedelta(seconds=1)
    # No reference was built at deploy time: the check builds it from the model's dataset.
    result = monitoring.run_drift_check(d.storage, d.spec, d.name, since, until, f"{since:%Y-%m-%dT%H}")
    assert result["status"] == "no_drift", result
    assert result["rows"] == len(rows) and not result["dataset_drift"] and result["prediction_drift"] is False
    assert result["retrain"]["status"] == "not_needed" and d.messages() == []
    assert d.storage.blobs.exists("profiles", f"{d.name}/{d.record.version}/drift-reference.json")


def test_shifted_window_is_drift_with_reports_row_and_one_message_when_run_twice(
    deploy: Callable[..., Deployed],
) -> None:
    d = deploy()
    d.write_log(HOUR, _shifted(d.feature_rows()))
    d.write_log(HOUR - timedelta(hours=1), d.feature_rows())  # outside the window: must not count
    first = _check(d, HOUR)
    assert first["status"] == "drift" and first["dataset_drift"], first
    assert first["window"] == "2026-11-21T13" and first["rows"] == len(d.feature_rows())
    assert first["drifted_share"] > d.spec.monitoring.thresholds.drift_share
    assert first["retrain"]["status"] == "sent" and first["retrain"]["sent"]
    assert first["retrain"]["instance_id"] == monitoring.retrain_instance_id(d.name, "2026-11-21T13")
    assert first["report_json"] == f"drift/{d.name}/2026-11-21T13.json"
    report = json.loads(d.storage.blobs.get_bytes("reports", first["report_json"]))
    assert report["status"] == "drift" and report["n_rows_current"] == first["rows"]
    drifted = {c["column"] for c in report["columns"] if c["drifted"]}
    assert set(SHIFTED) <= drifted, drifted  # (the real holdout also differs a little on a few)
    page = d.storage.blobs.get_bytes("reports", first["report_html"]).decode()
    assert page.startswith("<!DOCTYPE html>") and "<svg" in page and "DRIFT" in page

    second = _check(d, HOUR)
    assert second["status"] == "drift" and second["retrain"]["status"] == "already_sent"
    assert not second["retrain"]["sent"]
    messages = d.messages()
    assert len(messages) == 1, messages
    request = monitoring.parse_retrain_request(messages[0])
    assert (request.model, request.pipeline, request.window) == (d.name, d.name, "2026-11-21T13")
    assert "features drifted" in request.reason

    row = d.storage.drift.get(d.name, "2026-11-21T13")[0]
    assert row.drifted and row.report_blob == first["report_json"]
    assert row.columns["mean radius"]["drifted"] and row.columns["mean radius"]["test"] == "ks"
    latest = monitoring.latest_drift(d.storage, d.name)
    assert [c["window"] for c in latest] == ["2026-11-21T13"]
    assert latest[0]["status"] == "drift" and latest[0]["rows"] == first["rows"]
    assert latest[0]["retrain"]["status"] == "sent" and latest[0]["retrain"]["message_id"]


def test_empty_and_tiny_windows_are_insufficient_data_never_an_alarm(
    deploy: Callable[..., Deployed],
) -> None:
    d = deploy()
    empty = _check(d, HOUR)
    assert empty["status"] == "insufficient_data" and empty["rows"] == 0, empty
    report = json.loads(d.storage.blobs.get_bytes("reports", empty["report_json"]))
    assert {c["status"] for c in report["columns"]} == {"insufficient_data"}
    later = HOUR + timedelta(hours=1)
    d.write_log(later, _shifted(d.feature_rows())[:5])  # shifted, but five rows prove nothing
    tiny = _check(d, later)
    assert tiny["status"] == "insufficient_data" and tiny["rows"] == 5, tiny
    assert not tiny["dataset_drift"] and not tiny["prediction_drift"]
    # A window starting mid-hour leaves out the rows logged before it in the same hour blob.
    half = monitoring.run_drift_check(
        d.storage, d.spec, d.name, later + timedelta(minutes=30), later + timedelta(hours=1), "2026-11-21T14"
    )
    assert half["rows"] == 0 and half["status"] == "insufficient_data"
    for result in (empty, tiny, half):
        assert result["retrain"]["status"] == "not_needed"
    assert d.messages() == []
    windows = [c["window"] for c in monitoring.latest_drift(d.storage, d.name)]
    assert windows == ["2026-11-21T14", "2026-11-21T13"]
    assert monitoring.latest_drift(d.storage, d.name, top=1)[0]["status"] == "insufficient_data"


def test_missing_column_and_nan_values_are_reported_per_column(deploy: Callable[..., Deployed]) -> None:
    d = deploy()
    original = d.feature_rows()
    rows = [dict(row) for row in original]  # logged by a client on an older schema
    for i, row in enumerate(rows):
        del row["mean radius"]
        if i % 4 == 0:
            row["mean texture"] = math.nan
        if i % 5 == 0:
            row["mean area"] = math.inf
    d.write_log(HOUR, rows, scored=original)
    result = _check(d, HOUR)
    assert result["status"] == "no_drift", result
    assert d.messages() == []
    row = d.storage.drift.get(d.name, result["window"])[0]
    assert row.columns["mean radius"]["status"] == "missing"
    assert row.columns["mean texture"]["dropped"] == len(range(0, len(rows), 4))
    assert row.columns["mean area"]["dropped"] == len(range(0, len(rows), 5))
    report = json.loads(d.storage.blobs.get_bytes("reports", result["report_json"]))
    texture = next(c for c in report["columns"] if c["column"] == "mean texture")
    assert texture["n_nonfinite"] == len(range(0, len(rows), 4)) and texture["status"] == "ok"
    assert any("missing" in note for note in report["notes"])
