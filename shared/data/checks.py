"""Row-level checks: each yields failures as rows of (row, column, reason, value).

Why values fail is kept apart from what the row says, so one row can fail several checks and the
quarantine keeps one line per (row, reason). Null-based checks skip values that are null only
because they failed to parse, so a bad number is reported once, as a type failure.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

import polars as pl

from shared.data.ingest import ISSUE_SCHEMA
from shared.data.schema import BaselineSchema, ColumnSchema
from shared.data.types import ROW, clean_text, parse_text, type_of
from shared.pipeline.sections import ColumnExpectation, ColumnType

Check = tuple[pl.Expr, str, str]  # (failure mask, column, reason)


def failures(frame: pl.DataFrame, checks: Iterable[Check]) -> pl.DataFrame:
    """Evaluate all checks in one pass and collect the failing rows as issue rows."""
    checks = list(checks)
    if not checks or frame.height == 0:
        return pl.DataFrame(schema=ISSUE_SCHEMA)
    masks = frame.select(mask.fill_null(False).alias(f"m{i}") for i, (mask, _, _) in enumerate(checks))
    rows = frame.get_column(ROW)
    parts = []
    for i, (_, column, reason) in enumerate(checks):
        mask = masks.get_column(f"m{i}")
        if mask.any():
            # Filter the two columns needed, not the frame: a wide frame filtered once per failing
            # check made validation quadratic in its columns.
            failed = pl.DataFrame([rows, frame.get_column(column)]).filter(mask)
            parts.append(
                failed.select(
                    pl.col(ROW).alias("row"),
                    pl.lit(column).alias("column"),
                    pl.lit(reason).alias("reason"),
                    pl.col(column).cast(pl.String).str.slice(0, 200).alias("value"),
                )
            )
    return pl.concat(parts) if parts else pl.DataFrame(schema=ISSUE_SCHEMA)


def _same(a: ColumnType, b: ColumnType) -> bool:
    text = ("string", "category")
    return a == b or (a in text and b in text)


def conform(frame: pl.DataFrame, baseline: BaselineSchema) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Cast columns to their baseline types; values that cannot be cast become nulls and failures."""
    as_text: list[str] = []
    casts: list[pl.Expr] = []
    checks: list[Check] = []
    schema = frame.schema  # built once: each frame.schema call costs a pass over all columns
    for name, col in baseline.columns.items():
        if name not in schema:
            continue
        have, want = type_of(schema[name]), col.type
        if _same(have, want):
            continue
        if want in ("string", "category"):
            casts.append(pl.col(name).cast(pl.String))
            continue
        if have in ("int", "float") and want in ("int", "float"):
            value = pl.col(name).cast(pl.Float64)
            if want == "int":
                checks.append(
                    (value.is_finite().not_() | (value != value.round()), name, "type: not a valid int")
                )
            casts.append(
                pl.col(name).cast(pl.Float64).cast(pl.Int64 if want == "int" else pl.Float64, strict=False)
            )
            continue
        as_text.append(name)
        parsed = parse_text(name, want)
        checks.append((pl.col(name).is_not_null() & parsed.is_null(), name, f"type: not a valid {want}"))
        casts.append(parsed)
    text_frame = frame.with_columns(pl.col(name).cast(pl.String) for name in as_text)
    text_frame = text_frame.with_columns(clean_text(name) for name in as_text)
    failed = failures(text_frame, checks)
    return text_frame.with_columns(casts), failed


def baseline_checks(frame: pl.DataFrame, baseline: BaselineSchema, tolerance: float) -> list[Check]:
    """Checks against the baseline: values out of its range (widened by ``tolerance``).

    Nulls and categories the baseline never saw are not failures: the model imputes nulls and
    scores unseen categories inside its ONNX graph, and new categories in fresh training data are
    data, not defects. A column that must not be null says so with ``expectations: not_null``.
    """
    checks: list[Check] = []
    present = set(frame.columns)
    for name, col in baseline.columns.items():
        if name not in present or name == baseline.target:
            continue
        checks += _column_baseline(name, col, tolerance)
    return checks


