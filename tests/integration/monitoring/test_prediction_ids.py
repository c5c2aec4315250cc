"""Prediction ids on Azurite: in every answer, in the predictions log (every row) and the inference log."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import polars as pl
import pytest

from shared.errors import ValidationError
from shared.settings import Settings
from shared.steps.inference_log import LOG_CONTAINER, list_parts, read_inference_log
from shared.steps.prediction_ids import GENERATED, hour_of
from shared.steps.prediction_log import read_hour
from shared.steps.serving import InferenceLogBuffer, Server
from shared.storage.factory import Storage
from tests.feedback_support import Deployed, deploy_classifier


@pytest.fixture(scope="module")
def deployed(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployed]:
    storage = Storage.from_settings(settings)
    storage.ensure_all()
    yield deploy_classifier(storage, tmp_path_factory.mktemp("prediction-ids"), prefix="pid")


def _server(storage: Storage) -> Server:
    """The real server with synchronous logs (the test reads them right after scoring)."""
    return Server(storage, alias_ttl_s=0.0, log_buffer=InferenceLogBuffer(storage, background=False))


def _id_parts(storage: Storage, model: str, since: datetime) -> pl.DataFrame:
    frames = []
    for part in list_parts(storage, model, since, datetime.now(UTC) + timedelta(hours=1)):
        frames.append(pl.read_parquet(io.BytesIO(storage.blobs.get_bytes(LOG_CONTAINER, part.name))))
    return pl.concat(frames, how="diagonal_relaxed")


def test_every_row_gets_an_id_kept_in_both_logs(deployed: Deployed) -> None:
    storage, model = deployed.storage, deployed.name
    before = datetime.now(UTC)
    answer = _server(storage).score(model, {"rows": deployed.rows(25)}, sample_rate=0.0)
    ids = [p["id"] for p in answer["predictions"]]
    assert len(set(ids)) == 25 and all(GENERATED.match(i) for i in ids)
    hours = {hour_of(i) for i in ids}
    floor = before.replace(minute=0, second=0, microsecond=0)
    assert len(hours) == 1 and hours <= {floor, floor + timedelta(hours=1)}, "one request, its own UTC hour"
    hour = hour_of(ids[0])
    assert hour is not None
    logged = read_hour(storage, model, hour).filter(pl.col("id").is_in(ids))
    # sample_rate 0: none in the drift log, yet every row is in the predictions log
    assert logged.height == 25
    assert logged.columns == ["id", "ts", "version", "prediction", "proba_0", "proba_1"]
    by_id = {row["id"]: row for row in logged.to_dicts()}
    for p in answer["predictions"]:
        assert by_id[p["id"]]["prediction"] == p["label"]
        assert by_id[p["id"]]["version"] == answer["version"]
        assert by_id[p["id"]][f"proba_{p['label']}"] == pytest.approx(p["probability"], abs=1e-6)
    assert read_inference_log(storage, model, before - timedelta(minutes=1), datetime.now(UTC)).height == 0

    sampled = _server(storage).score(model, {"rows": deployed.rows(5)}, sample_rate=1.0)
    drift_rows = _id_parts(storage, model, before - timedelta(hours=1))
    assert set(drift_rows["__id__"].drop_nulls()) >= {p["id"] for p in sampled["predictions"]}
    # the id is never a drift feature
    window = read_inference_log(storage, model, before - timedelta(minutes=1), datetime.now(UTC))
    assert "__id__" not in window.columns and window.height == 5


def test_caller_keys_replace_generated_ids(deployed: Deployed) -> None:
    storage, model = deployed.storage, deployed.name
    rows = [{**row, "order_id": f"order-{i}"} for i, row in enumerate(deployed.rows(4))]
    rows[3]["order_id"] = 12345  # an integer key is taken as its text
    answer = _server(storage).score(model, {"rows": rows, "id_field": "order_id", "strict": True})
    assert [p["id"] for p in answer["predictions"]] == ["order-0", "order-1", "order-2", "12345"]
    assert "ignored_fields" not in answer  # the key field is not an unknown feature, even when strict
    logged = read_hour(storage, model, datetime.now(UTC).replace(minute=0, second=0, microsecond=0))
    assert {"order-0", "12345"} <= set(logged["id"])


@pytest.mark.parametrize(
    ("key", "field", "reason"),
    [
        (None, "rows[1].k", "is missing"),
        ("has space", "rows[1].k", "characters"),
        ("x" * 129, "rows[1].k", "characters"),
        ("2026113013-0123456789abcdef0123", "rows[1].k", "generated id"),
        ("a", "rows[1].k", "repeats the key of rows[0]"),
        (True, "rows[1].k", "string or an integer"),
    ],
)
def test_bad_caller_keys_are_a_400_naming_the_row(
    deployed: Deployed, key: object, field: str, reason: str
) -> None:
    rows = deployed.rows(2)
    rows[0]["k"] = "a"
    rows[1]["k"] = key
    before = read_hour(
        deployed.storage, deployed.name, datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    )
    with pytest.raises(ValidationError) as err:
        _server(deployed.storage).score(deployed.name, {"rows": rows, "id_field": "k"})
    assert err.value.field == field and reason in err.value.message
    after = read_hour(
        deployed.storage, deployed.name, datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    )
    assert after.height == before.height, "a refused request logs nothing"


def test_partial_answers_pair_ids_with_the_scored_rows(deployed: Deployed) -> None:
    rows = [{**row, "k": f"r{i}"} for i, row in enumerate(deployed.rows(3))]
    rows[1]["mean radius"] = "not a number"
    answer = _server(deployed.storage).score(deployed.name, {"rows": rows, "id_field": "k", "partial": True})
    assert answer["rows"] == [0, 2]
    assert [p["id"] for p in answer["predictions"]] == ["r0", "r2"]
