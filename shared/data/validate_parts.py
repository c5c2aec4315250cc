"""A ``StreamValidator``'s counters as JSON, and several parts' counters merged into one validator.

Each part of a fan-out validates its rows with its own validator; what crosses batches (accepted
and quarantined counts, failure counts per column and reason, the baseline being inferred) is
saved here and merged exactly: counts add, the inferred baseline's nulls add, minima and maxima
combine, and distinct values unite, turning open (None) once more than ``max_categories`` are
known, as they would in one validator. The one rule that is not per row, ``unique``, needs every
earlier row, so a spec with it is ingested by one activity (the plan says so).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from shared.data.schema import SchemaAccumulator
from shared.data.validate_stream import StreamValidator


def validator_state(checker: StreamValidator) -> dict[str, Any]:
    """What a part's validator counted, JSON-ready."""
    acc = checker.schema_acc
    schema = None
    if acc is not None:
        schema = {
            "rows": acc.rows,
            "nulls": acc.nulls,
            "low": acc.low,
            "high": acc.high,
            "distinct": {c: None if s is None else sorted(s) for c, s in acc.distinct.items()},
        }
    return {
        "accepted": checker.accepted,
        "quarantined": checker.quarantined,
        "counts": [[c, r, n] for (c, r), n in checker.counts.items()],
        "schema": schema,
    }


def _merge_schema(acc: SchemaAccumulator, part: dict[str, Any]) -> None:
    acc.rows += int(part["rows"])
    for c in acc.names:
        acc.nulls[c] += int(part["nulls"][c])
        low, high = part["low"][c], part["high"][c]
        if low is not None:
            known = acc.low[c]
            acc.low[c] = low if known is None else min(known, low)
        if high is not None:
            known = acc.high[c]
            acc.high[c] = high if known is None else max(known, high)
    for c, seen in acc.distinct.items():
        theirs = part["distinct"][c]
        if seen is None:
            continue
        if theirs is None:
            acc.distinct[c] = None
            continue
        seen.update(theirs)
        if acc.kinds[c] != "category" and len(seen) > acc.max_categories:
            acc.distinct[c] = None


def merge_states(checker: StreamValidator, states: Sequence[dict[str, Any]]) -> StreamValidator:
    """Load the parts' counters (in part order) into a fresh validator like theirs; ``finish`` decides."""
    for state in states:
        checker.accepted += int(state["accepted"])
        checker.quarantined += int(state["quarantined"])
        for column, reason, n in state["counts"]:
            key = (str(column), str(reason))
            checker.counts[key] = checker.counts.get(key, 0) + int(n)
        if checker.schema_acc is not None:
            _merge_schema(checker.schema_acc, state["schema"])
    return checker
