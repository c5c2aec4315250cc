"""Bounded parsing of untrusted YAML and JSON: size, nesting depth and YAML alias expansion.

A 515-byte YAML anchor bomb expands to millions of nodes once anything walks it, and JSON nested
~1,000 deep makes Python's parser raise RecursionError. Both are refused here, before the data
reaches pydantic or storage, with a ValidationError (HTTP 400) that names the limit it broke.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from itertools import accumulate
from typing import Any

import yaml

from shared.errors import ValidationError

#: Largest spec text (YAML or JSON) accepted, in bytes.
MAX_SPEC_BYTES = 256 * 1024
#: Most nodes a YAML document may have once every alias is expanded (scalars, lists, mappings).
MAX_YAML_NODES = 100_000
#: Deepest nesting of lists/mappings accepted in YAML (aliases included) and JSON.
MAX_DEPTH = 64
#: Largest JSON request body accepted, in bytes.
MAX_JSON_BODY_BYTES = 16 * 1024 * 1024

_JSON_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_BRACKETS = {ord("["): 1, ord("{"): 1, ord("]"): -1, ord("}"): -1}
_NOT_BRACKETS = bytes(b for b in range(256) if b not in _BRACKETS)


class LimitExceededError(ValidationError):
    """Input broke a parsing limit; ``limit`` names it (e.g. ``max_depth``) and the body says so."""

    def __init__(self, message: str, *, field: str, limit: str, value: int) -> None:
        super().__init__(message, field=field)
        self.limit = limit
        self.value = value

    def to_dict(self) -> dict[str, str]:
        """The error body with the limit's name and value."""
        return {**super().to_dict(), "limit": self.limit, "limit_value": str(self.value)}


def _too_big(field: str, size: int, limit: int, what: str) -> LimitExceededError:
    return LimitExceededError(
        f"{field} is {size} bytes; the {what} limit is {limit} bytes", field=field, limit=what, value=limit
    )


def _too_deep(field: str, limit: int = MAX_DEPTH) -> LimitExceededError:
    return LimitExceededError(
        f"{field} is nested deeper than the max_depth limit of {limit} levels",
        field=field,
        limit="max_depth",
        value=limit,
    )


class _BoundedLoader(yaml.SafeLoader):
    """SafeLoader that counts nodes as they are composed, charging an alias the full size of its target.

    Composition shares one node per anchor, so the bomb is cheap here; the count is what walking it
    later would cost, and it is checked before any Python object is built.
    """

    def __init__(self, stream: str | bytes, field: str) -> None:
        super().__init__(stream)
        self._field = field
        self._depth = 0
        self._nodes = 0
        self._open: set[str] = set()
        self._cost: dict[int, tuple[int, int]] = {}  # id(anchored node) -> (nodes, height)
        self._height = 0

    def _charge(self, nodes: int) -> None:
        self._nodes += nodes
        if self._nodes > MAX_YAML_NODES:
            raise LimitExceededError(
                f"{self._field} expands to more than the max_yaml_nodes limit of {MAX_YAML_NODES} nodes "
                "(YAML aliases count once per use)",
                field=self._field,
                limit="max_yaml_nodes",
                value=MAX_YAML_NODES,
            )

    def _reach(self, depth: int) -> None:
        if depth > MAX_DEPTH:
            raise _too_deep(self._field)
        self._height = max(self._height, depth)

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        """Compose one node, refusing recursive aliases and anything over the node or depth limits."""
        if self.check_event(yaml.AliasEvent):
            anchor = self.peek_event().anchor  # type: ignore[no-untyped-call]
            if anchor in self._open:
                message = f"{self._field}: YAML alias *{anchor} refers to itself"
                raise ValidationError(message, field=self._field)
            target = self.anchors.get(anchor) if anchor is not None else None
            if target is not None:
                nodes, height = self._cost.get(id(target), (1, 0))
                self._charge(nodes)
                self._reach(self._depth + 1 + height)
            return super().compose_node(parent, index)
        anchor = self.peek_event().anchor  # type: ignore[no-untyped-call]
        self._depth += 1
        self._reach(self._depth)
        self._charge(1)
        before, outer_height = self._nodes - 1, self._height
        self._height = self._depth
        if anchor is not None:
            self._open.add(anchor)
        node = super().compose_node(parent, index)
        if anchor is not None:
            self._open.discard(anchor)
            self._cost[id(node)] = (self._nodes - before, self._height - self._depth)
        self._height = max(outer_height, self._height)
        self._depth -= 1
        return node


def load_yaml(text: str | bytes, *, field: str = "spec", max_bytes: int = MAX_SPEC_BYTES) -> Any:
    """Parse one untrusted YAML document within the size, node (aliases expanded) and depth limits."""
    size = len(text.encode("utf-8") if isinstance(text, str) else text)
    if size > max_bytes:
        raise _too_big(field, size, max_bytes, "max_spec_bytes")
    loader = _BoundedLoader(text, field)
    try:
        return loader.get_single_data()
    except yaml.YAMLError as exc:
        raise ValidationError(f"{field} is not valid YAML: {exc}", field=field) from exc
    except RecursionError as exc:  # a backstop: the depth check should always come first
        raise _too_deep(field) from exc
    finally:
        loader.dispose()


def json_depth(raw: bytes) -> int:
    """Deepest list/object nesting of JSON text, found without parsing it (strings skipped)."""
    brackets = _JSON_STRING.sub(b"", raw).translate(None, _NOT_BRACKETS)
    return max(accumulate(_BRACKETS[b] for b in brackets), default=0)


def load_json(raw: bytes, *, field: str = "body", max_bytes: int = MAX_JSON_BODY_BYTES) -> Any:
    """Parse untrusted JSON within the size and depth limits; ValidationError naming the problem."""
    if len(raw) > max_bytes:
        raise _too_big(field, len(raw), max_bytes, "max_body_bytes")
    if json_depth(raw) > MAX_DEPTH:
        raise _too_deep(field)
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValidationError(f"{field} is not valid JSON: {exc}", field=field) from exc
    except RecursionError as exc:  # unreachable after the depth scan; kept so it can never be a 500
        raise _too_deep(field) from exc


def check_mapping(data: Mapping[str, Any], *, field: str = "spec", max_bytes: int = MAX_SPEC_BYTES) -> None:
    """Refuse an already-parsed mapping that is deeper or bigger (as JSON) than a spec may be."""
    stack: list[tuple[Any, int]] = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise _too_deep(field)
        if isinstance(value, Mapping):
            stack.extend((v, depth + 1) for v in value.values())
        elif isinstance(value, list | tuple):
            stack.extend((v, depth + 1) for v in value)
    try:
        size = len(json.dumps(data, default=str).encode("utf-8"))
    except (TypeError, ValueError) as exc:
        raise ValidationError(f"{field} is not plain JSON data: {exc}", field=field) from exc
    if size > max_bytes:
        raise _too_big(field, size, max_bytes, "max_spec_bytes")
