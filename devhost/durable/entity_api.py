"""The management API's entity routes (``entities/...``), which the SDK client also calls over rpcBaseUrl.

* ``GET entities/{name}/{key}``: 200 with the state as JSON, 404 when the entity does not exist
  (``read_entity_state``);
* ``POST entities/{name}/{key}?op=<operation>``: 202, the operation is queued (``signal_entity``);
* ``GET entities[/{name}]?fetchState&top&lastOperationTimeFrom&lastOperationTimeTo``: the entities
  that exist, ``[{entityId: {name, key}, lastOperationTime, state?}]``, continuation in a header.
An entity name the app has no entity function for is refused by name (400), never answered as an
entity that does not exist.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from devhost.durable.engine import Engine
from devhost.durable.entities import NOT_AN_ENTITY, EntityRecord, scheduler_id, split_id
from devhost.durable.names import iso
from devhost.durable.query import flag, positive_int, time_param
from devhost.durable.state import dump_json

Response = tuple[int, dict[str, str], bytes]
JSON = {"Content-Type": "application/json; charset=utf-8"}
CONTINUATION = "x-ms-continuation-token"


def _error(status: int, message: str) -> Response:
    return status, dict(JSON), json.dumps({"Message": message, "ExceptionMessage": message}).encode()


async def handle_entities(
    engine: Engine,
    method: str,
    parts: list[str],
    query: Mapping[str, str],
    continuation: str | None,
    body: bytes,
) -> Response:
    """Route ``entities[/{name}[/{key}]]`` (``parts`` starts with ``entities``)."""
    if len(parts) > 1 and engine.registry.lookup_entity(parts[1]) is None:
        return _error(400, f"The function '{parts[1]}' {NOT_AN_ENTITY}.")
    if len(parts) == 3 and method == "GET":
        record = await engine.load_entity(scheduler_id(parts[1], parts[2]))
        if not record.exists:
            return 404, dict(JSON), b""
        return 200, dict(JSON), (record.state or "null").encode()
    if len(parts) == 3 and method == "POST":
        operation = (query.get("op") or "").strip()
        if not operation:
            return _error(400, "The query parameter 'op' (the operation to signal) is required.")
        text = body.decode("utf-8", errors="replace").strip() if body.strip() else ""
        try:
            input_text = dump_json(json.loads(text)) if text else None
        except ValueError:
            return _error(400, "Only application/json request content is supported")
        await engine.signal_entity(parts[1], parts[2], operation, input_text)
        return 202, dict(JSON), b""
    if len(parts) <= 2 and method == "GET":
        return await _list(engine, parts[1] if len(parts) == 2 else None, query, continuation)
    return _error(405, f"The entity API has no {method} route for '{'/'.join(parts)}'.")


async def _list(
    engine: Engine, name: str | None, query: Mapping[str, str], continuation: str | None
) -> Response:
    fetch_state = flag(query, "fetchState", False)
    top = positive_int(query, "top")
    prefix = scheduler_id(name, "") if name else "@"
    end = prefix[:-1] + chr(ord(prefix[-1]) + 1)
    clauses = [f"PartitionKey ge '{_quote(prefix)}'", f"PartitionKey lt '{_quote(end)}'"]
    for key, op in (("lastOperationTimeFrom", "ge"), ("lastOperationTimeTo", "le")):
        when = time_param(query, key)
        if when is not None:
            clauses.append(f"LastUpdatedTime {op} datetime'{when.strftime('%Y-%m-%dT%H:%M:%S.%fZ')}'")
    rows, token = await engine.store.query_instances(" and ".join(clauses), top, continuation)
    out: list[dict[str, Any]] = []
    for row in rows:
        entity_id = str(row.get("InstanceId") or row["PartitionKey"])
        record = EntityRecord.from_row(entity_id, row)
        if not record.exists:
            continue
        entity_name, key = split_id(entity_id)
        item: dict[str, Any] = {
            "entityId": {"name": entity_name, "key": key},
            "lastOperationTime": iso(record.updated),
        }
        if fetch_state:
            item["state"] = json.loads(record.state or "null")
        out.append(item)
    headers = dict(JSON)
    if token:
        headers[CONTINUATION] = token
    return 200, headers, json.dumps(out).encode()


def _quote(text: str) -> str:
    return text.replace("'", "''")
