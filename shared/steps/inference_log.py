"""The inference log: sampled scored rows as Parquet parts, written in buffered batches, read lazily.

Layout: ``inference-logs/<model>/<YYYY-MM-DD>/<HH>/<version>/<written-at>-<random>.parquet``, one
part per flush of one model version's rows for one hour. A part has a fixed schema per model
version: ``__ts__`` (UTC time of the request), ``__version__``, every feature of the model's
signature as Float32 (the values the model was given: scoring validates rows and feeds ONNX a
float32 matrix) in signature order, and the prediction column the drift reference uses (label of a
classifier, value of a regressor). A raw-columns model's parts also carry per-row data-quality
counts ``__nulls__`` (features null or left out, imputed by the model) and ``__unseen__``
(categories never seen in training); they are never drift features: ``LogWindow`` keeps them out
of its columns and sums them in ``quality()``. Rows logged with their prediction ids carry them in
``__id__`` (String; never a drift feature either), the same ids the scoring response returned and
the predictions log (``shared.steps.prediction_log``) keeps for every row. Parts are immutable and
carry a sha256 like every other blob.

Nothing in the drift path touches a row in Python: the reader lists the window's hours, streams the
parts to a temporary folder and scans them with polars, projecting the columns a drift batch needs.
The JSON-lines append blobs of earlier builds (``<hour>.jsonl``) are not read: this is a break
before the first release, and those logs only ever held demo traffic.
"""

from __future__ import annotations

import atexit
import io
import logging
import re
import tempfile
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl

from shared.models.signature import ModelSignature
from shared.storage.factory import Storage
from shared.storage.names import validate_blob_name

LOG_CONTAINER = "inference-logs"
TS = "__ts__"
VERSION = "__version__"
PART_SUFFIX = ".parquet"
PREDICTION = "prediction"
NULLS = "__nulls__"
UNSEEN = "__unseen__"
ID = "__id__"
QUALITY = (NULLS, UNSEEN)
_PART = re.compile(r"^\d{4}-\d{2}-\d{2}/\d{2}/(?P<version>[^/]+)/[^/]+\.parquet$")
log = logging.getLogger(__name__)

FloatMatrix = npt.NDArray[np.float32]
#: A buffer key: model, version, hour, feature names, prediction column.
_Key = tuple[str, str, datetime, tuple[str, ...], str]


def prediction_column(features: list[str]) -> str:
    """The name of the prediction column: ``prediction``, unless a feature already has that name."""
    return PREDICTION if PREDICTION not in features else f"__{PREDICTION}__"


def hour_prefix(model: str, hour: datetime) -> str:
    """Blob-name prefix of a model's parts for the hour ``hour`` falls in (UTC)."""
    at = hour.astimezone(UTC)
    return f"{model}/{at:%Y-%m-%d}/{at:%H}/"


def part_name(model: str, version: str, hour: datetime) -> str:
    """A new, unique part name for rows of ``version`` logged in the hour ``hour`` falls in."""
    now = datetime.now(UTC)
    return validate_blob_name(
        f"{hour_prefix(model, hour)}{version}/{now:%Y%m%dT%H%M%S%f}-{uuid.uuid4().hex[:12]}{PART_SUFFIX}"
    )


@dataclass
class _Batch:
    """Rows of one (model, version, hour) waiting for the next flush."""

    features: list[str]
    prediction: str
    ts: list[npt.NDArray[np.int64]] = field(default_factory=list)
    matrices: list[FloatMatrix] = field(default_factory=list)
    predictions: list[Any] = field(default_factory=list)
    #: Per-row null and unseen-category counts (raw-columns models only; else empty).
    quality: list[npt.NDArray[np.int32]] = field(default_factory=list)
    #: Prediction ids per row (None where a caller logged rows without them).
    ids: list[str | None] = field(default_factory=list)

    @property
    def rows(self) -> int:
        return len(self.predictions)

    def frame(self, version: str) -> pl.DataFrame:
        """The part's rows in the fixed schema of this version."""
        matrix = np.concatenate(self.matrices) if self.matrices else np.empty((0, len(self.features)))
        ts = pl.Series(TS, np.concatenate(self.ts)).cast(pl.Datetime("us", "UTC"))
        columns = [ts, pl.Series(VERSION, [version] * self.rows, dtype=pl.String)]
        columns += [pl.Series(name, matrix[:, j], dtype=pl.Float32) for j, name in enumerate(self.features)]
        columns.append(pl.Series(self.prediction, self.predictions, strict=False))
        if any(i is not None for i in self.ids):
            columns.append(pl.Series(ID, self.ids, dtype=pl.String))
        if self.quality:
            counts = np.concatenate(self.quality)
            columns += [pl.Series(name, counts[:, j], dtype=pl.Int32) for j, name in enumerate(QUALITY)]
        return pl.DataFrame(columns)


