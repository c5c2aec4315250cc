"""The predictions log: every scored row's id and answer, as Parquet parts in buffered batches.

Unlike the sampled inference log (features, for drift) this keeps every row, compactly, so
feedback can be joined to any prediction. Layout:
``predictions/<model>/<YYYY-MM-DD>/<HH>/<version>/<written-at>-<random>.parquet``, one part per
flush of one version's rows of one hour (the hour of the request, the same hour a generated id
carries). Columns: ``id`` (String), ``ts`` (UTC time of the request), ``version``, ``prediction``
(a classifier's label in its classes' type, a regressor's value as Float64) and, for classifiers,
``proba_<class>`` (Float32, one per class, the class as ``str(label)``). Parts are immutable and
carry a sha256 like every blob; rows still buffered when a process dies are lost.
"""

from __future__ import annotations

import atexit
import io
import logging
import threading
import weakref
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl

from shared.steps.inference_log import PART_SUFFIX, encode_part, hour_prefix, part_name
from shared.storage.factory import Storage

CONTAINER = "predictions"
ID, TS, VERSION, PREDICTION, PROBA = "id", "ts", "version", "prediction", "proba_"
log = logging.getLogger(__name__)

#: A buffer key: model, version, hour, class names (empty for a regressor).
_Key = tuple[str, str, datetime, tuple[str, ...]]
#: Every live buffer of this process, so feedback can write what this process scored before it looks.
_BUFFERS: weakref.WeakSet[PredictionLogBuffer] = weakref.WeakSet()


def proba_column(label: Any) -> str:
    """The probability column of one class."""
    return f"{PROBA}{label}"


@dataclass
class _Batch:
    """Rows of one (model, version, hour) waiting for the next flush."""

    classes: list[Any] | None
    ids: list[str] = field(default_factory=list)
    #: (request time in microseconds, rows) per add: one time per request, repeated at flush.
    ts: list[tuple[int, int]] = field(default_factory=list)
    outputs: list[npt.NDArray[Any]] = field(default_factory=list)
    probabilities: list[npt.NDArray[np.float32]] = field(default_factory=list)

    def frame(self, version: str) -> pl.DataFrame:
        """The part's rows in this version's fixed schema."""
        n = len(self.ids)
        columns = [
            pl.Series(ID, self.ids, dtype=pl.String),
            pl.Series(TS, np.repeat([t for t, _ in self.ts], [k for _, k in self.ts])).cast(
                pl.Datetime("us", "UTC")
            ),
            pl.Series(VERSION, [version] * n, dtype=pl.String),
        ]
        if self.classes is None:
            columns.append(pl.Series(PREDICTION, np.concatenate(self.outputs), dtype=pl.Float64))
            return pl.DataFrame(columns)
        index = np.concatenate(self.outputs)
        # The label in its classes' own type: ints stay Int64, strings String, booleans Boolean.
        labels = pl.Series(PREDICTION, self.classes, strict=False).gather(index)
        columns.append(labels)
        probs = np.concatenate(self.probabilities)
        columns += [
            pl.Series(proba_column(c), probs[:, j], dtype=pl.Float32) for j, c in enumerate(self.classes)
        ]
        return pl.DataFrame(columns)


