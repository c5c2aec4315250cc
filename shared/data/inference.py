"""Type inference over chunks: count what each text column parses as, then decide once for all chunks."""

from __future__ import annotations

from dataclasses import dataclass, field

import polars as pl

from shared.data.types import parse_text
from shared.pipeline.sections import ColumnType

_SAMPLE = 1000
_KINDS: tuple[ColumnType, ...] = ("int", "float", "bool", "datetime")


@dataclass
class TypeEvidence:
    """Per column: non-null values seen and how many of them parse as each candidate type."""

    non_null: dict[str, int] = field(default_factory=dict)
    parsed: dict[str, dict[ColumnType, int]] = field(default_factory=dict)

    def add(self, frame: pl.DataFrame, columns: list[str]) -> None:
        """Count one chunk of cleaned String columns."""
        if columns:
            self.add_parsed(frame, columns, parse_numbers(frame, columns))

    def add_parsed(self, frame: pl.DataFrame, columns: list[str], parsed: pl.DataFrame) -> None:
        """Count one chunk of cleaned String columns, given ``parse_numbers`` of it.

        A caller that keeps ``parsed`` (ingest keeps the typed columns) parses each value once;
        null counts are metadata, so counting is free.
        """
        height = frame.height
        flags: list[str] = []
        for c in columns:
            n = height - frame[c].null_count()
            floats = height - parsed[f"{c}\x00float"].null_count()
            self.non_null[c] = self.non_null.get(c, 0) + n
            seen = self.parsed.setdefault(c, dict.fromkeys(_KINDS, 0))
            seen["float"] += floats
            seen["int"] += parsed_count(parsed, c, "int")
            # A value that parses as a float is never a flag: where every value is a float the
            # flag count is 0 without parsing.
            if floats < n:
                flags.append(c)
        if not flags:
            return
        counts = frame.select(parse_text(c, "bool").is_not_null().sum() for c in flags).row(0, named=True)
        for c in flags:
            seen = self.parsed[c]
            seen["bool"] += int(counts[c])
            n = height - frame[c].null_count()
            floats = height - parsed[f"{c}\x00float"].null_count()
            # Numbers and flags are never dates; skip the slow datetime parse for such columns.
            if max(floats, int(counts[c])) * 2 < n:
                seen["datetime"] += _datetime_count(frame, c)

    def decide(self, column: str, majority: float) -> ColumnType:
        """The type for ``column``: the narrowest one at least ``majority`` of its values parse as."""
        total = self.non_null.get(column, 0)
        if total == 0:
            return "string"
        seen = self.parsed[column]
        need = majority * total
        if seen["float"] >= need:
            return "int" if seen["int"] == seen["float"] else "float"
        if seen["bool"] >= need:
            return "bool"
        if seen["datetime"] >= need:
            return "datetime"
        return "string"


def parse_numbers(frame: pl.DataFrame, columns: list[str]) -> pl.DataFrame:
    """Each column parsed as float (``f"{c}\\x00float"``) and, where it may be all ints, as int.

    A column is decided int only when its int and float counts are equal over the whole file, and
    every text that parses as an int also parses as a float, so a chunk holding a float with a
    fraction (or nan) can never count as many ints as floats. Such columns skip the int parse
    (the dearer half of the two for a float column) and count 0 ints, which keeps the counts
    unequal and every decision the same.
    """
    floats = frame.select(parse_text(c, "float").alias(f"{c}\x00float") for c in columns)
    whole = floats.select(
        (pl.col(f"{c}\x00float").round() == pl.col(f"{c}\x00float")).all().alias(c) for c in columns
    ).row(0, named=True)
    ints = [parse_text(c, "int").alias(f"{c}\x00int") for c in columns if whole[c]]
    return pl.concat([floats, frame.select(ints)], how="horizontal") if ints else floats


def parsed_count(parsed: pl.DataFrame, column: str, kind: ColumnType) -> int:
    """Values of ``column`` that ``parse_numbers`` parsed as ``kind`` (0 ints where it skipped them)."""
    # get_column looks the name up in polars; ``name in parsed.columns`` builds the whole name
    # list on every call, which made wide files quadratic in their columns.
    values = parsed.get_column(f"{column}\x00{kind}", default=None)
    return 0 if values is None else parsed.height - values.null_count()


def _datetime_count(frame: pl.DataFrame, column: str) -> int:
    """How many values parse as datetimes (0 when polars cannot infer a format at all).

    Parsing text that is not a date is slow (every format is tried), so a chunk whose first
    ``_SAMPLE`` values hold no datetime counts as none.
    """
    head = frame.head(_SAMPLE)
    if not head.select(pl.col(column).str.contains(r"\d").any()).item():
        return 0  # no digit, no date
    try:
        sample = head.select(parse_text(column, "datetime").is_not_null().sum()).item()
        if sample == 0:
            return 0
        return int(frame.select(parse_text(column, "datetime").is_not_null().sum()).item())
    except pl.exceptions.PolarsError:
        return 0
