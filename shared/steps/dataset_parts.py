"""Ingest and validate a CSV source in parts, one activity each, merging into exactly the single pass.

Steps (each an activity; the orchestration in ``orchestrations/dataset_parts.py``):
1. ``plan``: one read of the source hashes it (the version: the same sha256 as the single pass)
   and finds the single pass's chunk cuts (``shared.data.csv_layout``); whole chunks are grouped
   into parts. Sources it does not cut (Parquet, a bad header, ``unique`` expectations, too
   small) get ``fan_out: False`` and the single-activity path.
2. ``survey_part`` per part: its records and type evidence, chunk by chunk as the single pass.
3. ``merge_surveys`` (``shared.steps.dataset_merge``): evidence summed, types decided once, each
   part's first row number (row numbers, so splits and quarantine, are the single pass's).
4. ``process_part`` per part: typed rows, issues, quarantine lines, split rows and the validator's
   counters, written under the part's own folder.
5. ``merge_parts`` (``shared.steps.dataset_merge``): everything concatenated and published as
   the single path publishes it.
"""

from __future__ import annotations

import contextlib
import io
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO, cast

import polars as pl

from shared.contracts import DatasetPart, DatasetPlan, PartCut, PartOutput, PartSurvey, PartTyping, PlanBlob
from shared.data.bundled import bundled_csv_bytes
from shared.data.chained_view import BlobShape, ChainedView, Segment, header_length, segments
from shared.data.csv_layout import Cut, layout_csv, read_cut
from shared.data.inference import TypeEvidence
from shared.data.ingest import ISSUE_SCHEMA, MAX_COLUMNS, bad_issues, cast_chunk
from shared.data.parquet_sink import ParquetSink
from shared.data.prepare import ingest_overrides
from shared.data.split import SPLITS, split_frame
from shared.data.types import POLARS_TYPES, ROW, clean_text
from shared.data.validate_parts import validator_state
from shared.data.validate_stream import StreamValidator
from shared.errors import NotFoundError, ValidationError
from shared.pipeline.sections import ColumnType, Source
from shared.pipeline.spec import PipelineSpec
from shared.settings import Settings, load_settings
from shared.steps import datasets, sources
from shared.storage.errors import is_precondition_failed
from shared.storage.factory import Storage


def _single(reason: str) -> dict[str, Any]:
    return DatasetPlan(fan_out=False, reason=reason).to_payload()


def _changed(source: Source) -> ValidationError:
    # Every part must read the bytes the plan hashed and cut: a rewritten source fails its run.
    return ValidationError(
        f"source {source.location!r} changed since the run planned its parts; start the run again",
        field="source.location",
    )


def _pinned(storage: Storage, source: Source, blob: PlanBlob) -> BinaryIO:
    """One planned blob, read at the planned ETag (and size: a reader's size is the blob's now)."""
    try:
        reader = storage.blobs.open_range(blob.container, blob.name, etag=blob.etag)
    except NotFoundError:
        raise _changed(source) from None
    if reader.size != blob.size:
        reader.close()
        raise _changed(source)
    return cast(BinaryIO, reader)


@contextlib.contextmanager
def open_source(
    storage: Storage, source: Source, blobs: list[PlanBlob], parts: list[tuple[int, int, int]]
) -> Iterator[BinaryIO]:
    """A seekable reader of the (confined) source as one CSV; blobs are read as the plan saw them."""
    if source.kind == "bundled":
        yield io.BytesIO(bundled_csv_bytes(source.location))
        return
    if source.kind == "file":
        with open(Path(source.location), "rb") as handle:
            yield handle
        return
    chained = [Segment(*p) for p in parts]
    try:
        with ChainedView(chained, lambda k: _pinned(storage, source, blobs[k])) as view:
            yield cast(BinaryIO, view)
    except Exception as exc:
        if not is_precondition_failed(exc):
            raise
        # Every part must read the bytes the plan hashed and cut: a rewritten blob fails the run.
        raise _changed(source) from None


def _layout_blobs(
    storage: Storage, source: Source, settings: Settings, fmt: str
) -> tuple[list[PlanBlob], list[tuple[int, int, int]], list[dict[str, Any]]]:
    """The blobs a blob source selects, and the chained CSV they make, as the single path reads them."""
    found = sources.resolve_blobs(storage, source, settings)
    if len(found) > 1:
        sources.check_alike(storage, found, parquet=fmt == "parquet")
    blobs = [PlanBlob(container=b.container, name=b.name, etag=b.etag, size=b.size) for b in found]
    shapes = []
    for k, blob in enumerate(blobs):
        with _pinned(storage, source, blob) as stream:
            header = header_length(stream, blob.size) if k > 0 else 0
            last = b"\n"
            if blob.size:
                stream.seek(blob.size - 1)
                last = stream.read(1)
        shapes.append(BlobShape(blob.size, header, last == b"\n"))
    laid = [(p.blob, p.start, p.end) for p in segments(shapes)]
    return blobs, laid, [b.lineage() for b in found]


