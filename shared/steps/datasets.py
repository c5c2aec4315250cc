"""Ingest and validate steps: read the source, version it by content, validate, split, profile.

Blob layout (containers from DESIGN section 4):
  datasets/<pipeline>/<version>/<ingest>/ingested.parquet, issues.parquet, ingest.json,
  datasets/<pipeline>/<version>/<ingest>/<rules>-<check>/<split>.parquet
  quarantine/<pipeline>/<version>/<ingest>/<rules>-<check>.csv
  profiles/<pipeline>/<version>/<ingest>/<rules>-<check>.json, profiles/<pipeline>/baseline.json
Same bytes -> same version -> the ingested rows are reused. A blob prefix or pattern is resolved
when the step runs (``sources.resolve_blobs``), so a scheduled or drift-triggered run reads the
newest blobs; they are read as one dataset, each pinned to the ETag it was selected with, and the
version hashes their bytes in order (same blobs, same version). The record and the step's result
keep the lineage: which blobs were read (``source_blobs``). A validation is reused only for the same
version AND the same data rules (``rules_key``): changing the target or an expectation on the same
file validates again, into its own folder, so earlier runs' splits stay readable.

Concurrency: every ingest and every validation writes under its own fresh ``<ingest>`` /
``<check>`` id, so two runs of one pipeline on the same file never write the same blob (two
writers of one block blob discard each other's staged blocks). The dataset row is the single
publication point: the first writer's row wins (create-only insert, ETag-guarded replace), a
loser returns the winner's result and deletes its own blobs. The baseline is written create-only.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import posixpath
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, BinaryIO, cast

import polars as pl
import pyarrow.parquet as pq

from shared.data.bundled import bundled_csv_bytes
from shared.data.ingest import DEFAULT_CHUNK_BYTES, ISSUE_SCHEMA, MAX_COLUMNS
from shared.data.ingest_stream import Opener, Openers, survey, typed_parts
from shared.data.parquet_sink import ParquetSink
from shared.data.prepare import ingest_overrides
from shared.data.schema import BaselineSchema
from shared.data.split import SPLITS, split_frame
from shared.data.types import POLARS_TYPES, ROW
from shared.data.validate_stream import StreamValidator, Totals
from shared.errors import AlreadyExistsError, ConcurrencyConflictError, NotFoundError, ValidationError
from shared.monitoring.reference import DATASET_PROFILE, ReferenceProfile, build_reference_by_columns
from shared.pipeline.sections import Source
from shared.pipeline.spec import PipelineSpec
from shared.settings import Settings, load_settings
from shared.steps import sources
from shared.storage.blobs import BlobRef, BlobWriter
from shared.storage.errors import is_precondition_failed
from shared.storage.factory import Storage
from shared.storage.records import DatasetRecord

#: Bytes of source the ingest step parses at a time (memory: a few times one chunk).
CHUNK_BYTES = DEFAULT_CHUNK_BYTES


def _prefix(spec: PipelineSpec, version: str) -> str:
    return f"{spec.name}/{version}"


def fresh_id() -> str:
    """A writer's own folder name: concurrent writers of one version never share a blob."""
    return uuid.uuid4().hex[:12]


def _ingest_dir(record: DatasetRecord) -> str:
    """The folder holding a version's typed rows, issues and ingest.json."""
    if not record.ingested_blob:
        what = f"dataset {record.dataset}/{record.content_hash}"
        raise NotFoundError(f"{what} has no typed rows", field="dataset")
    return posixpath.dirname(record.ingested_blob)


def delete_quietly(storage: Storage, blobs: Sequence[tuple[str, str | None]]) -> None:
    """Best-effort removal of a losing writer's blobs (a leftover only costs storage)."""
    for container, name in blobs:
        if name:
            # Cleanup must not turn a success into a failure.
            with contextlib.suppress(Exception):
                storage.blobs.delete(container, name)


def read_frame(storage: Storage, blob: str) -> pl.DataFrame:
    """A Parquet frame from the datasets container (splits, ingested rows), sha256-verified."""
    return pl.read_parquet(io.BytesIO(storage.blobs.get_bytes("datasets", blob)))