class PredictionLogBuffer:
    """Buffers every scored row per model version and hour; writes each batch as one Parquet part.

    Written when a batch reaches ``max_rows`` or every ``max_age_s`` by a background thread (scoring
    never waits on storage); ``background=False`` writes on every add (scripts, tests).
    """

    def __init__(
        self, storage: Storage, max_rows: int = 100_000, max_age_s: float = 10.0, *, background: bool = True
    ) -> None:
        self.storage = storage
        self.max_rows = max_rows
        self.max_age_s = max_age_s
        self.background = background
        self._pending: dict[_Key, _Batch] = {}
        self._lock = threading.Lock()
        self._wake = threading.Event()
        _BUFFERS.add(self)
        if background:
            threading.Thread(target=self._run, name="prediction-log-flusher", daemon=True).start()
            atexit.register(self.flush)

    def add(
        self,
        model: str,
        version: str,
        at: datetime,
        ids: Sequence[str],
        *,
        classes: list[Any] | None = None,
        class_index: npt.NDArray[Any] | None = None,
        probabilities: npt.NDArray[Any] | None = None,
        values: npt.NDArray[Any] | None = None,
    ) -> None:
        """Queue a request's scored rows: a classifier's class index + probabilities, or values."""
        when = at.astimezone(UTC)
        hour = when.replace(minute=0, second=0, microsecond=0)
        n = len(ids)
        stamp = (int(when.timestamp() * 1_000_000), n)
        names = tuple(map(str, classes)) if classes is not None else ()
        with self._lock:
            key = (model, version, hour, names)
            batch = self._pending.get(key)
            if batch is None:
                batch = self._pending[key] = _Batch(list(classes) if classes is not None else None)
            batch.ids.extend(ids)
            batch.ts.append(stamp)
            if classes is not None:
                assert class_index is not None and probabilities is not None
                batch.outputs.append(np.asarray(class_index, dtype=np.int64).reshape(n))
                batch.probabilities.append(np.asarray(probabilities, dtype=np.float32).reshape(n, -1))
            else:
                assert values is not None
                batch.outputs.append(np.asarray(values, dtype=np.float64).reshape(n))
            full = len(batch.ids) >= self.max_rows
        if not self.background:
            self.flush()
        elif full:
            self._wake.set()

    def _run(self) -> None:
        while True:
            self._wake.wait(self.max_age_s)
            self._wake.clear()
            try:
                self.flush()
            except Exception:  # keep the flusher alive; the rows stay queued for the next try
                log.exception("prediction log flush failed")

    def flush(self) -> int:
        """Write every queued batch as a part; the number of rows written."""
        with self._lock:
            pending, self._pending = self._pending, {}
        items = list(pending.items())
        written = 0
        for i, (key, batch) in enumerate(items):
            model, version, hour = key[0], key[1], key[2]
            try:
                self.storage.blobs.put_bytes(
                    CONTAINER,
                    part_name(model, version, hour),
                    encode_part(batch.frame(version)),
                    content_type="application/vnd.apache.parquet",
                    overwrite=False,
                )
            except Exception:
                self._requeue(items[i:])
                raise
            written += len(batch.ids)
        return written

    def _requeue(self, items: list[tuple[_Key, _Batch]]) -> None:
        """Put unwritten batches back, in front of rows queued for the same key since."""
        with self._lock:
            for key, batch in items:
                newer = self._pending.get(key)
                if newer is not None:
                    batch.ids += newer.ids
                    batch.ts += newer.ts
                    batch.outputs += newer.outputs
                    batch.probabilities += newer.probabilities
                self._pending[key] = batch


def flush_pending() -> int:
    """Write the rows every buffer of this process still holds (feedback may name them next).

    Another instance's buffered rows (at most ``max_age_s`` old) are out of reach: feedback sent
    within seconds of scoring on another instance can find its id unknown, and is resent.
    """
    written = 0
    for buffer in list(_BUFFERS):
        try:
            written += buffer.flush()
        except Exception:  # its rows stay queued for the flusher; the lookup goes on without them
            log.exception("prediction log flush before feedback failed")
    return written


def part_names(storage: Storage, container: str, model: str, hour: datetime) -> list[str]:
    """Every Parquet part of ``model`` under the prefix of ``hour`` in ``container``, sorted."""
    prefix = hour_prefix(model, hour)
    return sorted(n for n in storage.blobs.list_names(container, prefix) if n.endswith(PART_SUFFIX))


def read_parts(
    storage: Storage, container: str, names: list[str], columns: list[str] | None = None, threads: int = 4
) -> pl.DataFrame:
    """The parts' rows as one frame (``columns`` projected; schemas joined by name), fetched in parallel."""
    if not names:
        return pl.DataFrame()

    def fetch(name: str) -> pl.DataFrame:
        data = storage.blobs.get_bytes(container, name)
        return pl.read_parquet(io.BytesIO(data), columns=columns)

    with ThreadPoolExecutor(max_workers=max(1, min(threads, len(names)))) as pool:
        frames = list(pool.map(fetch, names))
    return pl.concat(frames, how="diagonal_relaxed") if len(frames) > 1 else frames[0]


def read_hour(storage: Storage, model: str, hour: datetime, columns: list[str] | None = None) -> pl.DataFrame:
    """Every logged prediction of ``model`` in ``hour`` (all versions)."""
    return read_parts(storage, CONTAINER, part_names(storage, CONTAINER, model, hour), columns)
