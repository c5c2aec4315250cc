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
        if not columns:
            return
        exprs = [pl.col(c).is_not_null().sum().alias(f"{c}\x00n") for c in columns]
        exprs += [
            parse_text(c, kind).is_not_null().sum().alias(f"{c}\x00{kind}")
            for c in columns
            for kind in ("int", "float", "bool")
        ]
        counts = frame.select(exprs).row(0, named=True)
        for c in columns:
            self.non_null[c] = self.non_null.get(c, 0) + int(counts[f"{c}\x00n"])
            seen = self.parsed.setdefault(c, dict.fromkeys(_KINDS, 0))
            for kind in ("int", "float", "bool"):
                seen[kind] += int(counts[f"{c}\x00{kind}"])
            # Numbers and flags are never dates; skip the slow datetime parse for such columns.
            if max(counts[f"{c}\x00float"], counts[f"{c}\x00bool"]) * 2 < counts[f"{c}\x00n"]:
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
