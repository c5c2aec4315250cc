"""Streaming ingest: a source read twice, never held whole; typed chunks go to the caller's sink.

``survey`` reads the source once to hash it (the dataset version), read its header and count
what each text column parses as, keeping nothing but counts; the caller can stop there when the
version was ingested before with the same types. ``typed_parts`` reads it again and yields each
chunk typed as decided, with its row problems, exactly as ``shared.data.ingest.ingest`` types
the whole file (same chunking, same rules), so memory is bounded by one chunk, not the file.
The opener must give the same bytes both times (a blob reader pins its ETag).

A source may come in several parts (the blobs a prefix or pattern selected), read as one dataset
in order: CSV parts are chained into one stream (``chain_csv``: the first part whole, each later
one without its header line), Parquet parts are read one after another with rows numbered on.
The version hashes the bytes read, in order. Callers check that the parts share one header or
schema first (``shared.steps.sources.check_alike``); a Parquet part that differs anyway is a
dataset-level reason here.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, ExitStack
from dataclasses import dataclass
from typing import Any, BinaryIO, cast

import polars as pl
import pyarrow.parquet as pq

from shared.data.csv_reader import read_csv_chunks
from shared.data.inference import TypeEvidence
from shared.data.ingest import (
    DEFAULT_CHUNK_BYTES,
    DEFAULT_CHUNK_ROWS,
    DEFAULT_TYPE_MAJORITY,
    MAX_COLUMNS,
    _drain,
    _Hasher,
    _too_wide,
    bad_issues,
    cast_chunk,
    decide_types,
)
from shared.data.parquet_reader import read_parquet_batches, text_columns
from shared.data.types import ROW, clean_text, type_of
from shared.pipeline.sections import ColumnType, DataFormat

Opener = Callable[[], AbstractContextManager[BinaryIO]]
#: One source, or its parts in order.
Openers = Opener | Sequence[Opener]
#: Read-ahead of each chained part (a ranged blob reader downloads one request per read).
_PART_BUFFER = 1024 * 1024


class _ChainedCsv(io.RawIOBase):
    """The parts' bytes as one CSV: later parts lose their header line; a part not ending in a
    newline gets one, so its last row does not run into the next part's first."""

    def __init__(self, openers: Sequence[Opener]) -> None:
        super().__init__()
        self._openers = list(openers)
        self._index = -1
        self._stack = ExitStack()
        self._current: BinaryIO | None = None
        self._last = b"\n"
        self._pending = b""

    def readable(self) -> bool:
        return True

    def _open_next(self) -> bool:
        self._stack.close()
        self._index += 1
        if self._index >= len(self._openers):
            return False
        raw = self._stack.enter_context(self._openers[self._index]())
        # Buffered so skipping the header line is a few reads, not one request per byte.
        part = cast(BinaryIO, io.BufferedReader(raw, _PART_BUFFER)) if isinstance(raw, io.RawIOBase) else raw
        if self._index > 0:
            part.readline()  # the header, checked alike before the read
        self._current = part
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        while True:
            if self._pending:
                n = min(len(view), len(self._pending))
                view[:n] = self._pending[:n]
                self._pending = self._pending[n:]
                return n
            if self._current is None and not self._open_next():
                return 0
            assert self._current is not None
            n = self._current.readinto(view)  # type: ignore[attr-defined]
            if n:
                self._last = bytes(view[n - 1 : n])
                return int(n)
            if self._last != b"\n" and self._index + 1 < len(self._openers):
                self._pending = b"\n"
            self._last, self._current = b"\n", None

    def close(self) -> None:
        self._stack.close()
        super().close()


def chain_csv(openers: Sequence[Opener]) -> Opener:
    """One opener reading CSV parts in order as a single CSV (see ``_ChainedCsv``)."""
    parts = list(openers)
    if len(parts) == 1:
        return parts[0]
    return lambda: cast(BinaryIO, _ChainedCsv(parts))


