"""Reading a spec file on the client: YAML errors as one line, local sources found and renamed.

A local source path is relative to the spec file. ``mlops run`` uploads that file and submits the
spec with the blob source the app returns, so the same spec works against devhost and Azure.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pydantic
import yaml

from shared.pipeline.sections import Source

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_DATA_SUFFIXES = (".csv", ".parquet", ".pq")


class SpecFileError(Exception):
    """The spec file cannot be read or parsed; the message is one line naming file and line."""


def load_spec_file(path: Path) -> dict[str, Any]:
    """The spec as a dict; SpecFileError with ``file:line:column: problem`` on bad YAML."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecFileError(f"{path}: cannot read: {exc}") from exc
    try:
        body = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise SpecFileError(_yaml_message(path, exc)) from exc
    if not isinstance(body, dict):
        raise SpecFileError(f"{path}: a spec must be a YAML mapping (name: ..., source: ..., ...)")
    if not body.get("name"):
        raise SpecFileError(f"{path}: the spec has no 'name'")
    return body


def _yaml_message(path: Path, exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    context = getattr(exc, "context", None)
    what = f"{context}: {problem}" if context else str(problem)
    if mark is not None:
        return f"{path}:{mark.line + 1}:{mark.column + 1}: invalid YAML: {what}"
    return f"{path}: invalid YAML: {what}"


def local_source(spec: dict[str, Any], spec_dir: Path) -> tuple[Path, str | None] | None:
    """The local file a spec's source names (resolved against ``spec_dir``) and its format; else None."""
    raw = spec.get("source")
    if raw is None:
        return None
    try:
        source = Source.model_validate(raw)
    except pydantic.ValidationError:
        return None  # the app names the problem in its 400
    if source.kind != "file":
        return None
    path = Path(source.location).expanduser()
    if not path.is_absolute():
        path = spec_dir / path
    return path, source.resolved_format()


def upload_name(path: Path, fmt: str | None) -> str:
    """A file name the upload endpoint accepts: the local name, made safe, with a data suffix."""
    suffix = path.suffix.lower() if path.suffix.lower() in _DATA_SUFFIXES else f".{fmt or 'csv'}"
    stem = _UNSAFE.sub("-", path.stem).strip("-._") or "data"
    return f"{stem[:100]}{suffix}"


def with_source(spec: dict[str, Any], source: str) -> dict[str, Any]:
    """A copy of ``spec`` whose source is ``source`` (a blob shorthand), keeping a declared format."""
    raw = spec.get("source")
    declared = raw.get("format") if isinstance(raw, dict) else None
    if declared:
        kind, _, location = source.partition(":")
        return {**spec, "source": {"kind": kind, "location": location, "format": declared}}
    return {**spec, "source": source}
