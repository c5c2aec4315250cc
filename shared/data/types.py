"""Column types: the names a spec and a schema use, and how text is parsed into each.

Text becomes a typed value like this (after stripping whitespace; "" and ``NULL_TOKENS`` are null):
int (Int64), float (Float64, also ``nan``/``inf``), bool (true/false/yes/no, lower, Title or UPPER case),
datetime (ISO 8601 style, microseconds), string. ``category`` is stored as String: the category
set lives in the baseline schema, so parquet files stay plain and comparable across runs.
"""

from __future__ import annotations

import polars as pl

from shared.pipeline.sections import ColumnType

#: Name of the column holding each row's 1-based record number in its source file.
ROW = "__row__"

#: Cell texts read as null (besides the empty string).
NULL_TOKENS = ("NA", "N/A", "null", "NULL", "None")

# Spelled out in three cases rather than lower-casing every value: is_in is much faster.
_TRUE = tuple(v for w in ("true", "yes") for v in (w, w.title(), w.upper()))
_FALSE = tuple(v for w in ("false", "no") for v in (w, w.title(), w.upper()))

POLARS_TYPES: dict[ColumnType, pl.DataType] = {
    "int": pl.Int64(),
    "float": pl.Float64(),
    "bool": pl.Boolean(),
    "string": pl.String(),
    "category": pl.String(),
    "datetime": pl.Datetime("us"),
}


def type_of(dtype: pl.DataType) -> ColumnType:
    """The column type name of a polars dtype (after normalisation)."""
    if dtype.is_integer():
        return "int"
    if dtype.is_float() or dtype.is_decimal():
        return "float"
    if dtype == pl.Boolean:
        return "bool"
    if dtype.is_temporal():
        return "datetime"
    return "string"


def clean_text(column: str, *, strip: bool = True) -> pl.Expr:
    """Strip whitespace and turn empty strings and null tokens into nulls.

    ``strip=False`` skips the strip, for text known to hold no whitespace to strip. ``replace``
    uses the stripped value once; a when/then that tests it and then returns it strips twice.
    """
    text = pl.col(column).str.strip_chars() if strip else pl.col(column)
    return text.replace(["", *NULL_TOKENS], None).alias(column)


def parse_text(column: str, kind: ColumnType) -> pl.Expr:
    """Parse a cleaned String column into ``kind``; unparseable values become null."""
    col = pl.col(column)
    if kind == "int":
        return col.cast(pl.Int64, strict=False).alias(column)
    if kind == "float":
        return col.cast(pl.Float64, strict=False).alias(column)
    if kind == "bool":
        return (
            pl.when(col.is_in(_TRUE))
            .then(True)
            .when(col.is_in(_FALSE))
            .then(False)
            .otherwise(None)
            .cast(pl.Boolean)
            .alias(column)
        )
    if kind == "datetime":
        return col.str.to_datetime(time_unit="us", strict=False).alias(column)
    return col.alias(column)


def normalise_typed(column: str, dtype: pl.DataType) -> pl.Expr:
    """Bring an already typed (e.g. parquet) column to the canonical dtype of its type name."""
    kind = type_of(dtype)
    if kind == "string" and dtype != pl.String:
        return pl.col(column).cast(pl.String).alias(column)
    if kind == "datetime" and dtype != pl.Datetime("us"):
        return pl.col(column).cast(pl.Datetime("us")).alias(column)
    return pl.col(column).cast(POLARS_TYPES[kind]).alias(column)
