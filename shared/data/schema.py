"""Baseline schema: what a dataset looked like on its first accepted run, as JSON.

Later runs are checked against it: a column's type, whether it may be null, the numeric range,
and for low-cardinality text columns the set of known categories.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import polars as pl
from pydantic import BaseModel, ConfigDict, Field

from shared.data.types import ROW, type_of
from shared.pipeline.sections import ColumnType

#: Text columns with at most this many distinct values get a category set.
MAX_CATEGORIES = 50


class ColumnSchema(BaseModel):
    """The baseline of one column."""

    model_config = ConfigDict(frozen=True)

    type: ColumnType = Field(description="Column type name (int, float, bool, string, category, datetime).")
    nullable: bool = Field(description="Whether the baseline held nulls in this column.")
    min: float | None = Field(default=None, description="Smallest value seen (numeric columns).")
    max: float | None = Field(default=None, description="Largest value seen (numeric columns).")
    categories: list[str] | None = Field(
        default=None, description="Known values of a low-cardinality text column, sorted; None when open."
    )


class BaselineSchema(BaseModel):
    """The inferred schema of a dataset, stored after its first run and checked on later ones."""

    model_config = ConfigDict(frozen=True)

    columns: dict[str, ColumnSchema] = Field(description="Per-column baselines in file order.")
    target: str | None = Field(default=None, description="Target column of the pipeline that inferred it.")
    dataset_version: str = Field(default="", description="Dataset version the baseline was inferred from.")
    rows: int = Field(default=0, description="Rows the baseline was inferred from.")

    def dtypes(self) -> dict[str, ColumnType]:
        """Column name -> type name, ready to pass to ingest as overrides."""
        return {name: col.type for name, col in self.columns.items()}

    def to_json(self) -> str:
        """Serialise to JSON text."""
        return self.model_dump_json(indent=2)

    @classmethod
    def from_json(cls, text: str | bytes) -> BaselineSchema:
        """Load from JSON text written by ``to_json``."""
        return cls.model_validate_json(text)


def _finite(value: object) -> float | None:
    if value is None:
        return None
    number = float(value)  # type: ignore[arg-type]
    return number if math.isfinite(number) else None


def infer_schema(
    frame: pl.DataFrame,
    *,
    dtypes: Mapping[str, ColumnType] | None = None,
    target: str | None = None,
    dataset_version: str = "",
    max_categories: int = MAX_CATEGORIES,
) -> BaselineSchema:
    """Infer a baseline from a typed frame; ``dtypes`` keeps declared names such as ``category``."""
    names = [c for c in frame.columns if c != ROW]
    schema = frame.schema  # once: each frame.schema call costs a pass over all columns
    exprs: list[pl.Expr] = []
    for c in names:
        exprs.append(pl.col(c).null_count().alias(f"{c}\x00nulls"))
        if schema[c].is_numeric():
            finite = pl.col(c).filter(pl.col(c).cast(pl.Float64).is_finite())
            exprs.append(finite.min().cast(pl.Float64).alias(f"{c}\x00min"))
            exprs.append(finite.max().cast(pl.Float64).alias(f"{c}\x00max"))
    stats = frame.select(exprs).row(0, named=True) if names else {}
    columns: dict[str, ColumnSchema] = {}
    for c in names:
        kind = (dtypes or {}).get(c) or type_of(schema[c])
        categories = None
        if kind in ("string", "category"):
            distinct = frame[c].drop_nulls().unique()
            if kind == "category" or distinct.len() <= max_categories:
                categories = sorted(str(v) for v in distinct.to_list())
        columns[c] = ColumnSchema(
            type=kind,
            nullable=stats[f"{c}\x00nulls"] > 0,
            min=_finite(stats.get(f"{c}\x00min")),
            max=_finite(stats.get(f"{c}\x00max")),
            categories=categories,
        )
    return BaselineSchema(columns=columns, target=target, dataset_version=dataset_version, rows=frame.height)
