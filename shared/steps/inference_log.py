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

Offered-rows counts (the type-error rate): every request a model version answers or refuses row
by row (``Server`` passes scoring's ``RowTally``) adds one counts row, sampled or not: request time,
version, rows offered, rows refused (any reason) and rows refused for a type/value error. They are
buffered per model and hour and written at each flush as one small Parquet part directly under the
hour, ``<model>/<YYYY-MM-DD>/<HH>/offered-<written-at>-<random>.parquet``, a level above the
version folders, so ``_PART`` (and the drift features) never see it. ``LogWindow.quality()`` sums
the window's counts rows (by request time, every version) as ``type_errors``, ``rows_offered`` and
``rows_refused``. Definition: type-error rate = rows refused for a type/value error / rows offered,
both counted on every served request (never sampled, so the ratio does not depend on the sample
rate, while the other rates are measured on the sampled rows); rows refused for other reasons
(not an object, an unknown field under ``strict``, a matrix model's missing or null feature) count
as offered, not as type errors, and the good rows of a request refused whole (no ``partial``) count
as offered too. Requests refused before their rows are read (not a row list, too many rows) and
shadow copies are not counted. Windows with no counts part (logs written by other means) have no
``type_errors`` key, so the rate stays unknown rather than 0.

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
#: Offered-rows counts parts sit directly under the hour, so ``_PART`` never matches them.
COUNTS_PREFIX = "offered-"
_COUNTS = re.compile(r"^\d{4}-\d{2}-\d{2}/\d{2}/offered-[^/]+\.parquet$")
OFFERED, REFUSED, TYPE_ERRORS = "offered", "refused", "type_errors"
log = logging.getLogger(__name__)

FloatMatrix = npt.NDArray[np.float32]
#: A buffer key: model, version, hour, feature names, prediction column.
_Key = tuple[str, str, datetime, tuple[str, ...], str]
#: A counts buffer key: model, hour.
_CountsKey = tuple[str, datetime]


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


def counts_name(model: str, hour: datetime) -> str:
    """A new, unique offered-rows counts part name for the hour ``hour`` falls in."""
    now = datetime.now(UTC)
    return validate_blob_name(
        f"{hour_prefix(model, hour)}{COUNTS_PREFIX}{now:%Y%m%dT%H%M%S%f}-{uuid.uuid4().hex[:12]}{PART_SUFFIX}"
    )


@dataclass
class _Counts:
    """Offered-rows counts of one (model, hour), one entry per request, waiting for the next flush."""

    ts: list[int] = field(default_factory=list)
    versions: list[str] = field(default_factory=list)
    offered: list[int] = field(default_factory=list)
    refused: list[int] = field(default_factory=list)
    type_errors: list[int] = field(default_factory=list)

    def extend(self, other: _Counts) -> None:
        self.ts += other.ts
        self.versions += other.versions
        self.offered += other.offered
        self.refused += other.refused
        self.type_errors += other.type_errors

    def frame(self) -> pl.DataFrame:
        return pl.DataFrame(
            [
                pl.Series(TS, self.ts, dtype=pl.Int64).cast(pl.Datetime("us", "UTC")),
                pl.Series(VERSION, self.versions, dtype=pl.String),
                pl.Series(OFFERED, self.offered, dtype=pl.Int32),
                pl.Series(REFUSED, self.refused, dtype=pl.Int32),
                pl.Series(TYPE_ERRORS, self.type_errors, dtype=pl.Int32),
            ]
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
        self._counts: dict[_CountsKey, _Counts] = {}
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

    def count(
        self, model: str, version: str, at: datetime, offered: int, refused: int, type_errors: int
    ) -> None:
        """Queue one request's offered-rows counts (every served request, sampled or not)."""
        when = at.astimezone(UTC)
        hour = when.replace(minute=0, second=0, microsecond=0)
        with self._lock:
            counts = self._counts.get((model, hour))
            if counts is None:
                counts = self._counts[(model, hour)] = _Counts()
            counts.ts.append(int(when.timestamp() * 1_000_000))
            counts.versions.append(version)
            counts.offered.append(offered)
            counts.refused.append(refused)
            counts.type_errors.append(type_errors)
            full = len(counts.ts) >= self.max_rows
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
        """Write every queued batch as a part, then the queued counts; returns the rows written."""
        with self._lock:
            pending, self._pending = self._pending, {}
            counted, self._counts = self._counts, {}
        written = 0
        items = list(pending.items())
        for i, (key, batch) in enumerate(items):
            model, version, hour = key[0], key[1], key[2]
            try:
                self._put(part_name(model, version, hour), batch.frame(version))
            except Exception:
                self._requeue(items[i:], list(counted.items()))
                raise
            written += batch.rows
        totals = list(counted.items())
        for i, ((model, hour), counts) in enumerate(totals):
            try:
                self._put(counts_name(model, hour), counts.frame())
            except Exception:
                self._requeue([], totals[i:])
                raise
        return written

    def _put(self, name: str, frame: pl.DataFrame) -> None:
        self.storage.blobs.put_bytes(
            LOG_CONTAINER,
            name,
            encode_part(frame),
            content_type="application/vnd.apache.parquet",
            overwrite=False,  # names are unique; never replace another writer's part
        )

    def _requeue(self, items: list[tuple[_Key, _Batch]], counts: list[tuple[_CountsKey, _Counts]]) -> None:
        """Put unwritten batches and counts back, in front of rows queued for the same key since."""
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
            for counts_key, older in counts:
                if (newer_counts := self._counts.get(counts_key)) is not None:
                    older.extend(newer_counts)
                self._counts[counts_key] = older


@dataclass(frozen=True)
class LogPart:
    """One part of a model's log: its blob name and the version whose rows it holds."""

    name: str
    version: str


def list_parts(storage: Storage, model: str, since: datetime, until: datetime) -> list[LogPart]:
    """Parts of the hours that overlap [since, until), oldest hour first."""
    return list_window(storage, model, since, until)[0]


def list_window(
    storage: Storage, model: str, since: datetime, until: datetime
) -> tuple[list[LogPart], list[str]]:
    """Row parts and offered-rows counts parts of the hours that overlap [since, until), one listing."""
    parts: list[LogPart] = []
    counts: list[str] = []
    hour = since.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    while hour < until:
        prefix = hour_prefix(model, hour)
        for name in sorted(storage.blobs.list_names(LOG_CONTAINER, prefix)):
            relative = name[len(model) + 1 :]
            if match := _PART.match(relative):
                parts.append(LogPart(name, match["version"]))
            elif _COUNTS.match(relative):
                counts.append(name)
        hour += timedelta(hours=1)
    return parts, counts


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
        self._offered: pl.LazyFrame | None = None
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
        self._lazy = self._offered = None
        if self._tmp is not None:
            self._tmp.cleanup()

    def _open(self, folder: Path) -> None:
        self.parts, counts = list_window(self.storage, self.model, self.since, self.until)
        names = [part.name for part in self.parts] + counts

        def fetch(indexed: tuple[int, str]) -> tuple[Path, int]:
            i, name = indexed
            path = folder / f"{i:06d}.parquet"
            ref = self.storage.blobs.download_to_file(LOG_CONTAINER, name, path)
            return path, ref.size

        with ThreadPoolExecutor(max_workers=max(1, self.download_threads)) as pool:
            downloaded = list(pool.map(fetch, enumerate(names)))
        self.bytes_read = sum(size for _, size in downloaded)
        fetched = downloaded[: len(self.parts)]
        window = (pl.col(TS) >= self.since) & (pl.col(TS) < self.until)
        if counts:  # every version's requests count: the window's traffic, as its features do
            paths = [path for path, _ in downloaded[len(self.parts) :]]
            self._offered = pl.scan_parquet(paths).filter(window)
        by_version: dict[str, list[Path]] = {}
        for part, (path, _) in zip(self.parts, fetched, strict=True):
            by_version.setdefault(part.version, []).append(path)
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
        """Data-quality signals of the window: rows carrying counts, null features, unseen categories;
        with offered-rows counts also ``type_errors``, ``rows_offered`` and ``rows_refused``."""
        if not self._quality:
            sums = {"rows": 0, "rows_with_nulls": 0, "nulls": 0, "unseen_categories": 0}
        else:
            frame = (
                pl.concat(self._quality)
                .select(
                    pl.len().alias("rows"),
                    (pl.col(NULLS) > 0).sum().alias("rows_with_nulls"),
                    pl.col(NULLS).sum().alias("nulls"),
                    pl.col(UNSEEN).sum().alias("unseen_categories"),
                )
                .collect()
            )
            sums = {name: int(frame[name][0]) for name in frame.columns}
        if self._offered is not None:
            offered = self._offered.select(
                pl.col(TYPE_ERRORS).sum().alias("type_errors"),
                pl.col(OFFERED).sum().alias("rows_offered"),
                pl.col(REFUSED).sum().alias("rows_refused"),
            ).collect()
            sums |= {name: int(offered[name][0] or 0) for name in offered.columns}
        return sums

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
