"""Record values <-> Azure Table property values, and Azure's size arithmetic.

Natively stored: bool, int (Int32, or Int64 when larger), float, str, bytes, datetime (naive
ones are taken as UTC; reads return aware UTC datetimes). Anything else (dict, list, nested
models, dates, UUIDs, ...) is stored as JSON text under the property name plus ``__json``, so
the marker travels with the value and decoding needs no schema.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from enum import Enum
from typing import Any

import pydantic_core
from azure.data.tables import EdmType, EntityProperty

from shared.errors import ValidationError

JSON_SUFFIX = "__json"
BLOB_SUFFIX = "__blob"
SHA_SUFFIX = "__sha256"
SPILL_BLOB = "__spill_blob"
SPILL_SHA = "__spill_sha256"
SYSTEM_PROPERTIES = frozenset({"PartitionKey", "RowKey", "Timestamp"})

MAX_USER_PROPERTIES = 252
MAX_VALUE_BYTES = 64 * 1024
MAX_ENTITY_BYTES = 1024 * 1024
#: Longest user field name: leaves room for ``__json__sha256`` within Azure's 255 characters.
MAX_FIELD_NAME = 255 - len(JSON_SUFFIX + SHA_SUFFIX)
_INT32 = (-(2**31), 2**31 - 1)
_INT64 = (-(2**63), 2**63 - 1)
_FIELD_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def check_field_name(name: str) -> None:
    """Raise ValidationError for names Azure rejects or that collide with our markers."""
    if not _FIELD_NAME.match(name) or len(name) > MAX_FIELD_NAME:
        raise ValidationError(
            f"property name {name!r} must be an identifier of at most {MAX_FIELD_NAME} characters",
            field=name,
        )
    if (
        name in SYSTEM_PROPERTIES
        or name.startswith("__")
        or name.endswith((JSON_SUFFIX, BLOB_SUFFIX, SHA_SUFFIX))
    ):
        raise ValidationError(f"property name {name!r} is reserved by the table codec", field=name)


def _json_default(value: Any) -> Any:
    return pydantic_core.to_jsonable_python(value)


def encode_value(name: str, value: Any) -> tuple[str, Any] | None:
    """(stored name, stored value) for one record value; None for None (omitted)."""
    if value is None:
        return None
    if isinstance(value, Enum):
        value = value.value
    if isinstance(value, datetime) and value.tzinfo is None:
        # Azure stores UTC; reads come back aware, so make the writer's intent explicit.
        return name, value.replace(tzinfo=UTC)
    if isinstance(value, bool | float | str | bytes | datetime):
        return name, value
    if isinstance(value, int):
        if _INT32[0] <= value <= _INT32[1]:
            return name, value
        if _INT64[0] <= value <= _INT64[1]:
            return name, EntityProperty(value, EdmType.INT64)
        raise ValidationError(f"property {name!r}: integer {value} does not fit in Int64", field=name)
    # Compact separators: JSON values count against the 64 KiB string limit.
    text = json.dumps(value, default=_json_default, separators=(",", ":"), ensure_ascii=False)
    return name + JSON_SUFFIX, text


def encode_properties(values: Mapping[str, Any]) -> dict[str, Any]:
    """Stored properties for a record's values (None omitted, JSON marked)."""
    out: dict[str, Any] = {}
    for name, value in values.items():
        check_field_name(name)
        encoded = encode_value(name, value)
        if encoded is not None:
            out[encoded[0]] = encoded[1]
    return out


def decode_properties(props: Mapping[str, Any]) -> dict[str, Any]:
    """Record values from stored properties (inverse of encode_properties)."""
    out: dict[str, Any] = {}
    for name, value in props.items():
        if name in SYSTEM_PROPERTIES:
            continue
        if isinstance(value, EntityProperty):
            value = value.value
        if name.endswith(JSON_SUFFIX) and isinstance(value, str):
            out[name[: -len(JSON_SUFFIX)]] = json.loads(value)
        else:
            out[name] = value
    return out


def value_size(value: Any) -> int:
    """Bytes Azure charges for a property value (strings as UTF-16, per Azure's formula)."""
    if isinstance(value, EntityProperty):
        value = value.value
        return 8 if isinstance(value, int) else value_size(value)
    if isinstance(value, bool):
        return 1
    if isinstance(value, int):
        return 4 if _INT32[0] <= value <= _INT32[1] else 8
    if isinstance(value, float | datetime):
        return 8
    if isinstance(value, str):
        return len(value.encode("utf-16-le")) + 4
    if isinstance(value, bytes):
        return len(value) + 4
    return len(str(value).encode("utf-16-le")) + 4


def is_oversized(value: Any) -> bool:
    """True for a string or binary value over Azure's 64 KiB per-property limit."""
    if isinstance(value, str):
        return len(value.encode("utf-16-le")) > MAX_VALUE_BYTES
    if isinstance(value, bytes):
        return len(value) > MAX_VALUE_BYTES
    return False


def entity_size(partition_key: str, row_key: str, props: Mapping[str, Any]) -> int:
    """Azure's documented entity size: 4 + 2*len(keys) + sum(8 + 2*len(name) + value size)."""
    size = 4 + len((partition_key + row_key).encode("utf-16-le"))
    for name, value in props.items():
        if name in SYSTEM_PROPERTIES:
            continue
        size += 8 + len(name.encode("utf-16-le")) + value_size(value)
    return size


def payload_size(props: Mapping[str, Any]) -> int:
    """An upper bound on an entity's JSON size on the wire (for the 4 MiB transaction limit)."""

    def _wire(value: Any) -> Any:
        if isinstance(value, EntityProperty):
            return str(value.value)
        if isinstance(value, bytes):
            return base64.b64encode(value).decode()
        if isinstance(value, datetime):
            return value.isoformat()
        return value

    # ensure_ascii counts every non-ASCII character as a 6-byte escape: never an underestimate.
    body = json.dumps({k: _wire(v) for k, v in props.items()}, ensure_ascii=True)
    # Each property may carry an @odata.type annotation; each operation has MIME headers.
    return len(body) + 40 * len(props) + 1024
