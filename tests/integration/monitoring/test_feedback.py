"""Feedback on Azurite: stored by prediction hour, joined by id (late, repeated, corrected, refused)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest

from shared.errors import NotFoundError, ValidationError
from shared.settings import Settings
from shared.steps.feedback import CONTAINER, joined_window
from shared.steps.feedback_intake import coerce_label, record_feedback
from shared.steps.prediction_ids import generated_ids
from shared.steps.prediction_log import PredictionLogBuffer
from shared.steps.serving import InferenceLogBuffer, Server
from shared.storage.factory import Storage
from shared.storage.records import ModelRecord
from tests.feedback_support import Deployed, deploy_classifier

NOW = datetime.now(UTC)
#: Predictions made four days ago; their labels arrive now.
PAST = (NOW - timedelta(days=4)).replace(minute=0, second=0, microsecond=0)


@pytest.fixture(scope="module")
def deployed(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployed]:
    storage = Storage.from_settings(settings)
    storage.ensure_all()
    yield deploy_classifier(storage, tmp_path_factory.mktemp("feedback"), prefix="fbk")


@pytest.fixture
def model(deployed: Deployed, tmp_path: Path) -> Deployed:
    """A model name of its own per test (feedback parts are per model name)."""
    return deploy_classifier(deployed.storage, tmp_path, prefix="fbk")


def _past_predictions(model: Deployed, n: int, at: datetime = PAST + timedelta(minutes=10)) -> list[str]:
    """``n`` predictions logged at ``at`` by the model's version (class 1 with p=0.8 for even rows)."""
    ids = generated_ids(at, n)
    index = np.array([1 if i % 2 == 0 else 0 for i in range(n)])
    probs = np.where(index[:, None] == 1, [[0.2, 0.8]], [[0.7, 0.3]])
    PredictionLogBuffer(model.storage, background=False).add(
        model.name, model.record.version, at, ids, classes=[0, 1], class_index=index, probabilities=probs
    )
    return ids


def _parts(model: Deployed) -> list[str]:
    return list(model.storage.blobs.list_names(CONTAINER, f"{model.name}/"))


def test_late_labels_land_in_the_window_of_their_prediction(model: Deployed) -> None:
    ids = _past_predictions(model, 6)
    observed = (NOW - timedelta(hours=1)).isoformat()
    answer = record_feedback(
        model.storage,
        model.name,
        [{"id": ids[0], "label": 1, "observed_at": observed}, {"id": ids[1], "label": 1}],
    )
    assert answer["stored"] == 2 and answer["new"] == 2
    window = joined_window(model.storage, model.name, PAST, PAST + timedelta(hours=1))
    assert window.height == 6 and window["id"].to_list() == ids
    assert window.columns == [
        "id",
        "ts",
        "version",
        "prediction",
        "proba_0",
        "proba_1",
        "label",
        "observed_at",
    ]
    assert window.schema["label"] == window.schema["prediction"] == pl.Int64
    labelled = window.filter(pl.col("label").is_not_null())
    assert labelled["id"].to_list() == ids[:2] and labelled["label"].to_list() == [1, 1]
    assert labelled["observed_at"][0] == datetime.fromisoformat(observed)
    assert labelled["observed_at"][1] >= NOW - timedelta(minutes=1)  # default: when it was received
    # the labels arrived four days later, but no window of "now" holds them
    assert (
        joined_window(model.storage, model.name, NOW - timedelta(hours=2), NOW + timedelta(hours=1)).height
        == 0
    )
    # the window is half open: a window that ends before the predictions' minute has none of them
    assert joined_window(model.storage, model.name, PAST, PAST + timedelta(minutes=10)).height == 0


