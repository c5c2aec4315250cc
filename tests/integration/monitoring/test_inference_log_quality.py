"""Data-quality counts in the inference log (Azurite): a raw-columns model's logged rows carry how
many features were null and how many categories unseen; the drift window sums them and keeps them
out of its feature columns, and the drift check reports them."""

from __future__ import annotations

import io
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import polars as pl
import pytest

from shared.models.onnx_io import ModelCache
from shared.models.signature import ModelSignature
from shared.settings import Settings
from shared.steps import monitoring
from shared.steps.inference_log import LOG_CONTAINER, NULLS, UNSEEN, InferenceLogBuffer, LogWindow, list_parts
from shared.steps.serving import log_rows
from shared.storage.factory import Storage
from tests.integration.monitoring.support import Deployed
from tests.scoring_support import score_rows

HOUR = datetime(2026, 11, 22, 9, tzinfo=UTC)
SIG = ModelSignature(
    inputs=[],
    outputs=[],
    features=["age", "plan", "region"],
    task="classification",
    columns={"age": "numeric", "plan": "category", "region": "category"},
    categories={"plan": ["basic", "premium"], "region": ["north", "south", ""]},
)


@pytest.fixture
def storage(settings: Settings) -> Storage:
    return Storage.from_settings(settings)


def test_raw_model_rows_log_null_and_unseen_counts_outside_the_drift_columns(storage: Storage) -> None:
    model = f"quality-{uuid.uuid4().hex[:8]}"
    log = InferenceLogBuffer(storage, background=False)
    rows = [
        {"age": 30, "plan": "basic", "region": "north"},  # clean
        {"age": None, "plan": "platinum"},  # null age, region left out, unseen plan
        {"age": 41, "plan": "gold", "region": "west"},  # two unseen categories
    ]
    predictions = [{"label": 0}, {"label": 1}, {"label": 1}]
    at = HOUR + timedelta(minutes=5)
    assert log_rows(log, model, "000001", ["age"], rows, predictions, 1.0, at, signature=SIG) == 3

    (part,) = list_parts(storage, model, HOUR, HOUR + timedelta(hours=1))
    frame = pl.read_parquet(io.BytesIO(storage.blobs.get_bytes(LOG_CONTAINER, part.name)))
    assert frame[NULLS].to_list() == [0, 2, 0]
    assert frame[UNSEEN].to_list() == [0, 1, 2]
    with LogWindow(storage, model, HOUR, HOUR + timedelta(hours=1)) as window:
        assert sorted(window.columns) == ["age", "prediction"]  # never a drift feature
        assert window.quality() == {"rows": 3, "rows_with_nulls": 1, "nulls": 2, "unseen_categories": 3}


def test_matrix_model_rows_carry_no_quality_columns(storage: Storage) -> None:
    model = f"quality-{uuid.uuid4().hex[:8]}"
    log = InferenceLogBuffer(storage, background=False)
    matrix_sig = ModelSignature(inputs=[], outputs=[], features=["a"], task="regression")
    log_rows(log, model, "000001", ["a"], [{"a": 1.0}], [{"value": 2.0}], 1.0, HOUR, signature=matrix_sig)
    with LogWindow(storage, model, HOUR, HOUR + timedelta(hours=1)) as window:
        assert window.columns == ["a", "prediction"]
        assert window.quality()["rows"] == 0


def test_drift_check_reports_imputed_nulls_as_data_quality(deploy: Callable[..., Deployed]) -> None:
    d = deploy()
    rows = d.feature_rows("holdout")
    first = next(iter(rows[0]))
    holes = [{**row, first: None} if i % 4 == 0 else row for i, row in enumerate(rows)]
    before = datetime.now(UTC)
    score_rows(d.storage, ModelCache(), d.name, {"rows": holes})
    since = before.replace(minute=0, second=0, microsecond=0)
    until = datetime.now(UTC) + timedelta(seconds=1)
    window = f"{since:%Y-%m-%dT%H}"
    result = monitoring.run_drift_check(d.storage, d.spec, d.name, since, until, window)
    nulled = len(range(0, len(rows), 4))
    quality = result["data_quality"]
    assert (quality["rows"], quality["rows_with_nulls"], quality["nulls"], quality["unseen_categories"]) == (
        len(rows),
        nulled,
        nulled,
        0,
    )
    features = len(d.record.input_schema["features"])
    assert quality["null_rate"] == pytest.approx(nulled / (len(rows) * features))
    (check,) = [c for c in monitoring.latest_drift(d.storage, d.name) if c["window"] == window]
    assert any(f"{nulled} null or missing feature values imputed" in n for n in check["notes"]), check
