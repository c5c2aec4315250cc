"""Ground-truth feedback joined to predictions: the contract the model-quality monitor reads.

``joined_window(storage, model, since, until) -> pl.DataFrame``: one row per prediction of
``model`` made in [since, until) (UTC; by the time of the scoring request), with columns

- ``id`` (String): the prediction id (generated ``<YYYYMMDDHH>-<hex>`` or the caller's key),
- ``ts`` (Datetime us, UTC): when the row was scored,
- ``version`` (String): the model version that answered,
- ``prediction``: a classifier's label (the classes' own type: Int64, String or Boolean), a
  regressor's value (Float64),
- ``proba_<class>`` (Float32, classifiers only): one per class, the class as ``str(label)``,
- ``label`` (same dtype as ``prediction``): the ground truth, null when no feedback arrived yet,
- ``observed_at`` (Datetime us, UTC): when the label was observed, null without feedback.

Rows come in hour order (within an hour, in the order their parts were written). An empty window
is a frame of zero rows with the columns above except ``proba_*``. Feedback is stored under the
hour of its PREDICTION, so a label that arrives days later still lands in the prediction's window.
Several labels for one id count once: the newest received wins (a correction replaces the label).

Layout: ``feedback/<model>/<YYYY-MM-DD>/<HH>/<received-at>-<random>.parquet`` (hour of the
prediction), columns ``id``, ``label``, ``observed_at``, ``received_at``; parts are immutable.
Reading goes hour by hour (a few hours at a time, in threads: downloads wait on the network and
polars releases the GIL), so memory is bounded by those hours' parts plus the result.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import polars as pl

from shared.steps.prediction_log import CONTAINER as PREDICTIONS
from shared.steps.prediction_log import ID, PREDICTION, TS, VERSION, part_names, read_parts
from shared.storage.factory import Storage

CONTAINER = "feedback"
#: Hours read at the same time (each with its own download threads).
PARALLEL_HOURS = 4
LABEL, OBSERVED_AT, RECEIVED_AT = "label", "observed_at", "received_at"
UTC_US = pl.Datetime("us", "UTC")


def _hours(since: datetime, until: datetime) -> list[datetime]:
    hour = since.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    out = []
    while hour < until:
        out.append(hour)
        hour += timedelta(hours=1)
    return out


def latest_labels(frame: pl.DataFrame) -> pl.DataFrame:
    """One row per id from stored feedback rows: the newest received (ties: the newest observed)."""
    if frame.is_empty():
        return frame
    return (
        frame.sort([RECEIVED_AT, OBSERVED_AT], nulls_last=False)
        .unique(subset=[ID], keep="last", maintain_order=False)
        .select(ID, LABEL, OBSERVED_AT)
    )


def read_feedback_hour(storage: Storage, model: str, hour: datetime) -> pl.DataFrame:
    """Every stored feedback row for predictions of ``model`` made in ``hour`` (all receipts)."""
    return read_parts(storage, CONTAINER, part_names(storage, CONTAINER, model, hour))


def _empty() -> pl.DataFrame:
    return pl.DataFrame(
        schema={
            ID: pl.String,
            TS: UTC_US,
            VERSION: pl.String,
            PREDICTION: pl.Float64,
            LABEL: pl.Float64,
            OBSERVED_AT: UTC_US,
        }
    )


def _join_hour(predictions: pl.DataFrame, feedback: pl.DataFrame) -> pl.DataFrame:
    """One hour's predictions with their latest label (left join on id)."""
    kind = predictions.schema[PREDICTION]
    if feedback.is_empty():
        return predictions.with_columns(
            pl.lit(None, dtype=kind).alias(LABEL), pl.lit(None, dtype=UTC_US).alias(OBSERVED_AT)
        )
    labels = latest_labels(feedback).with_columns(
        pl.col(LABEL).cast(kind, strict=False), pl.col(OBSERVED_AT).cast(UTC_US)
    )
    return predictions.join(labels, on=ID, how="left", maintain_order="left")


def _joined_hour(
    storage: Storage, model: str, hour: datetime, since: datetime, until: datetime
) -> pl.DataFrame | None:
    """One hour's predictions in [since, until) joined to their labels; None when it has none."""
    names = part_names(storage, PREDICTIONS, model, hour)
    if not names:
        return None
    predictions = read_parts(storage, PREDICTIONS, names, threads=2)
    if hour < since or hour + timedelta(hours=1) > until:
        predictions = predictions.filter((pl.col(TS) >= since) & (pl.col(TS) < until))
    if predictions.is_empty():
        return None
    feedback = read_parts(storage, CONTAINER, part_names(storage, CONTAINER, model, hour), threads=2)
    return _join_hour(predictions, feedback)


def joined_window(storage: Storage, model: str, since: datetime, until: datetime) -> pl.DataFrame:
    """Every prediction of ``model`` made in [since, until) with its label (see the module contract)."""
    since, until = since.astimezone(UTC), until.astimezone(UTC)
    hours = _hours(since, until)
    frames: list[pl.DataFrame] = []
    with ThreadPoolExecutor(max_workers=PARALLEL_HOURS) as pool:
        # Submitted a batch at a time, so no more than PARALLEL_HOURS hours' parts are in memory.
        for start in range(0, len(hours), PARALLEL_HOURS):
            batch = hours[start : start + PARALLEL_HOURS]
            done = pool.map(lambda h: _joined_hour(storage, model, h, since, until), batch)
            frames += [f for f in done if f is not None]
    if not frames:
        return _empty()
    joined = pl.concat(frames, how="diagonal_relaxed") if len(frames) > 1 else frames[0]
    probas = [c for c in joined.columns if c.startswith("proba_")]
    return joined.select(ID, TS, VERSION, PREDICTION, *probas, LABEL, OBSERVED_AT)