def _parts(open_source: Openers) -> list[Opener]:
    parts = [open_source] if callable(open_source) else list(open_source)
    if not parts:
        raise ValueError("a source needs at least one part")
    return parts


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
    open_source: Openers,
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
    parts = _parts(open_source)
    if format == "csv":
        return _survey_csv(chain_csv(parts), forced, chunk_bytes, type_majority, max_columns)
    return _survey_parquet(parts, forced, chunk_rows, type_majority, max_columns)


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
    return Survey(
        version, size, "csv", columns, decide_types(columns, columns, evidence, overrides, majority), []
    )


def _parquet_schema(stream: BinaryIO) -> dict[str, pl.DataType]:
    empty = pl.DataFrame(pq.ParquetFile(stream).schema_arrow.empty_table())
    return {name.strip(): dtype for name, dtype in empty.schema.items()}


def _survey_parquet(
    parts: list[Opener], overrides: dict[str, ColumnType], chunk_rows: int, majority: float, max_columns: int
) -> Survey:
    hasher = _Hasher()
    for open_part in parts:
        with open_part() as stream:
            for _ in _drain(stream, DEFAULT_CHUNK_BYTES, hasher):
                pass
    version, size = hasher.sha.hexdigest(), hasher.size
    if size == 0:
        return Survey(version, size, "parquet", [], {}, ["empty file (0 bytes)"])
    schema: dict[str, pl.DataType] = {}
    for number, open_part in enumerate(parts, start=1):
        with open_part() as stream:
            try:
                found = _parquet_schema(stream)
            except Exception as exc:  # pyarrow raises several types for a corrupt file
                which = "" if len(parts) == 1 else f"part {number} is "
                return Survey(
                    version, size, "parquet", [], {}, [f"{which}not a readable parquet file: {exc}"]
                )
        if number == 1:
            schema = found
        elif found != schema:
            return Survey(
                version, size, "parquet", [], {}, [f"part {number} has a different schema from part 1"]
            )
    if (wide := _too_wide(len(schema), max_columns)) is not None:
        return Survey(version, size, "parquet", [], {}, [wide])
    if ROW in schema:
        return Survey(version, size, "parquet", [], {}, [f"column name {ROW!r} is reserved"])
    text = text_columns(schema, overrides)
    evidence = TypeEvidence()
    guessed = [c for c in text if c not in overrides]
    if guessed:
        for open_part in parts:
            with open_part() as stream:
                for df in read_parquet_batches(stream, chunk_rows, text):
                    evidence.add(df, guessed)
    columns = list(schema)
    dtypes = {c: type_of(dtype) for c, dtype in schema.items()}
    dtypes.update(decide_types(columns, text, evidence, overrides, majority))
    return Survey(version, size, "parquet", columns, dtypes, [], tuple(text))


def typed_parts(
    open_source: Openers,
    found: Survey,
    *,
    chunk_bytes: int = DEFAULT_CHUNK_BYTES,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
) -> Iterator[Part]:
    """The source read again, chunk by chunk, typed as the survey decided (nothing when it has reasons)."""
    if found.reasons:
        return
    parts = _parts(open_source)
    if found.format == "csv":
        with chain_csv(parts)() as stream:
            _, chunks = read_csv_chunks(stream, chunk_bytes=chunk_bytes, on_block=lambda _: None)
            for chunk in chunks:
                cleaned = chunk.frame.with_columns(
                    clean_text(c, strip=not chunk.plain) for c in found.columns
                )
                typed, bad_values = cast_chunk(cleaned, found.dtypes, found.columns)
                issues = pl.concat([bad_values, bad_issues(chunk)])
                records = chunk.frame.height + len(chunk.bad)
                yield Part(typed, issues.sort("row", "column", nulls_last=True), records)
        return
    before = 0  # rows of the earlier parts: row numbers run on across parts
    for open_part in parts:
        rows = 0
        with open_part() as stream:
            for df in read_parquet_batches(stream, chunk_rows, list(found.text)):
                rows += df.height
                if before:
                    df = df.with_columns(pl.col(ROW) + before)
                typed, bad_values = cast_chunk(df, found.dtypes, list(found.text))
                yield Part(typed, bad_values.sort("row", "column", nulls_last=True), df.height)
        before += rows