def load_baseline(storage: Storage, pipeline: str) -> BaselineSchema | None:
    """The pipeline's stored baseline schema (None before its first accepted dataset)."""
    name = f"{pipeline}/baseline.json"
    if not storage.blobs.exists("profiles", name):
        return None
    return BaselineSchema.from_json(storage.blobs.get_bytes("profiles", name))


def dataset_summary(
    record: DatasetRecord, reused: bool, source_blobs: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    """The small dict activities return about a dataset version (``source_blobs``: the blobs this
    step read; the record's own lineage, of the ingest that wrote it, when not given)."""
    return {
        "version": record.content_hash,
        "dataset": record.dataset,
        "rows_read": record.rows_read,
        "rows_accepted": record.rows,
        "rows_quarantined": record.rows_quarantined,
        "status": record.status,
        "rejected": record.status == "rejected",
        "splits": record.splits,
        "split_rows": record.split_rows,
        "profile_blob": record.profile_blob,
        "quarantine_blob": record.quarantine_blob,
        "reasons": record.reasons,
        "reused": reused,
        "source_blobs": record.source_blobs if source_blobs is None else source_blobs,
    }


def _opener(source: Source) -> Opener:
    """Opens a (confined) file or bundled source for reading as often as needed."""
    if source.kind == "bundled":
        data = bundled_csv_bytes(source.location)
        return lambda: io.BytesIO(data)
    path = Path(source.location)
    return lambda: open(path, "rb")


def _pinned(storage: Storage, blob: sources.SourceBlob) -> Opener:
    """Opens one selected blob at the ETag it was selected with: a blob rewritten since fails the read."""
    return lambda: cast(BinaryIO, storage.blobs.open_range(blob.container, blob.name, etag=blob.etag))


@contextlib.contextmanager
def _source_kept(blobs: Sequence[sources.SourceBlob]) -> Iterator[None]:
    """Name the source when a selected blob was rewritten or deleted while the step read it."""
    try:
        yield
    except Exception as exc:
        if not (blobs and (is_precondition_failed(exc) or isinstance(exc, NotFoundError))):
            raise
        names = ", ".join(f"{b.container}/{b.name}" for b in blobs[:5]) + (", ..." if len(blobs) > 5 else "")
        # Transient: a retry resolves the source again and reads the blobs as they are now.
        raise ConcurrencyConflictError(
            f"a source blob ({names}) changed or disappeared while it was read; run again", field="source"
        ) from None


def ingest(storage: Storage, spec: PipelineSpec, settings: Settings | None = None) -> dict[str, Any]:
    """Read and type the source in chunks, Blob to Blob; a version seen before is reused without new writes.

    The source is read twice (survey, then typed parts written as they come), so memory holds one
    chunk whatever the size of the data; a header wider than ``expectations.max_columns`` is
    refused before any row is parsed.
    """
    baseline = load_baseline(storage, spec.name)
    settings = settings or load_settings()
    source = sources.confine(spec.source, settings)
    fmt = source.resolved_format()
    if fmt is None:  # the spec model refuses such sources
        raise ValidationError(f"cannot tell the format of {source.location!r}", field="source.format")
    blobs = sources.resolve_blobs(storage, source, settings) if source.kind == "blob" else []
    if len(blobs) > 1:
        with _source_kept(blobs):
            sources.check_alike(storage, blobs, parquet=fmt == "parquet")
    opener: Openers = [_pinned(storage, b) for b in blobs] if blobs else _opener(source)
    lineage = [b.lineage() for b in blobs]
    max_columns = min(MAX_COLUMNS, spec.expectations.max_columns)
    overrides = ingest_overrides(spec, baseline)
    with _source_kept(blobs):
        found = survey(
            opener, format=fmt, overrides=overrides, chunk_bytes=CHUNK_BYTES, max_columns=max_columns
        )
    version = found.version
    existing = storage.datasets.try_get(spec.name, version)
    if existing is not None and typed_alike(storage, existing, found.dtypes):
        return dataset_summary(existing, reused=True, source_blobs=lineage)
    # New bytes, or the same bytes typed differently (schema_overrides changed): the typed rows
    # are rewritten and the record goes back to "ingested", so validation runs on them again.
    prefix = f"{_prefix(spec, version)}/{fresh_id()}"
    schema = {ROW: pl.Int64(), **{c: POLARS_TYPES[found.dtypes[c]] for c in found.columns}}
    rows_read = 0
    rows = ParquetSink(storage.blobs.open_write("datasets", f"{prefix}/ingested.parquet"), schema)
    issues = ParquetSink(storage.blobs.open_write("datasets", f"{prefix}/issues.parquet"), ISSUE_SCHEMA)
    with rows, issues, _source_kept(blobs):
        for part in typed_parts(opener, found, chunk_bytes=CHUNK_BYTES):
            rows.write(part.frame)
            issues.write(part.issues)
            rows_read += part.records
    reasons = list(found.reasons)
    if rows_read == 0 and not reasons:
        reasons.append("no data rows (header only)")
    meta = {
        "dataset_version": version,
        "format": found.format,
        "source_bytes": found.size,
        "rows_read": rows_read,
        "columns": found.columns,
        "dtypes": found.dtypes,
        "reasons": reasons,
        "source_blobs": lineage,
    }
    storage.blobs.put_bytes(
        "datasets", f"{prefix}/ingest.json", json.dumps(meta).encode(), content_type="application/json"
    )
    record = DatasetRecord(
        dataset=spec.name,
        content_hash=version,
        rows=0,
        bytes=found.size,
        source=spec.source.location,
        rows_read=rows_read,
        status="ingested",
        ingested_blob=f"{prefix}/ingested.parquet",
        issues_blob=f"{prefix}/issues.parquet",
        source_blobs=lineage,
    )
    published, ours = publish_ingest(storage, record, existing, found.dtypes)
    if not ours:
        names = [record.ingested_blob, record.issues_blob, f"{prefix}/ingest.json"]
        delete_quietly(storage, [("datasets", n) for n in names])
    return dataset_summary(published, reused=not ours, source_blobs=lineage)


def publish_ingest(
    storage: Storage, record: DatasetRecord, seen: DatasetRecord | None, dtypes: dict[str, Any]
) -> tuple[DatasetRecord, bool]:
    """Make ``record`` the version's row unless a concurrent ingest of the same typing got there first.

    Returns the row now published and whether it is ours.
    """
    seen_blob = seen.ingested_blob if seen is not None else None
    for _ in range(30):
        try:
            current, etag = storage.datasets.get(record.dataset, record.content_hash)
        except NotFoundError:
            try:
                storage.datasets.insert(record)
                return record, True
            except AlreadyExistsError:
                continue
        if current.ingested_blob != seen_blob and typed_alike(storage, current, dtypes):
            return current, False  # the same bytes, typed the same way, by a run that finished first
        try:
            storage.datasets.replace(record, etag)
            return record, True
        except ConcurrencyConflictError:
            continue
    raise ConcurrencyConflictError(
        f"dataset {record.dataset}/{record.content_hash}: lost the publication race 30 times", field="etag"
    )


def typed_alike(storage: Storage, record: DatasetRecord, dtypes: dict[str, Any]) -> bool:
    """Whether the stored typed rows of a version have the column types this ingest decided."""
    meta = json.loads(storage.blobs.get_bytes("datasets", f"{_ingest_dir(record)}/ingest.json"))
    return bool(meta.get("dtypes") == dtypes)


def rules_key(spec: PipelineSpec) -> str:
    """Hash of everything in the spec that decides a validation's outcome (same rules, same key)."""
    rules = spec.model_dump(
        mode="json",
        include={"target", "task", "schema_overrides", "expectations", "split", "reject_threshold"},
    )
    canonical = json.dumps(rules, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


#: Rows a split holds before writing them as one row group: bigger groups let the profile read a
#: column back in fewer requests (4 M rows in ingest-sized groups took ~14 k ranged reads).
SPLIT_GROUP_BYTES = 32 * 1024 * 1024


class _IssueFeed:
    """Ingest's issues (sorted by row) handed out batch by batch: those up to a batch's last row."""

    def __init__(self, issues: pq.ParquetFile) -> None:
        self._batches = (issues.read_row_group(i) for i in range(issues.num_row_groups))
        self._buffer = pl.DataFrame(schema=ISSUE_SCHEMA)
        self._done = False

    def upto(self, last_row: int | None) -> pl.DataFrame:
        """Issues of rows up to ``last_row`` (None: all that are left)."""
        while not self._done and (
            last_row is None or self._buffer.is_empty() or self._buffer["row"][-1] <= last_row
        ):
            batch = next(self._batches, None)
            if batch is None:
                self._done = True
            else:
                self._buffer = pl.concat([self._buffer, pl.DataFrame(batch).cast(pl.Schema(ISSUE_SCHEMA))])
        if last_row is None:
            taken, self._buffer = self._buffer, self._buffer.clear()
            return taken
        taken = self._buffer.filter(pl.col("row") <= last_row)
        self._buffer = self._buffer.filter(pl.col("row") > last_row)
        return taken


def _checked(
    storage: Storage, spec: PipelineSpec, record: DatasetRecord, baseline: BaselineSchema | None, out: str
) -> tuple[Totals, BlobRef, dict[str, ParquetSink]]:
    """Validate the ingested rows batch by batch, writing quarantine and splits as they come."""
    version = record.content_hash
    meta = json.loads(storage.blobs.get_bytes("datasets", f"{_ingest_dir(record)}/ingest.json"))
    assert record.ingested_blob is not None and record.issues_blob is not None
    rows = pq.ParquetFile(
        storage.blobs.open_range("datasets", record.ingested_blob, verify=True), pre_buffer=True
    )
    found = pq.ParquetFile(storage.blobs.open_range("datasets", record.issues_blob, verify=True))
    schema = pl.DataFrame(rows.schema_arrow.empty_table()).schema
    checker = StreamValidator(
        schema,
        target=spec.target,
        expectations=spec.expectations,
        reject_threshold=spec.reject_threshold,
        rows_read=int(meta["rows_read"]),
        baseline=baseline,
        dataset_reasons=list(meta["reasons"]),
        dataset_version=version,
        declared=spec.schema_overrides,
    )
    quarantine = storage.blobs.open_write("quarantine", f"{out}.csv", content_type="text/csv")
    splits = {
        name: ParquetSink(
            storage.blobs.open_write("datasets", f"{out}/{name}.parquet"), buffer_bytes=SPLIT_GROUP_BYTES
        )
        for name in SPLITS
    }
    issues = _IssueFeed(found)
    header = True
    try:
        # Row group by row group (one ingest chunk each): iter_batches read ahead and held ~2.4x
        # the file's size at once, so the validate step grew with the data.
        batches = (pl.DataFrame(rows.read_row_group(i)) for i in range(rows.num_row_groups))
        for frame in batches:
            accepted, failed = checker.add(frame, issues.upto(int(frame[ROW][-1])))
            header = _write_batch(quarantine, splits, accepted, failed, header, spec)
        accepted, failed = checker.add(pl.DataFrame(schema=schema), issues.upto(None))
        _write_batch(quarantine, splits, accepted, failed, header, spec)
    except BaseException:
        quarantine.abort()
        for sink in splits.values():
            sink.abort()
        raise
    quarantine.close()
    assert quarantine.ref is not None
    return checker.finish(), quarantine.ref, splits


def _write_batch(
    quarantine: BlobWriter,
    splits: dict[str, ParquetSink],
    accepted: pl.DataFrame,
    failed: pl.DataFrame,
    header: bool,
    spec: PipelineSpec,
) -> bool:
    if header or failed.height:
        quarantine.write(failed.write_csv(include_header=header).encode("utf-8"))
    for name, part in split_frame(accepted, spec.split).items():
        splits[name].write(part.drop(ROW))
    return False


def profile_splits(storage: Storage, refs: dict[str, BlobRef], rows: int) -> ReferenceProfile:
    """The accepted rows' profile, read back from the splits a few columns at a time (ranged reads)."""
    files = [
        pq.ParquetFile(storage.blobs.open_range(r.container, r.name, etag=r.etag), pre_buffer=True)
        for r in refs.values()
    ]
    names = files[0].schema_arrow.names

    def read(columns: list[str]) -> pl.DataFrame:
        return pl.concat([pl.DataFrame(f.read(columns=columns)) for f in files])

    return build_reference_by_columns(names, read, rows=rows, config=DATASET_PROFILE)


def validate(storage: Storage, spec: PipelineSpec, version: str) -> dict[str, Any]:
    """Validate a version against the baseline + expectations; quarantine, split and profile it.

    Streams Blob to Blob: the typed rows are read a batch at a time, quarantine lines and split
    rows written as each batch is checked, the profile read back from the splits a few columns
    at a time; a rejected dataset's splits are dropped before they are committed.
    """
    record = storage.datasets.try_get(spec.name, version)
    if record is None:
        raise NotFoundError(f"dataset {spec.name}/{version} was not ingested", field="dataset")
    key = rules_key(spec)
    if record.status in ("validated", "rejected") and record.rules_key == key:
        return dataset_summary(record, reused=True)
    baseline = load_baseline(storage, spec.name)
    out = f"{_ingest_dir(record)}/{key}-{fresh_id()}"
    v, quarantine, sinks = _checked(storage, spec, record, baseline, out)
    splits: dict[str, str] = {}
    split_rows: dict[str, int] = {}
    profile_blob = None
    if v.rejected:
        for sink in sinks.values():
            sink.abort()
    else:
        refs: dict[str, BlobRef] = {}
        for name, sink in sinks.items():
            sink.close()
            ref = sink.target.ref  # type: ignore[attr-defined]
            refs[name], splits[name], split_rows[name] = ref, ref.name, sink.rows
        profile = profile_splits(storage, refs, v.rows_accepted)
        profile_blob = storage.blobs.put_bytes(
            "profiles", f"{out}.json", profile.to_json().encode(), content_type="application/json"
        ).name
    updated = validated_record(
        storage,
        spec,
        record,
        v,
        key,
        splits=splits,
        split_rows=split_rows,
        profile_blob=profile_blob,
        quarantine_blob=quarantine.name,
    )
    checks = {"notes": list(v.notes), "failures": v.failure_counts}
    published = publish_validation(storage, updated, record.ingested_blob, key)
    if published.splits != updated.splits or published.quarantine_blob != updated.quarantine_blob:
        # A concurrent validation of the same rows under the same rules was published first:
        # this run uses its splits (one dataset version, one set of splits) and drops its own.
        mine: list[tuple[str, str | None]] = [("datasets", n) for n in splits.values()]
        mine += [("quarantine", quarantine.name), ("profiles", profile_blob)]
        delete_quietly(storage, mine)
        return {**dataset_summary(published, reused=True), **checks}
    return {**dataset_summary(updated, reused=False), **checks}


def validated_record(
    storage: Storage,
    spec: PipelineSpec,
    record: DatasetRecord,
    v: Totals,
    key: str,
    *,
    splits: dict[str, str],
    split_rows: dict[str, int],
    profile_blob: str | None,
    quarantine_blob: str,
) -> DatasetRecord:
    """The version's row as a validation leaves it; stores an inferred baseline first (create-only).

    One home for the single pass and the fan-out merge: both end a validation exactly so.
    """
    if v.baseline_inferred and not v.rejected:
        # Create-only: a concurrent first validation that got there first keeps its baseline.
        with contextlib.suppress(AlreadyExistsError):
            storage.blobs.put_bytes(
                "profiles",
                f"{spec.name}/baseline.json",
                v.baseline.to_json().encode(),
                content_type="application/json",
                overwrite=False,
            )
    return record.model_copy(
        update={
            "rows": v.rows_accepted,
            "rows_read": v.rows_read,
            "rows_quarantined": v.rows_quarantined,
            "status": "rejected" if v.rejected else "validated",
            "reasons": list(v.reasons),
            "splits": splits,
            "split_rows": split_rows,
            "profile_blob": profile_blob,
            "quarantine_blob": quarantine_blob,
            "schema_": json.loads(v.baseline.to_json()),
            "rules_key": key,
        }
    )


def publish_validation(
    storage: Storage, updated: DatasetRecord, ingested_blob: str | None, key: str
) -> DatasetRecord:
    """Publish a validation on the version's row unless one of the same rows and rules is there already.

    Returns the row as published. When the row moved on to other typed rows meanwhile (the
    same bytes re-typed by a changed spec), this validation is returned but not published.
    """
    outcome = updated

    def apply(current: DatasetRecord) -> DatasetRecord:
        nonlocal outcome
        if current.ingested_blob != ingested_blob:
            outcome = updated
            return current
        if current.status in ("validated", "rejected") and current.rules_key == key:
            outcome = current
            return current
        outcome = updated
        return updated

    storage.datasets.update(updated.dataset, updated.content_hash, apply)
    return outcome
