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


class SchemaAccumulator:
    """Infers a baseline from typed rows added batch by batch; the result equals ``infer_schema`` of all.

    Memory is bounded by the columns, not the rows: null counts, finite min/max, and for text
    columns the distinct values until they pass ``max_categories`` (a ``category`` column keeps
    them all: its set is the baseline).
    """

    def __init__(
        self,
        schema: Mapping[str, pl.DataType],
        *,
        dtypes: Mapping[str, ColumnType] | None = None,
        max_categories: int = MAX_CATEGORIES,
    ) -> None:
        self.names = [c for c in schema if c != ROW]
        self.schema = dict(schema)
        self.kinds = {c: (dtypes or {}).get(c) or type_of(schema[c]) for c in self.names}
        self.max_categories = max_categories
        self.rows = 0
        self.nulls = dict.fromkeys(self.names, 0)
        self.low: dict[str, float | None] = dict.fromkeys(self.names)
        self.high: dict[str, float | None] = dict.fromkeys(self.names)
        #: Distinct values per text column; None once a non-category column has too many to list.
        self.distinct: dict[str, set[str] | None] = {
            c: set() for c in self.names if self.kinds[c] in ("string", "category")
        }

    def add(self, frame: pl.DataFrame) -> None:
        """Count one batch of rows (``ROW`` ignored)."""
        self.rows += frame.height
        if not self.names or frame.height == 0:
            return
        exprs: list[pl.Expr] = []
        for c in self.names:
            exprs.append(pl.col(c).null_count().alias(f"{c}\x00nulls"))
            if self.schema[c].is_numeric():
                finite = pl.col(c).filter(pl.col(c).cast(pl.Float64).is_finite())
                exprs.append(finite.min().cast(pl.Float64).alias(f"{c}\x00min"))
                exprs.append(finite.max().cast(pl.Float64).alias(f"{c}\x00max"))
        stats = frame.select(exprs).row(0, named=True)
        for c in self.names:
            self.nulls[c] += int(stats[f"{c}\x00nulls"])
            low, high = _finite(stats.get(f"{c}\x00min")), _finite(stats.get(f"{c}\x00max"))
            if low is not None:
                known = self.low[c]
                self.low[c] = low if known is None else min(known, low)
            if high is not None:
                known = self.high[c]
                self.high[c] = high if known is None else max(known, high)
        for c, seen in self.distinct.items():
            if seen is None:
                continue
            seen.update(str(v) for v in frame[c].drop_nulls().unique().to_list())
            if self.kinds[c] != "category" and len(seen) > self.max_categories:
                self.distinct[c] = None  # open: no category set, and nothing more to keep

    def finish(self, *, target: str | None = None, dataset_version: str = "") -> BaselineSchema:
        """The baseline of every row added."""
        columns: dict[str, ColumnSchema] = {}
        for c in self.names:
            seen = self.distinct.get(c)
            columns[c] = ColumnSchema(
                type=self.kinds[c],
                nullable=self.nulls[c] > 0,
                min=self.low[c],
                max=self.high[c],
                categories=sorted(seen) if seen is not None and c in self.distinct else None,
            )
        return BaselineSchema(columns=columns, target=target, dataset_version=dataset_version, rows=self.rows)


def infer_schema(
    frame: pl.DataFrame,
    *,
    dtypes: Mapping[str, ColumnType] | None = None,
    target: str | None = None,
    dataset_version: str = "",
    max_categories: int = MAX_CATEGORIES,
) -> BaselineSchema:
    """Infer a baseline from a typed frame; ``dtypes`` keeps declared names such as ``category``."""
    acc = SchemaAccumulator(frame.schema, dtypes=dtypes, max_categories=max_categories)
    acc.add(frame)
    return acc.finish(target=target, dataset_version=dataset_version)