def row_quality(sig: ModelSignature, rows: list[Any]) -> npt.NDArray[np.int32] | None:
    """Per scored row ``[nulls, unseen categories]`` of a raw-columns model; None for a matrix model.

    The rows are the ones scoring accepted, so a value is null/left out, or valid for its kind.
    """
    if sig.columns is None:
        return None
    known = {name: set(values) for name, values in (sig.categories or {}).items()}
    texts = [name for name, kind in sig.columns.items() if kind == "category" and name in known]
    counts = np.zeros((len(rows), 2), dtype=np.int32)
    for i, row in enumerate(rows):
        counts[i, 0] = sum(1 for name in sig.features if row.get(name) is None)
        counts[i, 1] = sum(
            1 for name in texts if (v := row.get(name)) is not None and str(v) not in known[name]
        )
    return counts


def encode_part(frame: pl.DataFrame) -> bytes:
    """A part's Parquet bytes (zstd; row-group statistics let a window's time filter skip groups)."""
    out = io.BytesIO()
    frame.write_parquet(out, compression="zstd", statistics=True)
    return out.getvalue()


class InferenceLogBuffer:
    """Buffers logged rows per model version and hour; writes each batch as one Parquet part.

    A batch is written when it reaches ``max_rows`` or every ``max_age_s``. Scoring never waits on
    the log. Rows still buffered when a process dies are lost, which a sampled log tolerates;
    ``flush()`` writes them now (the host calls it on shutdown via atexit).
    """

    def __init__(
        self, storage: Storage, max_rows: int = 50_000, max_age_s: float = 10.0, *, background: bool = True
    ) -> None:
        self.storage = storage
        self.max_rows = max_rows
        self.max_age_s = max_age_s
        self.background = background
        self._pending: dict[_Key, _Batch] = {}
        self._lock = threading.Lock()
        self._wake = threading.Event()
        if background:  # one-off callers (scripts, tests) write on every add instead
            threading.Thread(target=self._run, name="inference-log-flusher", daemon=True).start()
            atexit.register(self.flush)

    def add(
        self,
        model: str,
        version: str,
        features: list[str],
        prediction: str,
        matrix: FloatMatrix,
        predictions: list[Any],
        at: datetime | None = None,
        quality: npt.NDArray[np.int32] | None = None,
        ids: list[str] | None = None,
    ) -> None:
        """Queue rows (a float32 matrix in ``features`` order and their predictions) logged at ``at``.

        ``quality``: per-row ``[nulls, unseen categories]`` (a raw-columns model's rows; one shape
        per model version, so give it for every call of a version or for none).
        """
        when = (at or datetime.now(UTC)).astimezone(UTC)
        hour = when.replace(minute=0, second=0, microsecond=0)
        stamp = np.full(len(predictions), int(when.timestamp() * 1_000_000), dtype=np.int64)
        key = (model, version, hour, tuple(features), prediction)
        with self._lock:
            batch = self._pending.get(key)
            if batch is None:
                batch = self._pending[key] = _Batch(list(features), prediction)
            batch.ts.append(stamp)
            batch.matrices.append(np.asarray(matrix, dtype=np.float32).reshape(len(predictions), -1))
            batch.predictions.extend(predictions)
            batch.ids.extend(ids if ids is not None else [None] * len(predictions))
            if quality is not None:
                batch.quality.append(np.asarray(quality, dtype=np.int32).reshape(len(predictions), 2))
            full = batch.rows >= self.max_rows
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
                log.exception("inference log flush failed")

    def flush(self) -> int:
        """Write every queued batch as a part; returns the number of rows written."""
        with self._lock:
            pending, self._pending = self._pending, {}
        written = 0
        items = list(pending.items())
        for i, (key, batch) in enumerate(items):
            model, version, hour = key[0], key[1], key[2]
            try:
                self.storage.blobs.put_bytes(
                    LOG_CONTAINER,
                    part_name(model, version, hour),
                    encode_part(batch.frame(version)),
                    content_type="application/vnd.apache.parquet",
                    overwrite=False,  # names are unique; never replace another writer's part
                )
            except Exception:
                self._requeue(items[i:])
                raise
            written += batch.rows
        return written

    def _requeue(self, items: list[tuple[_Key, _Batch]]) -> None:
        """Put unwritten batches back, in front of rows queued for the same key since."""
        with self._lock:
            for key, batch in items:
                newer = self._pending.get(key)
                if newer is not None:
                    batch.ts += newer.ts
                    batch.matrices += newer.matrices
                    batch.predictions += newer.predictions
                    batch.quality += newer.quality
                    batch.ids += newer.ids
                self._pending[key] = batch


@dataclass(frozen=True)
class LogPart:
    """One part of a model's log: its blob name and the version whose rows it holds."""

    name: str
    version: str


