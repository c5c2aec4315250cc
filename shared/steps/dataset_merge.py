"""The merge steps of a fan-out ingest (``shared.steps.dataset_parts``): surveys, then typed parts.

``merge_parts`` rebuilds what the single path stores, from the parts, with bounded memory: the
typed rows, issues and each split are concatenated row group by row group into one Parquet
blob; the quarantine is the header once, then every part's lines in part order; the validator's
counters are merged and decided once (``shared.data.validate_parts``), so the reject threshold
applies to the totals; the profile is read back from the merged splits column by column, as
the single path builds it. The dataset row is published first-wins, exactly as the single path
publishes it (same version, same rules key), so either path reuses the other's result.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from typing import Any, cast

import polars as pl
import pyarrow.parquet as pq

from shared.contracts import DatasetPlan, DatasetRef, PartOutput, PartSurvey, PartTyping
from shared.data.inference import TypeEvidence
from shared.data.ingest import DEFAULT_TYPE_MAJORITY, ISSUE_SCHEMA, decide_types
from shared.data.parquet_sink import ParquetSink
from shared.data.split import SPLITS
from shared.data.validate_parts import merge_states
from shared.errors import ValidationError
from shared.pipeline.sections import ColumnType
from shared.pipeline.spec import PipelineSpec
from shared.steps import datasets
from shared.steps.dataset_parts import baseline_key, validator
from shared.storage.blobs import BlobRef
from shared.storage.factory import Storage
from shared.storage.records import DatasetRecord

#: Bytes copied at a time when concatenating the quarantine parts.
COPY_BYTES = 8 * 1024 * 1024


def merge_surveys(
    storage: Storage, spec: PipelineSpec, plan: DatasetPlan, surveys: list[PartSurvey]
) -> dict[str, Any]:
    """Decide the column types from every part's evidence, and each part's first row number."""
    evidence = TypeEvidence()
    for part in sorted(surveys, key=lambda s: s.index):
        for c, n in part.non_null.items():
            evidence.non_null[c] = evidence.non_null.get(c, 0) + n
        for c, counts in part.parsed.items():
            seen = evidence.parsed.setdefault(c, cast(dict[ColumnType, int], {}))
            for kind, n in counts.items():
                key = cast(ColumnType, kind)
                seen[key] = seen.get(key, 0) + n
    overrides = cast(dict[str, ColumnType], plan.overrides)
    dtypes = decide_types(plan.columns, plan.columns, evidence, overrides, DEFAULT_TYPE_MAJORITY)
    first_rows, row = [], 1
    for part in sorted(surveys, key=lambda s: s.index):
        first_rows.append(row)
        row += part.records
    typing = PartTyping(dtypes=dict(dtypes), first_rows=first_rows, rows_read=row - 1)
    existing = storage.datasets.try_get(spec.name, plan.version)
    if existing is not None and datasets.typed_alike(storage, existing, dict(dtypes)):
        summary = datasets.dataset_summary(existing, reused=True, source_blobs=plan.source_blobs)
        reused = DatasetRef.model_validate(summary)
        return typing.model_copy(update={"reused": reused}).to_payload()
    return typing.to_payload()


def _reader(storage: Storage, container: str, name: str, etags: dict[str, str]) -> Any:
    """A part's blob at the ETag its writer committed (a blob written by this run's own activity)."""
    etag = etags.get(name)
    return storage.blobs.open_range(container, name, etag=etag, verify=etag is None)


def _concat(
    storage: Storage, names: list[str], target: str, etags: dict[str, str], *, buffer_bytes: int = 0
) -> tuple[BlobRef, int]:
    """Parquet blobs (same schema) concatenated row group by row group into ``target``."""
    # pre_buffer: one coalesced read per row group instead of one request per column chunk.
    files = [pq.ParquetFile(_reader(storage, "datasets", n, etags), pre_buffer=True) for n in names]
    schema = pl.DataFrame(files[0].schema_arrow.empty_table()).schema
    sink = ParquetSink(storage.blobs.open_write("datasets", target), schema, buffer_bytes=buffer_bytes)
    with sink:
        for f in files:
            for i in range(f.num_row_groups):
                sink.write(pl.DataFrame(f.read_row_group(i)))
    ref = sink.target.ref  # type: ignore[attr-defined]
    return cast(BlobRef, ref), sink.rows


def _concat_quarantine(storage: Storage, names: list[str], target: str, etags: dict[str, str]) -> BlobRef:
    """The header once, then each part's lines in part order (the single path's file, byte for byte)."""
    writer = storage.blobs.open_write("quarantine", target, content_type="text/csv")
    try:
        writer.write(pl.DataFrame(schema=ISSUE_SCHEMA).write_csv().encode("utf-8"))
        for name in names:
            for block in _reader(storage, "quarantine", name, etags).stream():
                writer.write(block)
    except BaseException:
        writer.abort()
        raise
    writer.close()
    assert writer.ref is not None
    return writer.ref


def _write_ingest(
    storage: Storage,
    plan: DatasetPlan,
    typing: PartTyping,
    states: list[dict[str, Any]],
    etags: dict[str, str],
) -> None:
    """The version's typed rows, issues and ingest.json, as the single path's ingest writes them."""
    folder = plan.folder
    _concat(storage, [s["ingested"] for s in states], f"{folder}/ingested.parquet", etags)
    _concat(storage, [s["issues"] for s in states], f"{folder}/issues.parquet", etags)
    meta = {
        "dataset_version": plan.version,
        "format": "csv",
        "source_bytes": plan.size,
        "rows_read": typing.rows_read,
        "columns": plan.columns,
        "dtypes": typing.dtypes,
        "reasons": [] if typing.rows_read else ["no data rows (header only)"],
        "parts": len(plan.parts),
        "source_blobs": plan.source_blobs,
    }
    storage.blobs.put_bytes(
        "datasets", f"{folder}/ingest.json", json.dumps(meta).encode(), content_type="application/json"
    )


def publish_ingest(
    storage: Storage, spec: PipelineSpec, plan: DatasetPlan, typing: PartTyping
) -> tuple[DatasetRecord, list[str]]:
    """Publish the version's row (its typed rows written); returns the row now published and blobs to drop."""
    folder = plan.folder
    record = DatasetRecord(
        dataset=spec.name,
        content_hash=plan.version,
        rows=0,
        bytes=plan.size,
        source=spec.source.location,
        rows_read=typing.rows_read,
        status="ingested",
        ingested_blob=f"{folder}/ingested.parquet",
        issues_blob=f"{folder}/issues.parquet",
        source_blobs=plan.source_blobs,
    )
    existing = storage.datasets.try_get(spec.name, plan.version)
    if existing is not None and datasets.typed_alike(storage, existing, dict(typing.dtypes)):
        published, ours = existing, False  # a concurrent run published these rows first
    else:
        published, ours = datasets.publish_ingest(storage, record, existing, dict(typing.dtypes))
    drop = [] if ours else [f"{folder}/ingested.parquet", f"{folder}/issues.parquet", f"{folder}/ingest.json"]
    return published, drop


