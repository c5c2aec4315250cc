"""Query-string parameters of the management API, checked: a bad value is a 400 naming the parameter."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from devhost.durable.names import parse_time

#: OrchestrationRuntimeStatus names; the extension parses them case-insensitively and skips unknown ones
RUNTIME_STATUSES = (
    "Running",
    "Completed",
    "ContinuedAsNew",
    "Failed",
    "Canceled",
    "Terminated",
    "Pending",
    "Suspended",
)
_TRUE = ("true", "1", "yes")
_FALSE = ("false", "0", "no")


class QueryError(ValueError):
    """A query parameter with a value the API cannot use (answered with 400)."""

    def __init__(self, name: str, value: str, expected: str) -> None:
        super().__init__(f"The query parameter '{name}' has an invalid value '{value}': expected {expected}.")
        self.name = name


def flag(query: Mapping[str, str], name: str, default: bool) -> bool:
    """A boolean parameter (true/false, 1/0, yes/no; absent or empty: the default)."""
    value = (query.get(name) or "").strip().lower()
    if not value:
        return default
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise QueryError(name, query[name], "true or false")


def positive_int(query: Mapping[str, str], name: str) -> int | None:
    """A positive integer parameter such as ``top`` (absent or empty: None)."""
    value = (query.get(name) or "").strip()
    if not value:
        return None
    if not value.isdigit() or int(value) < 1 or int(value) > 1_000_000:
        raise QueryError(name, query[name], "a whole number from 1 to 1000000")
    return int(value)


def time_param(query: Mapping[str, str], name: str) -> datetime | None:
    """An ISO 8601 time parameter such as ``createdTimeFrom`` (absent or empty: None)."""
    value = (query.get(name) or "").strip()
    if not value:
        return None
    try:
        return parse_time(value)
    except ValueError:
        raise QueryError(name, query[name], "an ISO 8601 date-time such as 2024-05-01T00:00:00Z") from None


def runtime_statuses(query: Mapping[str, str]) -> list[str]:
    """``runtimeStatus`` values, canonical spelling; unknown names are ignored as the extension does."""
    known = {s.lower(): s for s in RUNTIME_STATUSES}
    out: list[str] = []
    for part in (query.get("runtimeStatus") or "").split(","):
        name = known.get(part.strip().lower())
        if name is not None and name not in out:
            out.append(name)
    return out


def instance_filter(query: Mapping[str, str]) -> str:
    """The Instances-table filter for ``runtimeStatus`` / ``createdTimeFrom`` / ``createdTimeTo``."""
    clauses = []
    statuses = runtime_statuses(query)
    if statuses:
        clauses.append("(" + " or ".join(f"RuntimeStatus eq '{s}'" for s in statuses) + ")")
    for key, op in (("createdTimeFrom", "ge"), ("createdTimeTo", "le")):
        when = time_param(query, key)
        if when is not None:
            clauses.append(f"CreatedTime {op} datetime'{when.strftime('%Y-%m-%dT%H:%M:%S.%fZ')}'")
    return " and ".join(clauses)
