"""Where a spec may read data from, and what can be checked about it at submission.

Local file sources must lie under a configured data root (``MLOPS_DATA_ROOTS``; none by default,
so every file source is refused), after symlinks and ``..`` are resolved. Blob sources must be in
a configured data container (``MLOPS_DATA_CONTAINERS``, default ``data``; internal containers
are refused by the settings). A source that is outside them, missing, or not a file gets one
wording whatever the reason, so the answer tells nothing about what exists elsewhere.

At submission the source's header (CSV: the first line, bounded; Parquet: the footer schema) is
read to check that the target column is there.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import BinaryIO

import pyarrow.parquet as pq

from shared.data.csv_reader import parse_header
from shared.errors import NotFoundError, ValidationError
from shared.pipeline.sections import Source
from shared.settings import Settings
from shared.storage.factory import Storage
from shared.storage.names import validate_blob_name

FIELD = "source.location"
#: Longest CSV header line read at submission; a longer one is left to the ingest step.
MAX_HEADER_BYTES = 1024 * 1024
#: Largest Parquet footer read at submission.
MAX_FOOTER_BYTES = 8 * 1024 * 1024


def _file_refused(location: str) -> ValidationError:
    return ValidationError(
        f"source {location!r} is not a readable file under the configured data roots (MLOPS_DATA_ROOTS)",
        field=FIELD,
    )


def _blob_refused(location: str) -> ValidationError:
    return ValidationError(
        f"source {location!r} is not a readable blob in the configured data containers "
        "(MLOPS_DATA_CONTAINERS)",
        field=FIELD,
    )


#: The refusal of a blob source that is outside the data containers or missing (one wording).
blob_refused = _blob_refused


def confined_file(location: str, settings: Settings) -> Path:
    """The resolved path of a file source under a data root (a relative one: the first root with it)."""
    given = Path(location).expanduser()
    candidates = [given] if given.is_absolute() else [root / given for root in settings.data_roots]
    for candidate in candidates:
        try:
            resolved = candidate.resolve()
        except (OSError, RuntimeError):  # symlink loops, unreadable parents
            continue
        inside = any(resolved.is_relative_to(root) for root in settings.data_roots)
        if inside and resolved.is_file():
            return resolved
    raise _file_refused(location)


def confined_blob(location: str, settings: Settings) -> tuple[str, str]:
    """``(container, name)`` of a blob source in an allowed data container (existence not checked)."""
    container, _, name = location.partition("/")
    if container not in settings.data_containers or not name:
        raise _blob_refused(location)
    validate_blob_name(name)  # before any call; the rules do not depend on what exists
    return container, name


def read_blob_source(storage: Storage, source: Source, settings: Settings) -> bytes:
    """The bytes of a blob source in a data container (same refusal when it is missing)."""
    container, name = confined_blob(source.location, settings)
    try:
        return storage.blobs.get_bytes(container, name, verify=False)  # user data: no sha256 recorded
    except NotFoundError:
        raise _blob_refused(source.location) from None


def confine(source: Source, settings: Settings) -> Source:
    """The source with a file location replaced by its checked, resolved path (others unchanged)."""
    if source.kind == "file":
        return source.model_copy(update={"location": str(confined_file(source.location, settings))})
    if source.kind == "blob":
        confined_blob(source.location, settings)
    return source


def _csv_columns(head: bytes, whole: bool) -> list[str] | None:
    line_end = head.find(b"\n")
    if line_end < 0 and not whole:
        return None  # header longer than the bound: the ingest step will judge it
    header = parse_header(head if line_end < 0 else head[: line_end + 1])
    if header.problem is not None:
        raise ValidationError(f"source header: {header.problem}", field=FIELD)
    return header.columns


def _parquet_columns(stream: BinaryIO, size: int) -> list[str] | None:
    """Column names from a Parquet footer (None when the footer is over the bound)."""
    if size < 12:
        raise ValueError("too small to be Parquet")
    stream.seek(size - 8)
    tail = stream.read(8)
    if tail[4:] != b"PAR1":
        raise ValueError("no Parquet footer")
    if int.from_bytes(tail[:4], "little") > MAX_FOOTER_BYTES:
        return None  # the ingest step will judge a schema that large
    stream.seek(0)
    return list(pq.read_schema(stream).names)


def _columns(storage: Storage, source: Source, settings: Settings) -> list[str] | None:
    parquet = source.resolved_format() == "parquet"
    if source.kind == "file":
        path = Path(source.location)
        with open(path, "rb") as handle:
            if parquet:
                return _parquet_columns(handle, path.stat().st_size)
            head = handle.read(MAX_HEADER_BYTES)
        return _csv_columns(head, len(head) < MAX_HEADER_BYTES)
    container, name = confined_blob(source.location, settings)
    try:
        reader = storage.blobs.open_range(container, name)  # downloads only the ranges read
    except NotFoundError:
        raise _blob_refused(source.location) from None
    if parquet:
        with io.BufferedReader(reader, buffer_size=64 * 1024) as stream:
            return _parquet_columns(stream, reader.size)
    head = reader.read(MAX_HEADER_BYTES) or b""
    return _csv_columns(head, len(head) < MAX_HEADER_BYTES)


def check_source(
    storage: Storage, source: Source, target: str, settings: Settings, *, max_columns: int | None = None
) -> Source:
    """Refuse a source outside the data roots/containers or missing, without the target column, or
    (given the spec's ``expectations.max_columns``) with a wider header."""
    if source.kind == "bundled":
        return source
    confined = confine(source, settings)
    try:
        columns = _columns(storage, confined, settings)
    except (OSError, ValueError) as exc:  # unreadable file, not Parquet (pyarrow raises ArrowInvalid)
        if isinstance(exc, ValidationError):
            raise
        raise ValidationError(
            f"source {source.location!r} cannot be read as {confined.resolved_format()}: {exc}", field=FIELD
        ) from None
    if columns is not None and max_columns is not None and len(columns) > max_columns:
        raise ValidationError(
            f"the source header has {len(columns)} columns, more than expectations.max_columns {max_columns}",
            field="expectations.max_columns",
        )
    if columns is not None and target not in columns:
        shown = columns if len(columns) <= 20 else [*columns[:20], "..."]
        raise ValidationError(
            f"target column {target!r} is not in the source's header {shown}", field="target"
        )
    return confined
