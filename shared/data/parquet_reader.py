"""Chunked Parquet reading: record batches as frames with clean names, normalised types and ``ROW``."""

from __future__ import annotations

import io
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import BinaryIO

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from shared.data.types import ROW, clean_text, normalise_typed, type_of
from shared.pipeline.sections import ColumnType


def read_schema(source: bytes | Path) -> dict[str, pl.DataType]:
    """Column names (whitespace stripped) and polars dtypes of a parquet source; raises if unreadable."""
    with io.BytesIO(source) if isinstance(source, bytes) else open(source, "rb") as stream:
        empty = pl.DataFrame(pq.ParquetFile(stream).schema_arrow.empty_table())
    return {name.strip(): dtype for name, dtype in empty.schema.items()}


def text_columns(schema: Mapping[str, pl.DataType], overrides: Mapping[str, ColumnType]) -> list[str]:
    """Columns read as text: String ones, and typed ones whose override names another type."""
    out = []
    for name, dtype in schema.items():
        kind = overrides.get(name)
        retyped = kind is not None and kind != type_of(dtype)
        if dtype == pl.String or retyped:
            out.append(name)
    return out


def _as_text(name: str, dtype: pl.DataType) -> pl.Expr:
    """A typed column as text the text parsers accept (integral floats without their ``.0``)."""
    col = pl.col(name)
    if dtype.is_float():
        integral = col.is_finite() & (col == col.round())
        return (
            pl.when(integral)
            .then(col.cast(pl.Int64, strict=False).cast(pl.String))
            .otherwise(col.cast(pl.String))
        ).alias(name)
    return col.cast(pl.String).alias(name)


def _row_group_batches(file: pq.ParquetFile, chunk_rows: int) -> Iterator[pa.RecordBatch]:
    """Batches of at most ``chunk_rows``, one row group read at a time (memory: one row group).

    pyarrow's ``iter_batches`` read ahead and held ~2.4x a whole file's size at once.
    """
    for i in range(file.num_row_groups):
        yield from file.read_row_group(i).to_batches(max_chunksize=chunk_rows)


def read_parquet_batches(
    source: bytes | Path | BinaryIO, chunk_rows: int, text: list[str]
) -> Iterator[pl.DataFrame]:
    """Batches with stripped names; ``text`` columns cleaned as text, the rest normalised; ``ROW`` first.

    ``source`` may be an open seekable stream (a blob range reader): only the row groups read
    are fetched.
    """
    if isinstance(source, bytes | Path):
        with io.BytesIO(source) if isinstance(source, bytes) else open(source, "rb") as stream:
            yield from read_parquet_batches(stream, chunk_rows, text)
        return
    next_row = 1
    for batch in _row_group_batches(pq.ParquetFile(source), chunk_rows):
        df = pl.DataFrame(batch)
        df = df.rename({c: c.strip() for c in df.columns})
        df = df.with_columns(
            _as_text(c, dtype) if c in text and dtype != pl.String else normalise_typed(c, dtype)
            for c, dtype in df.schema.items()
            if dtype != pl.String
        ).with_columns(clean_text(c) for c in text)
        rows = pl.int_range(next_row, next_row + df.height, dtype=pl.Int64, eager=True).alias(ROW)
        next_row += df.height
        yield df.with_columns(rows).select(ROW, *df.columns)