def _group(cuts: list[Cut], parts: int | None, max_part_bytes: int | None) -> list[list[Cut]]:
    """Consecutive cuts grouped into parts of about equal bytes (never splitting a cut)."""
    total = sum(c.end - c.start for c in cuts)
    target = total / parts if parts else float(max_part_bytes or total)
    if max_part_bytes:
        target = min(target, float(max_part_bytes))
    groups: list[list[Cut]] = [[]]
    size = 0
    for cut in cuts:
        if (
            groups[-1]
            and size + (cut.end - cut.start) > target * 1.0001
            and (parts is None or len(groups) < parts)
        ):
            groups.append([])
            size = 0
        groups[-1].append(cut)
        size += cut.end - cut.start
    return groups


def plan(storage: Storage, spec: PipelineSpec, settings: Settings | None = None) -> dict[str, Any]:
    """Decide how the source is ingested: its version and parts, or why one activity does it."""
    config = spec.ingest
    if config is None:
        return _single("the spec asks for no fan-out")
    settings = settings or load_settings()
    source = sources.confine(spec.source, settings)
    if source.resolved_format() != "csv":
        return _single("only CSV sources are cut into parts; Parquet is ingested by one activity")
    unique = [n for n, rule in spec.expectations.columns.items() if rule.unique]
    if unique:
        return _single(f"unique expectations {unique} need every earlier row: one activity checks them")
    blobs: list[PlanBlob] = []
    laid: list[tuple[int, int, int]] = []
    lineage: list[dict[str, Any]] = []
    if source.kind == "blob":
        blobs, laid, lineage = _layout_blobs(storage, source, settings, "csv")
    with open_source(storage, source, blobs, laid) as stream:
        layout = layout_csv(stream, chunk_bytes=datasets.CHUNK_BYTES)
    if layout.size < config.min_source_bytes:
        return _single(f"{layout.size} bytes, under ingest.min_source_bytes {config.min_source_bytes}")
    header = layout.header
    if header is None or header.problem is not None or not layout.cuts:
        return _single("no rows to cut (empty source, bad header or header only)")
    if len(header.columns) > min(MAX_COLUMNS, spec.expectations.max_columns):
        return _single("wider than max_columns: the single path reports it")
    groups = _group(layout.cuts, config.parts, config.max_part_bytes)
    if len(groups) < 2:
        return _single("the source fits in one part")
    baseline = datasets.load_baseline(storage, spec.name)
    parts = [
        DatasetPart(
            index=i,
            start=group[0].start,
            end=group[-1].end,
            cuts=[PartCut(start=c.start, end=c.end, kind=c.kind, expected=c.expected) for c in group],
        )
        for i, group in enumerate(groups)
    ]
    return DatasetPlan(
        fan_out=True,
        version=layout.sha256,
        size=layout.size,
        location=spec.source.location,
        blobs=blobs,
        segments=laid,
        source_blobs=lineage,
        columns=header.columns,
        overrides=dict(ingest_overrides(spec, baseline)),
        parts=parts,
        folder=f"{spec.name}/{layout.sha256}/{uuid.uuid4().hex[:12]}",
    ).to_payload()


def _cuts(part: DatasetPart) -> list[Cut]:
    return [Cut(c.start, c.end, c.kind, c.expected) for c in part.cuts]


def survey_part(
    storage: Storage, spec: PipelineSpec, plan: DatasetPlan, index: int, settings: Settings | None = None
) -> dict[str, Any]:
    """Count one part's records and what its text columns parse as (as the single survey counts them)."""
    settings = settings or load_settings()
    source = sources.confine(spec.source, settings)
    text = [c for c in plan.columns if c not in plan.overrides]
    evidence = TypeEvidence()
    records = 0
    with open_source(storage, source, plan.blobs, plan.segments) as stream:
        for cut in _cuts(plan.parts[index]):
            chunk = read_cut(stream, cut, plan.columns, 1, plan.size)
            if text:
                cleaned = chunk.frame.select(clean_text(c, strip=not chunk.plain) for c in text)
                evidence.add(cleaned, text)
            records += chunk.frame.height + len(chunk.bad)
    parsed = {c: {str(k): int(n) for k, n in counts.items()} for c, counts in evidence.parsed.items()}
    return PartSurvey(index=index, records=records, non_null=evidence.non_null, parsed=parsed).to_payload()