def test_duplicates_count_once_and_a_changed_label_is_a_correction(model: Deployed) -> None:
    ids = _past_predictions(model, 4)
    batch = [{"id": ids[0], "label": 1}, {"id": ids[1], "label": 0}, {"id": ids[0], "label": "1"}]
    first = record_feedback(model.storage, model.name, batch)
    assert (first["stored"], first["repeated"]) == (2, 1)
    again = record_feedback(model.storage, model.name, batch)
    assert (again["stored"], again["unchanged"], again["repeated"]) == (0, 2, 1)
    assert len(_parts(model)) == 1, "resending stores nothing"
    fixed = record_feedback(model.storage, model.name, [{"id": ids[1], "label": 1}])
    assert (fixed["stored"], fixed["changed"]) == (1, 1)
    window = joined_window(model.storage, model.name, PAST, PAST + timedelta(hours=1))
    assert window.height == 4, "one row per prediction, however often it was labelled"
    labels = dict(zip(window["id"], window["label"], strict=True))
    assert labels == {ids[0]: 1, ids[1]: 1, ids[2]: None, ids[3]: None}


def test_unknown_ids_are_a_400_naming_the_row_and_nothing_is_stored(model: Deployed) -> None:
    ids = _past_predictions(model, 2)
    other_hour = generated_ids(PAST + timedelta(hours=3), 1)[0]  # well formed, never predicted
    cases = [
        ([{"id": ids[0], "label": 1}, {"id": other_hour, "label": 0}], "rows[1].id", "unknown prediction id"),
        ([{"id": ids[0], "label": 1}, {"id": "order-77", "label": 0}], "rows[1].id", "unknown prediction id"),
        ([{"id": "not a key", "label": 1}], "rows[0].id", "characters"),  # neither an id nor a key
        ([{"id": ids[0], "label": 1}, {"label": 0}], "rows[1].id", "is missing"),
    ]
    for batch, field, reason in cases:
        with pytest.raises(ValidationError) as err:
            record_feedback(model.storage, model.name, batch)
        assert err.value.field == field and reason in err.value.message, err.value.message
        assert "nothing stored" in err.value.message
    assert _parts(model) == [], "the good rows of a refused batch are not stored either"
    with pytest.raises(NotFoundError):
        record_feedback(model.storage, "no-such-model-fbk", [{"id": ids[0], "label": 1}])


@pytest.mark.parametrize(
    ("row", "field", "reason"),
    [
        ({"label": 2}, "rows[0].label", "not one of the model's classes [0, 1]"),
        ({"label": "benign"}, "rows[0].label", "not one of the model's classes"),
        ({"label": True}, "rows[0].label", "not one of the model's classes"),
        ({"label": 0.5}, "rows[0].label", "not one of the model's classes"),
        ({"label": None}, "rows[0].label", "is missing"),
        ({"label": 1, "observed_at": "yesterday"}, "rows[0].observed_at", "not an ISO 8601"),
        ({"label": 1, "observed_at": 1700000000}, "rows[0].observed_at", "ISO 8601 timestamp string"),
        ({"label": 1, "observed_at": "2999-01-01T00:00:00Z"}, "rows[0].observed_at", "in the future"),
        ({"label": 1, "lable": 0}, "rows[0].lable", "unknown field"),
    ],
)
def test_bad_labels_and_timestamps_are_a_400_naming_the_field(
    deployed: Deployed, row: dict[str, Any], field: str, reason: str
) -> None:
    ids = _past_predictions(deployed, 1)
    with pytest.raises(ValidationError) as err:
        record_feedback(deployed.storage, deployed.name, [{"id": ids[0], **row}])
    assert err.value.field == field and reason in err.value.message, err.value.message


def test_a_float_integral_label_and_a_csv_text_label_are_the_class(deployed: Deployed) -> None:
    ids = _past_predictions(deployed, 2)
    answer = record_feedback(
        deployed.storage, deployed.name, [{"id": ids[0], "label": 1.0}, {"id": ids[1], "label": "0"}]
    )
    assert answer["stored"] == 2


