"""HTTP route templates as the Functions host reads them (ASP.NET-style) and their matching.

Supported: literal segments (case-insensitive), ``{name}``, optional ``{name?}`` (trailing),
constraints ``{n:int}`` (int, long, bool, guid, alpha, double, float, decimal, datetime,
minlength(n), maxlength(n), length(n), min(n), max(n), range(a,b), regex(...); several chained
with ``:``) and the catch-all ``{*path}`` (last segment). When several routes match, the most
specific wins (literal > constrained parameter > parameter > optional > catch-all, per segment).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import unquote

from devhost.errors import AppLoadError

_PARAM = re.compile(
    r"^\{(?P<star>\*{1,2})?(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?P<constraints>(?::[^?}]+)*)(?P<opt>\?)?\}$"
)


def _is_float(value: str) -> bool:
    try:
        float(value)
    except ValueError:
        return False
    return True


def _is_guid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def _is_datetime(value: str) -> bool:
    try:
        datetime.fromisoformat(value)
    except ValueError:
        return False
    return True


def _constraint(spec: str) -> Callable[[str], bool]:
    name, _, arg = spec.partition("(")
    arg = arg[:-1] if arg.endswith(")") else arg
    name = name.lower()
    simple: dict[str, Callable[[str], bool]] = {
        "int": lambda v: re.fullmatch(r"-?\d+", v) is not None and -(2**31) <= int(v) < 2**31,
        "long": lambda v: re.fullmatch(r"-?\d+", v) is not None and -(2**63) <= int(v) < 2**63,
        "bool": lambda v: v.lower() in ("true", "false"),
        "guid": _is_guid,
        "alpha": lambda v: re.fullmatch(r"[A-Za-z]+", v) is not None,
        "double": _is_float,
        "float": _is_float,
        "decimal": _is_float,
        "datetime": _is_datetime,
    }
    if name in simple:
        return simple[name]
    if name == "regex":
        pattern = re.compile(arg)
        return lambda v: pattern.search(v) is not None
    numbers = [int(x) for x in arg.split(",") if x.strip().lstrip("-").isdigit()]
    if name == "minlength" and len(numbers) == 1:
        return lambda v: len(v) >= numbers[0]
    if name == "maxlength" and len(numbers) == 1:
        return lambda v: len(v) <= numbers[0]
    if name == "length" and len(numbers) in (1, 2):
        low, high = numbers[0], numbers[-1]
        return lambda v: low <= len(v) <= high
    if name in ("min", "max", "range") and numbers:
        low = numbers[0] if name != "max" else -(2**63)
        high = numbers[-1] if name != "min" else 2**63
        return lambda v: re.fullmatch(r"-?\d+", v) is not None and low <= int(v) <= high
    raise AppLoadError(f"unsupported route constraint {spec!r}")


@dataclass(frozen=True)
class Segment:
    """One path segment of a template: a literal or a parameter."""

    literal: str | None
    name: str | None = None
    optional: bool = False
    catch_all: bool = False
    checks: tuple[Callable[[str], bool], ...] = ()

    @property
    def rank(self) -> int:
        """Lower is more specific."""
        if self.literal is not None:
            return 0
        if self.catch_all:
            return 4
        if self.optional:
            return 3
        return 1 if self.checks else 2


@dataclass(frozen=True)
class RouteTemplate:
    """A compiled route template (without the route prefix)."""

    template: str
    segments: tuple[Segment, ...]

    @classmethod
    def parse(cls, template: str) -> RouteTemplate:
        """Compile ``template``; AppLoadError when malformed."""
        cleaned = template.strip().strip("/")
        segments: list[Segment] = []
        parts = cleaned.split("/") if cleaned else []
        for index, part in enumerate(parts):
            if not part:
                raise AppLoadError(f"route {template!r} has an empty segment")
            if "{" not in part and "}" not in part:
                segments.append(Segment(literal=part))
                continue
            match = _PARAM.match(part)
            if match is None:
                raise AppLoadError(f"route {template!r}: unsupported segment {part!r}")
            catch_all = bool(match["star"])
            if catch_all and index != len(parts) - 1:
                raise AppLoadError(f"route {template!r}: a catch-all parameter must be the last segment")
            specs = [s for s in match["constraints"].split(":") if s]
            segments.append(
                Segment(
                    literal=None,
                    name=match["name"],
                    optional=bool(match["opt"]),
                    catch_all=catch_all,
                    checks=tuple(_constraint(s) for s in specs),
                )
            )
        names = [s.name for s in segments if s.name]
        if len(names) != len({n.lower() for n in names}):
            raise AppLoadError(f"route {template!r} repeats a parameter name")
        for index, segment in enumerate(segments):
            later_required = any(
                s.literal is not None or not (s.optional or s.catch_all) for s in segments[index + 1 :]
            )
            if segment.optional and later_required:
                raise AppLoadError(f"route {template!r}: an optional parameter must be at the end")
        return cls(template, tuple(segments))

    @property
    def shape(self) -> str:
        """The template with parameter names erased, for duplicate detection."""
        out = []
        for s in self.segments:
            if s.literal is not None:
                out.append(s.literal.lower())
            else:
                out.append("{*}" if s.catch_all else "{?}" if s.optional else "{}")
        return "/".join(out)

    @property
    def specificity(self) -> tuple[int, ...]:
        """Sort key: more specific templates sort first."""
        return (*(s.rank for s in self.segments), 9)

    def match(self, path: str) -> dict[str, str] | None:
        """Route values when ``path`` (prefix removed, no leading slash) matches, else None."""
        raw_parts = path.strip("/").split("/") if path.strip("/") else []
        values: dict[str, str] = {}
        for index, segment in enumerate(self.segments):
            if segment.catch_all:
                rest = "/".join(unquote(p) for p in raw_parts[index:])
                if rest:
                    values[segment.name or ""] = rest
                return values
            if index >= len(raw_parts):
                return values if segment.optional else None
            value = unquote(raw_parts[index])
            if segment.literal is not None:
                if value.lower() != segment.literal.lower():
                    return None
                continue
            if not all(check(value) for check in segment.checks):
                return None
            values[segment.name or ""] = value
        return values if len(raw_parts) == len(self.segments) else None


def best_match(templates: Sequence[RouteTemplate], path: str) -> list[tuple[int, dict[str, str]]]:
    """Indexes of the templates matching ``path`` with their route values, most specific first."""
    hits = [(i, v) for i, t in enumerate(templates) if (v := t.match(path)) is not None]
    hits.sort(key=lambda hit: templates[hit[0]].specificity)
    return hits