def list_parts(storage: Storage, model: str, since: datetime, until: datetime) -> list[LogPart]:
    """Parts of the hours that overlap [since, until), oldest hour first."""
    parts: list[LogPart] = []
    hour = since.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    while hour < until:
        prefix = hour_prefix(model, hour)
        for name in sorted(storage.blobs.list_names(LOG_CONTAINER, prefix)):
            match = _PART.match(name[len(model) + 1 :])
            if match:
                parts.append(LogPart(name, match["version"]))
        hour += timedelta(hours=1)
    return parts


class LogWindow:
    """The log rows of one window as a lazy frame over downloaded parts; columns read on demand.

    ``version`` keeps predictions of that version only (another version's, e.g. a canary's, are not
    comparable with its reference) while every version's features count. ``prediction`` names the
    prediction column. Use as a context manager: the parts live in a temporary folder until exit.
    """

    def __init__(
        self,
        storage: Storage,
        model: str,
        since: datetime,
        until: datetime,
        *,
        version: str | None = None,
        prediction: str | None = None,
        workdir: Path | None = None,
        download_threads: int = 4,
    ) -> None:
        self.storage = storage
        self.model = model
        self.since = since.astimezone(UTC)
        self.until = until.astimezone(UTC)
        self.version = version
        self.prediction = prediction
        self.workdir = workdir
        self.download_threads = download_threads
        self.parts: list[LogPart] = []
        self.bytes_read = 0
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self._lazy: pl.LazyFrame | None = None
        self._quality: list[pl.LazyFrame] = []
        self.columns: list[str] = []
        self.height = 0

    def __enter__(self) -> LogWindow:
        self._tmp = tempfile.TemporaryDirectory(prefix="drift-window-", dir=self.workdir)
        try:
            self._open(Path(self._tmp.name))
        except BaseException:
            self._tmp.cleanup()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self._lazy = None
        if self._tmp is not None:
            self._tmp.cleanup()

    def _open(self, folder: Path) -> None:
        self.parts = list_parts(self.storage, self.model, self.since, self.until)

        def fetch(indexed: tuple[int, LogPart]) -> tuple[Path, int]:
            i, part = indexed
            path = folder / f"{i:06d}.parquet"
            ref = self.storage.blobs.download_to_file(LOG_CONTAINER, part.name, path)
            return path, ref.size

        with ThreadPoolExecutor(max_workers=max(1, self.download_threads)) as pool:
            fetched = list(pool.map(fetch, enumerate(self.parts)))
        self.bytes_read = sum(size for _, size in fetched)
        by_version: dict[str, list[Path]] = {}
        for part, (path, _) in zip(self.parts, fetched, strict=True):
            by_version.setdefault(part.version, []).append(path)
        window = (pl.col(TS) >= self.since) & (pl.col(TS) < self.until)
        frames = []
        for version, paths in by_version.items():
            # One version's parts share one schema, so one scan reads them; versions are joined by name.
            lazy = pl.scan_parquet(paths, missing_columns="insert", extra_columns="ignore").filter(window)
            schema = lazy.collect_schema()
            other = self.version is not None and version != self.version
            if other and self.prediction is not None and self.prediction in schema:
                lazy = lazy.with_columns(pl.lit(None, dtype=schema[self.prediction]).alias(self.prediction))
            if all(name in schema for name in QUALITY):
                self._quality.append(lazy.select(QUALITY))
            frames.append(lazy.drop(TS, VERSION, ID, *QUALITY, strict=False))
        if not frames:
            return
        self._lazy = pl.concat(frames, how="diagonal_relaxed")
        self.columns = list(self._lazy.collect_schema())
        self.height = int(self._lazy.select(pl.len()).collect().item())

    def quality(self) -> dict[str, int]:
        """Data-quality signals of the window: rows carrying counts, null features, unseen categories."""
        if not self._quality:
            return {"rows": 0, "rows_with_nulls": 0, "nulls": 0, "unseen_categories": 0}
        sums = (
            pl.concat(self._quality)
            .select(
                pl.len().alias("rows"),
                (pl.col(NULLS) > 0).sum().alias("rows_with_nulls"),
                pl.col(NULLS).sum().alias("nulls"),
                pl.col(UNSEEN).sum().alias("unseen_categories"),
            )
            .collect()
        )
        return {name: int(sums[name][0]) for name in sums.columns}

    def read(self, names: list[str]) -> pl.DataFrame:
        """The window's values of ``names`` (those it has), one column each."""
        present = [n for n in names if n in self.columns]
        if self._lazy is None or not present:
            return pl.DataFrame()
        return self._lazy.select(present).collect()


def read_inference_log(storage: Storage, model: str, since: datetime, until: datetime) -> pl.DataFrame:
    """Every logged row of a model in [since, until) as one frame (features, prediction; small windows)."""
    with LogWindow(storage, model, since, until) as window:
        return window.read(window.columns) if window.columns else pl.DataFrame()
