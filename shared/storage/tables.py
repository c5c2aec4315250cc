"""TableRepository: one pydantic record model per table, Azure limits enforced, ETag updates.

Values too large for a row spill to blobs in ``table-spill``; the row keeps ``<prop>__blob``
and ``<prop>__sha256`` (or ``__spill_blob``/``__spill_sha256`` for a whole record) and reads
verify the sha256 before returning the record.
"""

from __future__ import annotations

import hashlib
import random
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any, ClassVar, Generic, TypeVar
from urllib.parse import quote

import pydantic
from azure.core import MatchConditions
from azure.core.exceptions import HttpResponseError
from azure.data.tables import TableClient, TableServiceClient, TableTransactionError, UpdateMode

from shared.errors import (
    AlreadyExistsError,
    ConcurrencyConflictError,
    EntityTooLargeError,
    IntegrityError,
    NotFoundError,
    ValidationError,
)
from shared.storage import entity_codec as codec
from shared.storage.blobs import BlobStore
from shared.storage.errors import is_precondition_failed, mapped_errors
from shared.storage.names import validate_key, validate_table_name

SPILL_CONTAINER = "table-spill"
MAX_BATCH_OPERATIONS = 100
#: Azure's 4 MiB transaction limit, less a margin for the multipart envelope.
MAX_BATCH_BYTES = 4 * 1024 * 1024 - 64 * 1024
_TEXT = "text/plain; charset=utf-8"
_BINARY = "application/octet-stream"
_JSON = "application/json"

M = TypeVar("M", bound=pydantic.BaseModel)

_created_tables: set[tuple[str, str]] = set()
_created_lock = threading.Lock()


def key_segment(key: str) -> str:
    """A blob-name-safe, reversible-enough path segment for a PartitionKey/RowKey."""
    # Quote everything but unreserved characters; dots too, so '.', '..' or 'a.' stay legal.
    quoted = quote(key, safe="-_~").replace(".", "%2E")
    if not quoted or len(quoted) > 200:
        return "h-" + hashlib.sha256(key.encode("utf-8")).hexdigest()
    return "k-" + quoted


