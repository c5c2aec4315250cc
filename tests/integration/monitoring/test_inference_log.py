"""The inference log on Azurite: Parquet parts per model version and hour, read back as a lazy window."""

from __future__ import annotations

import io
import time
import uuid
from datetime import UTC, datetime, timedelta

import numpy as np
import polars as pl
import pytest

from shared.errors import IntegrityError
from shared.settings import Settings
from shared.steps.inference_log import (
    LOG_CONTAINER,
    TS,
    VERSION,
    InferenceLogBuffer,
    LogWindow,
    list_parts,
    read_inference_log,
)
from shared.storage.factory import Storage

HOUR = datetime(2026, 11, 21, 13, tzinfo=UTC)
FEATURES = ["a", "b", "c"]


@pytest.fixture
def storage(settings: Settings) -> Storage:
    return Storage.from_settings(settings)


def _matrix(n: int, start: float) -> np.ndarray:
    return np.arange(start, start + 3 * n, dtype=np.float32).reshape(n, 3)


def test_parts_hold_the_fixed_schema_and_a_window_reads_only_its_rows(storage: Storage) -> None:
    model = f"log-{uuid.uuid4().hex[:8]}"
    log = InferenceLogBuffer(storage, background=False)
    log.add(
        model, "000001", FEATURES, "prediction", _matrix(4, 0), [0, 1, 1, 0], at=HOUR + timedelta(minutes=10)
    )
    log.add(model, "000001", FEATURES, "prediction", _matrix(2, 100), [1, 1], at=HOUR + timedelta(minutes=40))
    # a canary version in the same hour: its features count, its predictions are not comparable
    log.add(
        model, "000002", FEATURES, "prediction", _matrix(3, 200), [5, 5, 5], at=HOUR + timedelta(minutes=50)
    )
    # an older signature without "c", and a row in the next hour (outside a one-hour window)
    log.add(model, "000000", ["a", "b"], "prediction", np.ones((2, 2), np.float32), [0, 0], at=HOUR)
    log.add(model, "000001", FEATURES, "prediction", _matrix(1, 0), [0], at=HOUR + timedelta(hours=1))

    parts = list_parts(storage, model, HOUR, HOUR + timedelta(hours=1))
    assert sorted(p.version for p in parts) == ["000000", "000001", "000001", "000002"]
    first = pl.read_parquet(io.BytesIO(storage.blobs.get_bytes(LOG_CONTAINER, parts[1].name)))
    assert first.columns == [TS, VERSION, *FEATURES, "prediction"]
    assert first.schema["a"] == pl.Float32 and first.schema[TS] == pl.Datetime("us", "UTC")

    with LogWindow(
        storage, model, HOUR, HOUR + timedelta(hours=1), version="000001", prediction="prediction"
    ) as w:
        assert w.height == 11 and sorted(w.columns) == ["a", "b", "c", "prediction"]
        frame = w.read(["a", "c", "prediction", "absent"])
        assert frame.columns == ["a", "c", "prediction"]
        assert frame["c"].null_count() == 2  # the older signature's rows
        assert sorted(frame["prediction"].drop_nulls().to_list()) == [0, 0, 1, 1, 1, 1]  # no canary's 5
        assert frame["a"].drop_nulls().sort().to_list()[-1] == 206.0  # canary features count
    # a window from the middle of the hour leaves out the rows logged before it
    with LogWindow(storage, model, HOUR + timedelta(minutes=30), HOUR + timedelta(hours=1)) as half:
        assert half.height == 5
    assert len(read_inference_log(storage, model, HOUR, HOUR + timedelta(hours=2))) == 12
    with LogWindow(storage, model, HOUR + timedelta(hours=5), HOUR + timedelta(hours=6)) as empty:
        assert empty.height == 0 and empty.columns == [] and empty.read(["a"]).is_empty()


def test_a_tampered_part_is_refused_not_read(storage: Storage) -> None:
    model = f"log-{uuid.uuid4().hex[:8]}"
    InferenceLogBuffer(storage, background=False).add(
        model, "000001", FEATURES, "prediction", _matrix(3, 0), [0, 1, 0], at=HOUR
    )
    (part,) = list_parts(storage, model, HOUR, HOUR + timedelta(hours=1))
    blob = storage.clients.blob.get_blob_client(LOG_CONTAINER, part.name)
    metadata = blob.get_blob_properties().metadata
    blob.upload_blob(b"PAR1 not the rows that were logged", overwrite=True, metadata=metadata)
    with pytest.raises(IntegrityError), LogWindow(storage, model, HOUR, HOUR + timedelta(hours=1)):
        pass


def test_the_background_writer_flushes_a_full_batch_without_waiting_for_its_age(storage: Storage) -> None:
    model = f"log-{uuid.uuid4().hex[:8]}"
    log = InferenceLogBuffer(storage, max_rows=5, max_age_s=3600)
    now = datetime.now(UTC)
    log.add(model, "000001", FEATURES, "prediction", _matrix(5, 0), [0] * 5, at=now)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and not list_parts(storage, model, now, now + timedelta(hours=1)):
        time.sleep(0.1)
    assert len(read_inference_log(storage, model, now, now + timedelta(hours=1))) == 5
    log.add(model, "000001", FEATURES, "prediction", _matrix(2, 0), [1, 1], at=now)
    assert log.flush() == 2  # below max_rows: written by flush (the host calls it at exit)
