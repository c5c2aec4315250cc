"""Blob, container, queue and table-key name rules, checked before any SDK call.

Azure accepts some names that later break tools or paths (``..`` segments, trailing dots,
control characters); rejecting them here means a bad name never writes anything.
"""

from __future__ import annotations

import re

from shared.errors import BlobNameError, ValidationError

MAX_BLOB_NAME = 1024
MAX_SEGMENTS = 254
_DRIVE = re.compile(r"^[A-Za-z]:")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_CONTAINER = re.compile(r"^[a-z0-9](?:[a-z0-9]|-(?!-))*[a-z0-9]$")
_TABLE = re.compile(r"^[A-Za-z][A-Za-z0-9]{2,62}$")
_KEY_FORBIDDEN = re.compile(r"[/\\#?\x00-\x1f\x7f-\x9f]")
MAX_KEY_BYTES = 1024


def _reject(rule: str, name: str) -> BlobNameError:
    # repr keeps control characters and very long names readable in logs.
    shown = repr(name if len(name) <= 80 else name[:77] + "...")
    return BlobNameError(f"blob name {shown} rejected: {rule}", field="blob_name")


def validate_blob_name(name: str) -> str:
    """Return ``name`` unchanged, or raise BlobNameError naming the broken rule."""
    if not isinstance(name, str) or name == "":
        raise _reject("must not be empty", str(name))
    if len(name) > MAX_BLOB_NAME:
        raise _reject(f"longer than {MAX_BLOB_NAME} characters ({len(name)})", name)
    if _CONTROL.search(name):
        raise _reject("contains a control character", name)
    if name.startswith("/"):
        raise _reject("absolute path (leading '/')", name)
    if "\\" in name:
        raise _reject("contains a backslash", name)
    if _DRIVE.match(name):
        raise _reject("absolute path (drive letter)", name)
    segments = name.split("/")
    if len(segments) > MAX_SEGMENTS:
        raise _reject(f"more than {MAX_SEGMENTS} path segments ({len(segments)})", name)
    for segment in segments:
        if segment == "":
            raise _reject("empty path segment ('//' or trailing '/')", name)
        if segment in (".", ".."):
            raise _reject(f"'{segment}' path segment", name)
        if segment.endswith("."):
            raise _reject("a name or segment ends in a dot", name)
    return name


def validate_container_name(name: str) -> str:
    """Return ``name`` unchanged, or raise BlobNameError: 3-63 lowercase letters/digits/hyphens."""
    if not isinstance(name, str) or not 3 <= len(name) <= 63 or not _CONTAINER.match(name):
        raise BlobNameError(
            f"container name {name!r} rejected: 3-63 lowercase letters, digits and single hyphens, "
            "starting and ending with a letter or digit",
            field="container",
        )
    return name


def validate_queue_name(name: str) -> str:
    """Return ``name`` unchanged, or raise ValidationError (same rules as container names)."""
    if not isinstance(name, str) or not 3 <= len(name) <= 63 or not _CONTAINER.match(name):
        raise ValidationError(
            f"queue name {name!r} rejected: 3-63 lowercase letters, digits and single hyphens, "
            "starting and ending with a letter or digit",
            field="queue",
        )
    return name


def validate_table_name(name: str) -> str:
    """Return ``name`` unchanged, or raise ValidationError: 3-63 alphanumerics, letter first."""
    if not isinstance(name, str) or not _TABLE.match(name):
        raise ValidationError(
            f"table name {name!r} rejected: 3-63 letters and digits, starting with a letter",
            field="table",
        )
    return name


def validate_key(field: str, value: str) -> str:
    """Return a PartitionKey/RowKey unchanged, or raise ValidationError naming ``field``."""
    if not isinstance(value, str):
        raise ValidationError(f"{field} must be a string, got {type(value).__name__}", field=field)
    if _KEY_FORBIDDEN.search(value):
        raise ValidationError(
            f"{field} {value!r} rejected: must not contain '/', '\\', '#', '?' or control characters",
            field=field,
        )
    if len(value.encode("utf-16-le")) > MAX_KEY_BYTES:
        raise ValidationError(f"{field} rejected: longer than {MAX_KEY_BYTES} bytes", field=field)
    return value