class TableRepository(Generic[M]):
    """CRUD, queries, batches and ETag-guarded updates for one table of ``model`` records."""

    #: Subclasses fix these; the constructor may override the table name (tests, tenants).
    table_name: ClassVar[str] = ""
    model: type[M]
    partition_key_field: ClassVar[str] = ""
    row_key_field: ClassVar[str] = ""

    def __init__(
        self,
        table_service: TableServiceClient,
        blobs: BlobStore,
        *,
        table_name: str | None = None,
        model: type[M] | None = None,
        partition_key_field: str | None = None,
        row_key_field: str | None = None,
        spill_container: str = SPILL_CONTAINER,
    ) -> None:
        self.name = validate_table_name(table_name or self.table_name)
        if model is not None:
            self.model = model
        self.pk_field = partition_key_field or self.partition_key_field
        self.rk_field = row_key_field or self.row_key_field
        if not getattr(self, "model", None) or not self.pk_field or not self.rk_field:
            raise ValidationError("a repository needs a model and its key fields", field="model")
        self._service = table_service
        self._client: TableClient = table_service.get_table_client(self.name)
        self._blobs = blobs
        self._spill_container = spill_container

    # -- table lifecycle --------------------------------------------------------------------

    def ensure_table(self) -> None:
        """Create the table unless this process already did (idempotent)."""
        key = (self._service.url, self.name)
        with _created_lock:
            if key in _created_tables:
                return
        with mapped_errors("table", f"table {self.name}"):
            self._service.create_table_if_not_exists(self.name)
        with _created_lock:
            _created_tables.add(key)

    # -- encoding ---------------------------------------------------------------------------

    def keys_of(self, record: M) -> tuple[str, str]:
        """(PartitionKey, RowKey) of a record, validated."""
        pk = validate_key("PartitionKey", str(getattr(record, self.pk_field)))
        rk = validate_key("RowKey", str(getattr(record, self.rk_field)))
        return pk, rk

    def _spill_prefix(self, pk: str, rk: str) -> str:
        return f"{self.name}/{key_segment(pk)}/{key_segment(rk)}/"

    def _spill(self, pk: str, rk: str, prop: str, data: bytes, content_type: str) -> tuple[str, str]:
        # The content hash is part of the name: a writer that loses an ETag race cannot clobber
        # the bytes the winner's row points at.
        digest = hashlib.sha256(data).hexdigest()
        name = f"{self._spill_prefix(pk, rk)}{prop}/{digest}"
        self._blobs.put_bytes(self._spill_container, name, data, content_type=content_type)
        return name, digest

    def to_entity(self, record: M) -> dict[str, Any]:
        """The table entity for a record, spilling oversized values to blobs (uploads them)."""
        pk, rk = self.keys_of(record)
        values = record.model_dump(mode="python")
        values.pop(self.pk_field, None)
        values.pop(self.rk_field, None)
        props = codec.encode_properties(values)
        if len(props) <= codec.MAX_USER_PROPERTIES:
            for prop in [p for p, v in props.items() if codec.is_oversized(v)]:
                self._spill_property(pk, rk, props, prop)
            # Still over 1 MiB: move the largest remaining text/binary values out, biggest first.
            while codec.entity_size(pk, rk, props) > codec.MAX_ENTITY_BYTES:
                movable = [
                    p for p, v in props.items() if isinstance(v, str | bytes) and p not in _markers(props)
                ]
                if not movable:
                    break
                self._spill_property(pk, rk, props, max(movable, key=lambda p: codec.value_size(props[p])))
        if (
            len(props) > codec.MAX_USER_PROPERTIES
            or codec.entity_size(pk, rk, props) > codec.MAX_ENTITY_BYTES
        ):
            data = record.model_dump_json().encode("utf-8")
            name, digest = self._spill(pk, rk, "__record", data, _JSON)
            props = {codec.SPILL_BLOB: name, codec.SPILL_SHA: digest}
        entity = {"PartitionKey": pk, "RowKey": rk, **props}
        if codec.entity_size(pk, rk, props) > codec.MAX_ENTITY_BYTES:
            raise EntityTooLargeError(f"{self.name} entity {pk!r}/{rk!r} is over 1 MiB after spilling")
        return entity

    def _spill_property(self, pk: str, rk: str, props: dict[str, Any], prop: str) -> None:
        value = props.pop(prop)
        if isinstance(value, str):
            data, ctype = value.encode("utf-8"), _TEXT
        else:
            data, ctype = bytes(value), _BINARY
        name, digest = self._spill(pk, rk, prop, data, ctype)
        props[prop + codec.BLOB_SUFFIX] = name
        props[prop + codec.SHA_SUFFIX] = digest

    def from_entity(self, entity: dict[str, Any]) -> M:
        """The record for a stored entity, fetching and verifying spilled values."""
        props = dict(entity)
        pk, rk = str(props.pop("PartitionKey")), str(props.pop("RowKey"))
        props.pop("Timestamp", None)
        try:
            if codec.SPILL_BLOB in props:
                data = self._blobs.get_bytes(
                    self._spill_container,
                    str(props[codec.SPILL_BLOB]),
                    expected_sha256=str(props[codec.SPILL_SHA]),
                )
                return self.model.model_validate_json(data)
            for marker in [p for p in props if p.endswith(codec.BLOB_SUFFIX)]:
                prop = marker[: -len(codec.BLOB_SUFFIX)]
                blob_name = str(props.pop(marker))
                # The row's sha256 is the authority: a blob rewritten with fresh metadata still fails.
                expected = props.pop(prop + codec.SHA_SUFFIX, None)
                if not expected:
                    raise IntegrityError(
                        f"{self.name} entity {pk!r}/{rk!r}: spilled {prop!r} has no sha256 in the row"
                    )
                content = self._blobs.get_blob(
                    self._spill_container, blob_name, expected_sha256=str(expected)
                )
                binary = (content.content_type or "").startswith(_BINARY)
                props[prop] = content.data if binary else content.data.decode("utf-8")
            values = codec.decode_properties(props)
            values[self.pk_field] = pk
            values[self.rk_field] = rk
            return self.model.model_validate(values)
        except pydantic.ValidationError as exc:
            raise ValidationError(
                f"{self.name} entity {pk!r}/{rk!r} does not fit {self.model.__name__}: {exc}"
            ) from exc

    # -- single-entity operations -----------------------------------------------------------

    def get(self, pk: str, rk: str) -> tuple[M, str]:
        """(record, etag); NotFoundError when absent."""
        validate_key("PartitionKey", pk)
        validate_key("RowKey", rk)
        self.ensure_table()
        with mapped_errors("table", f"{self.name} entity {pk!r}/{rk!r}"):
            entity = self._client.get_entity(pk, rk)
        return self.from_entity(dict(entity)), str(entity.metadata["etag"])

    def try_get(self, pk: str, rk: str) -> M | None:
        """The record, or None when absent."""
        try:
            return self.get(pk, rk)[0]
        except NotFoundError:
            return None

    def insert(self, record: M) -> str:
        """Create a record; AlreadyExistsError when the keys are taken. Returns the etag."""
        entity = self.to_entity(record)
        self.ensure_table()
        with mapped_errors("table", f"{self.name} entity {entity['PartitionKey']!r}/{entity['RowKey']!r}"):
            result = self._client.create_entity(entity)
        return str(result.get("etag", ""))

    def upsert(self, record: M) -> str:
        """Insert or replace a record (no concurrency check). Returns the etag."""
        entity = self.to_entity(record)
        self.ensure_table()
        with mapped_errors("table", f"{self.name} entity {entity['PartitionKey']!r}/{entity['RowKey']!r}"):
            result = self._client.upsert_entity(entity, mode=UpdateMode.REPLACE)
        return str(result.get("etag", ""))

    def replace(self, record: M, etag: str) -> str:
        """Replace a record only if it still has ``etag``; ConcurrencyConflictError otherwise."""
        entity = self.to_entity(record)
        self.ensure_table()
        what = f"{self.name} entity {entity['PartitionKey']!r}/{entity['RowKey']!r}"
        try:
            with mapped_errors("table", what):
                result = self._client.update_entity(
                    entity, mode=UpdateMode.REPLACE, etag=etag, match_condition=MatchConditions.IfNotModified
                )
        except HttpResponseError as exc:
            if is_precondition_failed(exc):
                raise ConcurrencyConflictError(f"{what} changed since it was read (etag {etag})") from exc
            raise
        return str(result.get("etag", ""))

    def delete(self, pk: str, rk: str) -> None:
        """Delete a record and its spilled blobs (no error when absent)."""
        validate_key("PartitionKey", pk)
        validate_key("RowKey", rk)
        self.ensure_table()
        with mapped_errors("table", f"{self.name} entity {pk!r}/{rk!r}"):
            self._client.delete_entity(pk, rk)
        for name in list(self._blobs.list_names(self._spill_container, self._spill_prefix(pk, rk))):
            self._blobs.delete(self._spill_container, name)

    def query(
        self,
        pk: str | None = None,
        filter: str | None = None,  # mirrors the Tables OData parameter name
        *,
        parameters: dict[str, Any] | None = None,
        select: list[str] | None = None,
    ) -> Iterator[M]:
        """Records of one partition and/or an OData filter, streamed page by page.

        ``select`` limits the fields fetched; it must name every required field of the model.
        """
        self.ensure_table()
        params = dict(parameters or {})
        clauses = []
        if pk is not None:
            validate_key("PartitionKey", pk)
            params["__pk"] = pk
            clauses.append("PartitionKey eq @__pk")
        if filter:
            # Spaces inside the parentheses: the SDK finds @parameters by splitting on spaces.
            clauses.append(f"( {filter} )")
        columns = None
        if select is not None:
            columns = ["PartitionKey", "RowKey", codec.SPILL_BLOB, codec.SPILL_SHA]
            for f in select:
                for suffix in ("", codec.JSON_SUFFIX):
                    columns += [f + suffix, f + suffix + codec.BLOB_SUFFIX, f + suffix + codec.SHA_SUFFIX]
        with mapped_errors("table", f"query on {self.name}"):
            if clauses:
                pages = self._client.query_entities(" and ".join(clauses), parameters=params, select=columns)
            else:
                pages = self._client.list_entities(select=columns)
            for entity in pages:
                # Entities lacking a selected column come back with it as None: drop those.
                yield self.from_entity({k: v for k, v in entity.items() if v is not None})

    # -- optimistic concurrency -------------------------------------------------------------

    def update(self, pk: str, rk: str, mutate: Callable[[M], M], *, max_attempts: int = 30) -> tuple[M, str]:
        """Read, mutate, replace with If-Match; on a lost race re-read and retry with jitter."""
        return self.create_or_update(pk, rk, None, mutate, max_attempts=max_attempts)

    def create_or_update(
        self,
        pk: str,
        rk: str,
        default: Callable[[], M] | M | None,
        mutate: Callable[[M], M],
        *,
        max_attempts: int = 30,
    ) -> tuple[M, str]:
        """Like update, but a missing record starts as ``default`` (NotFoundError when None)."""
        for attempt in range(max_attempts):
            try:
                current, etag = self.get(pk, rk)
            except NotFoundError:
                if default is None:
                    raise
                current, etag = (default() if callable(default) else default.model_copy(deep=True)), ""
            new = mutate(current)
            if self.keys_of(new) != (pk, rk):
                raise ValidationError(f"mutate changed the keys of {self.name} {pk!r}/{rk!r}", field="keys")
            try:
                if etag:
                    return new, self.replace(new, etag)
                return new, self.insert(new)
            except (ConcurrencyConflictError, AlreadyExistsError):
                # Full jitter: racing writers spread out instead of colliding again in lockstep.
                time.sleep(random.uniform(0, min(0.5, 0.005 * 2**attempt)))
        raise ConcurrencyConflictError(
            f"{self.name} {pk!r}/{rk!r}: lost the ETag race {max_attempts} times", field="etag"
        )

    # -- batches ----------------------------------------------------------------------------

    def upsert_many(self, records: Iterable[M]) -> int:
        """Insert-or-replace records in per-partition transactions; returns how many were sent."""
        return self._submit(records, "upsert")

    def insert_many(self, records: Iterable[M]) -> int:
        """Create records in per-partition transactions (AlreadyExistsError if one exists)."""
        return self._submit(records, "create")

    def _submit(self, records: Iterable[M], verb: str) -> int:
        by_partition: dict[str, list[dict[str, Any]]] = {}
        for record in records:
            entity = self.to_entity(record)
            by_partition.setdefault(entity["PartitionKey"], []).append(entity)
        self.ensure_table()
        sent = 0
        for pk, entities in by_partition.items():
            for chunk in _chunks(entities):
                ops: list[Any] = [
                    (verb, e, {"mode": UpdateMode.REPLACE}) if verb == "upsert" else (verb, e) for e in chunk
                ]
                try:
                    with mapped_errors("table", f"transaction on {self.name} partition {pk!r}"):
                        self._client.submit_transaction(ops)
                except TableTransactionError as exc:
                    if exc.status_code == 409:
                        raise AlreadyExistsError(
                            f"{self.name} partition {pk!r}: an entity already exists", field="RowKey"
                        ) from exc
                    raise
                sent += 1
        return sent


def _markers(props: dict[str, Any]) -> set[str]:
    return {p for p in props if p.endswith((codec.BLOB_SUFFIX, codec.SHA_SUFFIX))}


def _chunks(entities: list[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    chunk: list[dict[str, Any]] = []
    size = 0
    for entity in entities:
        entity_bytes = codec.payload_size(entity)
        if chunk and (len(chunk) >= MAX_BATCH_OPERATIONS or size + entity_bytes > MAX_BATCH_BYTES):
            yield chunk
            chunk, size = [], 0
        chunk.append(entity)
        size += entity_bytes
    if chunk:
        yield chunk