def validator(spec: PipelineSpec, plan: DatasetPlan, typing: PartTyping, storage: Storage) -> StreamValidator:
    """The validator every part (and the merge) builds: the same schema, rules, baseline and counts."""
    dtypes = cast(dict[str, ColumnType], typing.dtypes)
    schema = {ROW: pl.Int64(), **{c: POLARS_TYPES[dtypes[c]] for c in plan.columns}}
    return StreamValidator(
        schema,
        target=spec.target,
        expectations=spec.expectations,
        reject_threshold=spec.reject_threshold,
        rows_read=typing.rows_read,
        baseline=datasets.load_baseline(storage, spec.name),
        dataset_reasons=[] if typing.rows_read else ["no data rows (header only)"],
        dataset_version=plan.version,
        declared=spec.schema_overrides,
    )


def baseline_key(checker: StreamValidator) -> str | None:
    """Which baseline a validator checked against (every part and the merge must use the same)."""
    base = checker.baseline
    return None if base is None else f"{base.dataset_version}/{base.rows}/{len(base.columns)}"


def process_part(
    storage: Storage,
    spec: PipelineSpec,
    plan: DatasetPlan,
    typing: PartTyping,
    index: int,
    settings: Settings | None = None,
) -> dict[str, Any]:
    """Type and validate one part, writing its typed rows, issues, quarantine lines and split rows."""
    settings = settings or load_settings()
    source = sources.confine(spec.source, settings)
    dtypes = cast(dict[str, ColumnType], typing.dtypes)
    folder = f"{plan.folder}/parts/{index:04d}-{uuid.uuid4().hex[:8]}"
    schema = {ROW: pl.Int64(), **{c: POLARS_TYPES[dtypes[c]] for c in plan.columns}}
    checker = validator(spec, plan, typing, storage)
    blobs = storage.blobs
    rows = ParquetSink(blobs.open_write("datasets", f"{folder}/ingested.parquet"), schema)
    issues = ParquetSink(blobs.open_write("datasets", f"{folder}/issues.parquet"), ISSUE_SCHEMA)
    quarantine = blobs.open_write("quarantine", f"{folder}.csv", content_type="text/csv")
    splits = {
        name: ParquetSink(
            blobs.open_write("datasets", f"{folder}/{name}.parquet"), buffer_bytes=datasets.SPLIT_GROUP_BYTES
        )
        for name in SPLITS
    }
    sinks = [rows, issues, *splits.values()]
    row = typing.first_rows[index]
    records = 0
    try:
        with open_source(storage, source, plan.blobs, plan.segments) as stream:
            for cut in _cuts(plan.parts[index]):
                chunk = read_cut(stream, cut, plan.columns, row, plan.size)
                cleaned = chunk.frame.with_columns(clean_text(c, strip=not chunk.plain) for c in plan.columns)
                typed, bad_values = cast_chunk(cleaned, dtypes, plan.columns)
                found = pl.concat([bad_values, bad_issues(chunk)]).sort("row", "column", nulls_last=True)
                rows.write(typed)
                issues.write(found)
                accepted, failed = checker.add(typed, found)
                if failed.height:
                    quarantine.write(failed.write_csv(include_header=False).encode("utf-8"))
                for name, part in split_frame(accepted, spec.split).items():
                    splits[name].write(part.drop(ROW))
                n = chunk.frame.height + len(chunk.bad)
                row += n
                records += n
    except BaseException:
        quarantine.abort()
        for sink in sinks:
            sink.abort()
        raise
    for sink in sinks:
        sink.close()
    quarantine.close()
    # The survey counted this part's records; a different count means different bytes were read.
    if (
        index + 1 < len(typing.first_rows)
        and typing.first_rows[index] + records != typing.first_rows[index + 1]
    ):
        raise ValidationError(
            f"read {records} records, the part's survey counted "
            f"{typing.first_rows[index + 1] - typing.first_rows[index]}",
            field="source",
        )
    state = {
        **validator_state(checker),
        "records": records,
        "ingested": f"{folder}/ingested.parquet",
        "issues": f"{folder}/issues.parquet",
        "quarantine": f"{folder}.csv",
        "splits": {name: f"{folder}/{name}.parquet" for name in SPLITS},
        "split_rows": {name: sink.rows for name, sink in splits.items()},
        "baseline": baseline_key(checker),
        # The merge reads each blob at the ETag its commit got (no second download to verify it).
        "etags": {
            ref.name: ref.etag
            for ref in [quarantine.ref, *(sink.target.ref for sink in sinks)]  # type: ignore[attr-defined]
            if ref is not None and ref.etag
        },
    }
    state_blob = f"{folder}/state.json"
    blobs.put_bytes("datasets", state_blob, json.dumps(state).encode(), content_type="application/json")
    return PartOutput(
        index=index,
        records=records,
        rows_accepted=checker.accepted,
        rows_quarantined=checker.quarantined,
        state_blob=state_blob,
    ).to_payload()