def _column_baseline(name: str, col: ColumnSchema, tolerance: float) -> list[Check]:
    checks: list[Check] = []
    c = pl.col(name)
    if col.min is not None and col.max is not None and col.type in ("int", "float"):
        margin = tolerance * (col.max - col.min)
        low, high = col.min - margin, col.max + margin
        # Only finite values are ranged: NaN and +-inf are the non-finite rule's to judge.
        outside = c.cast(pl.Float64).is_finite() & ((c < low) | (c > high))
        checks.append((outside, name, f"range: outside baseline [{low:g}, {high:g}]"))
    return checks


def _allowed_mask(c: pl.Expr, dtype: pl.DataType, allowed: list[str | int | float | bool]) -> pl.Expr:
    if dtype == pl.Boolean:
        flags = [v for v in allowed if isinstance(v, bool)]
        flags += [
            str(v).lower() == "true" for v in allowed if isinstance(v, str) and v.lower() in ("true", "false")
        ]
        return c.is_not_null() & ~c.is_in(flags)
    if dtype.is_numeric():
        numbers: list[float] = []
        for v in allowed:
            try:
                numbers.append(float(v))
            except ValueError:
                continue
        return c.is_not_null() & ~c.cast(pl.Float64).is_in(numbers)
    return c.is_not_null() & ~c.cast(pl.String).is_in([str(v) for v in allowed])


def _regex_mask(frame: pl.DataFrame, name: str, pattern: str) -> pl.Expr:
    text = pl.col(name).cast(pl.String)
    anchored = f"^(?:{pattern})$"
    try:
        frame.head(1).select(text.str.contains(anchored))
    except pl.exceptions.PolarsError:
        # Python-only syntax (look-arounds, ...): fall back to the re module, row by row.
        compiled = re.compile(pattern)
        return text.is_not_null() & ~text.map_elements(
            lambda v: compiled.fullmatch(v) is not None, return_dtype=pl.Boolean
        )
    return text.is_not_null() & ~text.str.contains(anchored)


def expectation_checks(
    frame: pl.DataFrame, name: str, rule: ColumnExpectation, dtype: pl.DataType | None = None
) -> list[Check]:
    """Checks for one column's declared expectations (``dtype``: the column's, when known).

    A min or max rule refuses NaN (it lies in no range) and +-inf beyond its bound.
    """
    c = pl.col(name)
    dtype = frame.schema[name] if dtype is None else dtype
    checks: list[Check] = []
    nan = c.is_nan() if dtype.is_float() else pl.lit(False)
    if rule.not_null:
        checks.append((c.is_null(), name, "expectation: not_null"))
    if rule.min is not None and dtype.is_numeric():
        checks.append(((c < rule.min) | nan, name, f"expectation: min {rule.min:g}"))
    if rule.max is not None and dtype.is_numeric():
        checks.append(((c > rule.max) | nan, name, f"expectation: max {rule.max:g}"))
    if rule.allowed is not None:
        checks.append((_allowed_mask(c, dtype, rule.allowed), name, "expectation: allowed values"))
    if rule.regex is not None:
        checks.append((_regex_mask(frame, name, rule.regex), name, "expectation: regex"))
    if rule.unique:
        checks.append((c.is_not_null() & ~c.is_first_distinct(), name, "expectation: unique (repeat)"))
    return checks


NON_FINITE = "non-finite number"


def non_finite_checks(schema: Mapping[str, pl.DataType]) -> list[Check]:
    """One check per float column: NaN, inf and -inf (text such as 'nan', 'inf', '1e999') fail it."""
    floats = [name for name, dtype in schema.items() if dtype.is_float()]
    return [(~pl.col(name).is_finite(), name, NON_FINITE) for name in floats]
