"""Streaming ingest: a source read twice, never held whole; typed chunks go to the caller's sink.

``survey`` reads the source once to hash it (the dataset version), read its header and count
what each text column parses as, keeping nothing but counts; the caller can stop there when the
version was ingested before with the same types. ``typed_parts`` reads it again and yields each
chunk typed as decided, with its row problems, exactly as ``shared.data.ingest.ingest`` types
the whole file (same chunking, same rules), so memory is bounded by one chunk, not the file.
The opener must give the same bytes both times (a blob reader pins its ETag).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import BinaryIO

import polars as pl
import pyarrow.parquet as pq

from shared.data.csv_reader import read_csv_chunks
from shared.data.inference import TypeEvidence
from shared.data.ingest import (
    DEFAULT_CHUNK_BYTES,
    DEFAULT_CHUNK_ROWS,
    DEFAULT_TYPE_MAJORITY,
    MAX_COLUMNS,
    _bad_issues,
    _cast_chunk,
    _decide,
    _drain,
    _Hasher,
    _too_wide,
)
from shared.data.parquet_reader import read_parquet_batches, text_columns
from shared.data.types import ROW, clean_text, type_of
from shared.pipeline.sections import ColumnType, DataFormat

Opener = Callable[[], AbstractContextManager[BinaryIO]]


@dataclass(frozen=True)
class Survey:
    """What the first read found: version, size, columns and decided types, or dataset-level reasons."""

    version: str
    size: int
    format: DataFormat
    columns: list[str]
    dtypes: dict[str, ColumnType]
    reasons: list[str]
    #: Parquet columns read as text (String ones, and typed ones retyped by an override).
    text: tuple[str, ...] = ()


@dataclass(frozen=True)
class Part:
    """One typed chunk (``ROW`` first), its row problems, and the records it covers."""

    frame: pl.DataFrame
    issues: pl.DataFrame
    records: int


def survey(
    open_source: Opener,
    *,
    format: DataFormat,
    overrides: Mapping[str, ColumnType] | None = None,
    chunk_bytes: int = DEFAULT_CHUNK_BYTES,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    type_majority: float = DEFAULT_TYPE_MAJORITY,
    max_columns: int = MAX_COLUMNS,
) -> Survey:
    """Hash the source, read its header or schema, and decide its column types (first read)."""
    forced = dict(overrides or {})
    if format == "csv":
        return _survey_csv(open_source, forced, chunk_bytes, type_majority, max_columns)
    return _survey_parquet(open_source, forced, chunk_rows, type_majority, max_columns)


def _survey_csv(
    open_source: Opener, overrides: dict[str, ColumnType], chunk_bytes: int, majority: float, max_columns: int
) -> Survey:
    hasher = _Hasher()
    evidence = TypeEvidence()
    with open_source() as stream:
        header, chunks = read_csv_chunks(stream, chunk_bytes=chunk_bytes, on_block=hasher)
        wide = None if header is None else _too_wide(len(header.columns), max_columns)
        columns = [] if header is None else header.columns
        text = [c for c in columns if c not in overrides]
        problem = None
        if header is None or header.problem is not None or wide is not None:
            problem = "empty file (0 bytes)" if header is None else str(wide or header.problem)
        if problem is not None or not text:  # nothing to parse now: only hash the rest
            for _ in _drain(stream, chunk_bytes, hasher):
                pass
        else:
            for chunk in chunks:
                cleaned = chunk.frame.select(clean_text(c, strip=not chunk.plain) for c in text)
                evidence.add(cleaned, text)
    version, size = hasher.sha.hexdigest(), hasher.size
    if problem is not None:
        return Survey(version, size, "csv", [], {}, [problem])
    return Survey(version, size, "csv", columns, _decide(columns, columns, evidence, overrides, majority), [])


def _survey_parquet(
    open_source: Opener, overrides: dict[str, ColumnType], chunk_rows: int, majority: float, max_columns: int
) -> Survey:
    hasher = _Hasher()
    with open_source() as stream:
        for _ in _drain(stream, DEFAULT_CHUNK_BYTES, hasher):
            pass
    version, size = hasher.sha.hexdigest(), hasher.size
    if size == 0:
        return Survey(version, size, "parquet", [], {}, ["empty file (0 bytes)"])
    with open_source() as stream:
        try:
            empty = pl.DataFrame(pq.ParquetFile(stream).schema_arrow.empty_table())
        except Exception as exc:  # pyarrow raises several types for a corrupt file
            return Survey(version, size, "parquet", [], {}, [f"not a readable parquet file: {exc}"])
        schema = {name.strip(): dtype for name, dtype in empty.schema.items()}
        if (wide := _too_wide(len(schema), max_columns)) is not None:
            return Survey(version, size, "parquet", [], {}, [wide])
        if ROW in schema:
            return Survey(version, size, "parquet", [], {}, [f"column name {ROW!r} is reserved"])
        text = text_columns(schema, overrides)
        evidence = TypeEvidence()
        guessed = [c for c in text if c not in overrides]
        if guessed:
            for df in read_parquet_batches(stream, chunk_rows, text):
                evidence.add(df, guessed)
    columns = list(schema)
    dtypes = {c: type_of(dtype) for c, dtype in schema.items()}
    dtypes.update(_decide(columns, text, evidence, overrides, majority))
    return Survey(version, size, "parquet", columns, dtypes, [], tuple(text))


def typed_parts(
    open_source: Opener,
    found: Survey,
    *,
    chunk_bytes: int = DEFAULT_CHUNK_BYTES,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
) -> Iterator[Part]:
    """The source read again, chunk by chunk, typed as the survey decided (nothing when it has reasons)."""
    if found.reasons:
        return
    with open_source() as stream:
        if found.format == "csv":
            _, chunks = read_csv_chunks(stream, chunk_bytes=chunk_bytes, on_block=lambda _: None)
            for chunk in chunks:
                cleaned = chunk.frame.with_columns(
                    clean_text(c, strip=not chunk.plain) for c in found.columns
                )
                typed, bad_values = _cast_chunk(cleaned, found.dtypes, found.columns)
                issues = pl.concat([bad_values, _bad_issues(chunk)])
                records = chunk.frame.height + len(chunk.bad)
                yield Part(typed, issues.sort("row", "column", nulls_last=True), records)
            return
        for df in read_parquet_batches(stream, chunk_rows, list(found.text)):
            typed, bad_values = _cast_chunk(df, found.dtypes, list(found.text))
            yield Part(typed, bad_values.sort("row", "column", nulls_last=True), df.height)