def merge_parts(
    storage: Storage, spec: PipelineSpec, plan: DatasetPlan, typing: PartTyping, parts: list[PartOutput]
) -> dict[str, Any]:
    """Merge the typed and validated parts into one dataset version, published as the single path does."""
    ordered = sorted(parts, key=lambda p: p.index)
    if [p.index for p in ordered] != list(range(len(plan.parts))):
        raise ValueError(f"merge needs every part once, got {[p.index for p in ordered]}")
    states = [json.loads(storage.blobs.get_bytes("datasets", p.state_blob)) for p in ordered]
    checker = validator(spec, plan, typing, storage)
    seen = {s.get("baseline") for s in states} | {baseline_key(checker)}
    if len(seen) > 1:
        # A concurrent first run stored the pipeline's baseline while these parts were checked.
        raise ValidationError(
            "the pipeline's baseline schema changed while the parts were validated; start the run again",
            field="baseline",
        )
    v = merge_states(checker, states).finish()
    etags: dict[str, str] = {n: e for s in states for n, e in s.get("etags", {}).items()}
    key = datasets.rules_key(spec)
    out = f"{plan.folder}/{key}-{datasets.fresh_id()}"
    splits: dict[str, str] = {}
    split_rows: dict[str, int] = {}
    profile_blob = None
    # The typed rows are copied while the splits are merged and profiled: both mostly wait on
    # Blob storage, and each holds one row group (or one column of the profile) at a time.
    with ThreadPoolExecutor(1) as pool:
        ingest_written = pool.submit(_write_ingest, storage, plan, typing, states, etags)
        quarantine = _concat_quarantine(storage, [s["quarantine"] for s in states], f"{out}.csv", etags)
        if not v.rejected:
            refs: dict[str, BlobRef] = {}
            for name in SPLITS:
                names = [s["splits"][name] for s in states]
                target = f"{out}/{name}.parquet"
                ref, rows = _concat(storage, names, target, etags, buffer_bytes=datasets.SPLIT_GROUP_BYTES)
                refs[name], splits[name], split_rows[name] = ref, ref.name, rows
            profile = datasets.profile_splits(storage, refs, v.rows_accepted)
            profile_blob = storage.blobs.put_bytes(
                "profiles", f"{out}.json", profile.to_json().encode(), content_type="application/json"
            ).name
        ingest_written.result()
    record, dropped = publish_ingest(storage, spec, plan, typing)
    updated = datasets.validated_record(
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
    published = datasets.publish_validation(storage, updated, record.ingested_blob, key)
    leftovers: list[tuple[str, str | None]] = [("datasets", n) for n in dropped]
    for s in states:
        leftovers += [("datasets", s["ingested"]), ("datasets", s["issues"]), ("quarantine", s["quarantine"])]
        leftovers += [("datasets", n) for n in s["splits"].values()]
    leftovers += [("datasets", p.state_blob) for p in ordered]
    if published.splits != updated.splits or published.quarantine_blob != updated.quarantine_blob:
        # A concurrent validation of the same rows under the same rules was published first.
        leftovers += [("datasets", n) for n in splits.values()]
        leftovers += [("quarantine", quarantine.name), ("profiles", profile_blob)]
        datasets.delete_quietly(storage, leftovers)
        return {**datasets.dataset_summary(published, reused=True), **checks}
    datasets.delete_quietly(storage, leftovers)
    return {**datasets.dataset_summary(updated, reused=False), **checks}