def test_caller_keys_are_found_by_look_back_or_predicted_at(model: Deployed) -> None:
    server = Server(
        model.storage, alias_ttl_s=0.0, log_buffer=InferenceLogBuffer(model.storage, background=False)
    )
    rows = [{**row, "order": f"o-{i}"} for i, row in enumerate(model.rows(3))]
    answer = server.score(model.name, {"rows": rows, "id_field": "order"})
    labels = {p["id"]: p["label"] for p in answer["predictions"]}
    stored = record_feedback(
        model.storage,
        model.name,
        {
            "rows": [
                {"id": "o-0", "label": labels["o-0"]},
                {"id": "o-1", "label": labels["o-1"], "predicted_at": datetime.now(UTC).isoformat()},
            ]
        },
    )
    assert stored["stored"] == 2
    window = joined_window(
        model.storage, model.name, NOW - timedelta(hours=1), datetime.now(UTC) + timedelta(seconds=1)
    )
    joined = {r["id"]: r["label"] for r in window.to_dicts()}
    assert joined == {"o-0": labels["o-0"], "o-1": labels["o-1"], "o-2": None}
    # a key predicted before the look-back is not found
    with pytest.raises(ValidationError, match="unknown prediction id 'o-0'"):
        record_feedback(
            model.storage,
            model.name,
            {"rows": [{"id": "o-0", "label": 1, "predicted_at": "2026-01-01T00:00:00Z"}]},
        )


def test_many_rows_in_many_hours_join_exactly(model: Deployed) -> None:
    hours = [PAST - timedelta(hours=k) for k in range(3)]
    ids = [i for h in hours for i in _past_predictions(model, 300, h + timedelta(minutes=30))]
    labelled = ids[::3]
    record_feedback(model.storage, model.name, [{"id": i, "label": n % 2} for n, i in enumerate(labelled)])
    window = joined_window(model.storage, model.name, hours[-1], PAST + timedelta(hours=1))
    assert window.height == 900 and window["id"].n_unique() == 900
    got = window.filter(pl.col("label").is_not_null())
    assert dict(zip(got["id"], got["label"], strict=True)) == {i: n % 2 for n, i in enumerate(labelled)}
    assert window["ts"].is_sorted(), "hour order"


def test_regression_labels_are_finite_numbers() -> None:
    assert coerce_label("2.5", "regression", None) == (2.5, None)
    assert coerce_label(3, "regression", None) == (3.0, None)
    for bad in (True, "nan", "inf", "x", [1]):
        value, reason = coerce_label(bad, "regression", None)
        assert value is None and reason is not None


def test_a_regressor_takes_numeric_labels_joined_as_floats(deployed: Deployed) -> None:
    name = f"fbk-reg-{uuid.uuid4().hex[:8]}"
    record = ModelRecord(
        model=name,
        version="000001",
        onnx_blob="unused.onnx",  # the intake reads the version's task, never its model
        sha256="0" * 64,
        input_schema={"task": "regression", "features": ["a"]},
    )
    deployed.storage.models.insert(record)
    at = PAST + timedelta(minutes=5)
    ids = generated_ids(at, 3)
    PredictionLogBuffer(deployed.storage, background=False).add(
        name, "000001", at, ids, values=np.array([1.5, 2.5, 3.5])
    )
    with pytest.raises(ValidationError) as err:
        record_feedback(deployed.storage, name, [{"id": ids[0], "label": 1}, {"id": ids[1], "label": "high"}])
    assert err.value.field == "rows[1].label"
    record_feedback(deployed.storage, name, [{"id": ids[0], "label": 2}, {"id": ids[2], "label": "3.25"}])
    window = joined_window(deployed.storage, name, PAST, PAST + timedelta(hours=1))
    assert window.schema["prediction"] == window.schema["label"] == pl.Float64
    assert window["label"].to_list() == [2.0, None, 3.25]
    assert not any(c.startswith("proba_") for c in window.columns)
