"""Where a spec may read data from, and what can be checked about it at submission.

Local file sources must lie under a configured data root (``MLOPS_DATA_ROOTS``; none by default,
so every file source is refused), after symlinks and ``..`` are resolved. Blob sources must be in
a configured data container (``MLOPS_DATA_CONTAINERS``, default ``data``; internal containers
are refused by the settings). A source that is outside them, missing, or not a file gets one
wording whatever the reason, so the answer tells nothing about what exists elsewhere.

At submission the source's header (CSV: the first line, bounded; Parquet: the footer schema) is
read to check that the target column is there.

A blob prefix or pattern (``Source.is_selection``) is resolved by ``resolve_blobs`` into the
ordered list of blobs it selects, each pinned to the ETag it was listed with; ingest resolves
again when a run reaches it, so scheduled and drift-triggered runs read the newest data. The
selected blobs must share one CSV header / Parquet schema (``check_alike`` names the odd one).
"""

from __future__ import annotations

import heapq
import io
import itertools
import re
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, BinaryIO

import pyarrow.parquet as pq

from shared.data.csv_reader import parse_header
from shared.errors import NotFoundError, ValidationError
from shared.pipeline.sections import GLOB_CHARS, MAX_SELECTED_BLOBS, Selection, Source
from shared.settings import Settings
from shared.storage.blobs import BlobInfo
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
    # A prefix or pattern outside the data containers and one matching nothing read alike, so
    # the answer tells nothing about what exists elsewhere.
    many = location.endswith("/") or any(c in GLOB_CHARS for c in location)
    what = "selects no readable blob" if many else "is not a readable blob"
    return ValidationError(
        f"source {location!r} {what} in the configured data containers (MLOPS_DATA_CONTAINERS)",
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
    """``(container, name)`` of a blob source in an allowed data container (existence not checked).

    ``name`` may be a prefix (ending in ``/``) or a pattern; either must be a valid blob name
    once the trailing ``/`` is dropped, so neither can climb out with ``..``.
    """
    container, _, name = location.partition("/")
    whole = not name and location.endswith("/")  # "container/": a prefix naming the whole container
    if container not in settings.data_containers or not (name or whole):
        raise _blob_refused(location)
    if name:
        validate_blob_name(name[:-1] if name.endswith("/") else name)  # before any call
    return container, name


@dataclass(frozen=True)
class SourceBlob:
    """One blob a source selected: where it is, the ETag its reads are pinned to, and its lineage."""

    container: str
    name: str
    etag: str
    size: int
    last_modified: datetime | None = None
    sha256: str | None = None
    """The sha256 recorded in the blob's metadata, when the writer recorded one."""

    def lineage(self) -> dict[str, Any]:
        """The JSON form kept in the dataset record and the ingest result."""
        modified = self.last_modified.isoformat() if self.last_modified is not None else None
        return {
            "container": self.container,
            "name": self.name,
            "etag": self.etag,
            "size": self.size,
            "last_modified": modified,
            "sha256": self.sha256,
        }


def _glob_regex(pattern: str) -> re.Pattern[str]:
    """A glob as a regex over whole names: ``*`` and ``?`` never match ``/``; ``[..]`` is a class."""
    out, i = [], 0
    while i < len(pattern):
        char = pattern[i]
        if char == "*":
            out.append("[^/]*")
        elif char == "?":
            out.append("[^/]")
        elif char == "[" and (end := pattern.find("]", i + 2)) > 0:
            body = pattern[i + 1 : end]
            negate = body.startswith("!")
            body = body[1:] if negate else body
            # Inside a class only these are special to Python's re; '-' keeps its range meaning.
            for special in ("\\", "^", "[", "&", "~", "|"):
                body = body.replace(special, "\\" + special)
            out.append(f"[{'^/' if negate else ''}{body}]")
            i = end
        else:
            out.append(re.escape(char))
        i += 1
    return re.compile("".join(out))


def _literal_prefix(name: str) -> str:
    """The part of a pattern before its first wildcard: the listing's prefix."""
    cut = min((name.index(c) for c in GLOB_CHARS if c in name), default=len(name))
    return name[:cut]


def select_blobs(listed: Iterable[BlobInfo], selection: Selection | None, now: datetime) -> list[BlobInfo]:
    """Apply a selection rule to listed blobs: within the window, then the newest N; ordered by name.

    Pure (no I/O), so the rule is testable on made-up listings, and bounded: it keeps at most
    ``newest`` items, or ``MAX_SELECTED_BLOBS + 1`` (enough for the caller to refuse too many),
    however long the listing. Name order makes the dataset version depend only on which blobs
    were picked and their bytes, not on upload timing.
    """
    picked: Iterable[BlobInfo] = listed
    if selection is not None and (window := selection.window_seconds()) is not None:
        since = now - timedelta(seconds=window)
        picked = (b for b in picked if b.last_modified is not None and b.last_modified >= since)
    if selection is not None and selection.newest is not None:
        oldest = datetime.min.replace(tzinfo=UTC)
        kept = heapq.nlargest(selection.newest, picked, key=lambda b: (b.last_modified or oldest, b.name))
    else:
        kept = list(itertools.islice(picked, MAX_SELECTED_BLOBS + 1))
    return sorted(kept, key=lambda b: b.name)


def resolve_blobs(
    storage: Storage, source: Source, settings: Settings, *, now: datetime | None = None
) -> list[SourceBlob]:
    """The blobs a blob source reads, in ingest order, each with the ETag to pin its reads to.

    A single-blob source gives one item (the same refusal as ever when it is missing or outside
    the data containers); a prefix or pattern gives the blobs its ``select`` rule picks at
    ``now`` (default: the current time), ordered by name. Raises ValidationError (field
    ``source.location``) when nothing matches or more than ``MAX_SELECTED_BLOBS`` would be read.
    Only lists and reads properties: a later fan-out can ingest each item as its own part.
    """
    if source.kind != "blob":
        raise ValueError(f"resolve_blobs needs a blob source, not {source.kind!r}")
    container, name = confined_blob(source.location, settings)
    if not source.is_selection():
        # Listing the exact name gives the properties a lineage needs (time, recorded sha256).
        found = [b for b in storage.blobs.list_info(container, name) if b.name == name]
        if not found:
            raise _blob_refused(source.location)
        return [_source_blob(found[0])]
    pattern = None if name.endswith("/") else _glob_regex(name)
    listed = (
        b
        for b in storage.blobs.list_info(container, _literal_prefix(name))
        # A name ending in '/' is a folder marker some tools write, not data.
        if not b.name.endswith("/") and (pattern is None or pattern.fullmatch(b.name))
    )
    picked = select_blobs(listed, source.select, now or datetime.now(UTC))
    if not picked:
        raise _blob_refused(source.location)
    if len(picked) > MAX_SELECTED_BLOBS:
        raise ValidationError(
            f"source {source.location!r} selects {len(picked)} blobs, more than {MAX_SELECTED_BLOBS}; "
            "narrow it with select.newest or select.within",
            field=FIELD,
        )
    return [_source_blob(b) for b in picked]


def _source_blob(info: BlobInfo) -> SourceBlob:
    return SourceBlob(info.container, info.name, info.etag, info.size, info.last_modified, info.sha256)


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


#: Bytes read per request while looking for the end of a CSV header line.
_HEADER_STEP = 64 * 1024
#: Selected blobs whose headers are read at once (submission and ingest wait on these requests).
_HEADER_READERS = 8


def _blob_header(storage: Storage, blob: SourceBlob, parquet: bool) -> list[Any]:
    """One selected blob's CSV columns or Parquet (name, type) pairs, read at its pinned ETag."""
    where = f"blob {blob.container}/{blob.name}"
    reader = storage.blobs.open_range(blob.container, blob.name, etag=blob.etag)
    try:
        if parquet:
            with io.BufferedReader(reader, buffer_size=64 * 1024) as stream:
                if blob.size < 12:
                    raise ValueError("too small to be Parquet")
                stream.seek(blob.size - 8)
                tail = stream.read(8)
                if tail[4:] != b"PAR1":
                    raise ValueError("no Parquet footer")
                if int.from_bytes(tail[:4], "little") > MAX_FOOTER_BYTES:
                    raise ValueError(f"its schema is over {MAX_FOOTER_BYTES} bytes, too large to compare")
                stream.seek(0)
                return [(f.name.strip(), str(f.type)) for f in pq.read_schema(stream)]
        head = b""
        while b"\n" not in head and len(head) < MAX_HEADER_BYTES:
            step = reader.read(_HEADER_STEP) or b""
            head += step
            if len(step) < _HEADER_STEP:
                break
        if not head:
            raise ValueError("it is empty")
        line_end = head.find(b"\n")
        if line_end < 0 and len(head) >= MAX_HEADER_BYTES:
            raise ValueError(f"its header line is over {MAX_HEADER_BYTES} bytes, too long to compare")
        header = parse_header(head if line_end < 0 else head[: line_end + 1])
        if header.problem is not None:
            raise ValueError(header.problem)
        return header.columns
    except (OSError, ValueError) as exc:  # pyarrow raises ArrowInvalid (a ValueError)
        raise ValidationError(
            f"source {where} cannot be read as {'parquet' if parquet else 'csv'}: {exc}", field=FIELD
        ) from None


def check_alike(storage: Storage, blobs: Sequence[SourceBlob], parquet: bool) -> list[str]:
    """The column names the selected blobs share; ValidationError naming the first blob that differs.

    CSV blobs must have the same header columns, Parquet blobs the same column names and types,
    since they are ingested as one dataset. Each header is read at the ETag it was selected with.
    """
    if not blobs:
        raise ValueError("check_alike needs at least one blob")
    with ThreadPoolExecutor(max_workers=min(_HEADER_READERS, len(blobs))) as pool:
        headers = pool.map(lambda b: _blob_header(storage, b, parquet), blobs)
        first = next(headers)
        for blob, header in zip(blobs[1:], headers, strict=True):
            if header != first:
                what = "schema" if parquet else "header"
                raise ValidationError(
                    f"blob {blob.container}/{blob.name} has a different {what} from "
                    f"{blobs[0].container}/{blobs[0].name} ({_shown(header)} vs {_shown(first)}); "
                    "the selected blobs are read as one dataset",
                    field=FIELD,
                )
    return [c[0] for c in first] if parquet else list(first)


def _shown(header: list[Any]) -> str:
    names = [f"{h[0]} {h[1]}" if isinstance(h, tuple) else str(h) for h in header]
    return str(names if len(names) <= 20 else [*names[:20], "..."])


def check_source(
    storage: Storage, source: Source, target: str, settings: Settings, *, max_columns: int | None = None
) -> Source:
    """Refuse a source outside the data roots/containers or missing, without the target column, or
    (given the spec's ``expectations.max_columns``) with a wider header."""
    if source.kind == "bundled":
        return source
    confined = confine(source, settings)
    try:
        if confined.is_selection():
            picked = resolve_blobs(storage, confined, settings)
            columns: list[str] | None = check_alike(storage, picked, confined.resolved_format() == "parquet")
        else:
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
