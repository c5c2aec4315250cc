"""Durable entities: ids, requests, the entity's stored record and one batch through the SDK's handle.

An entity ``counter`` with key ``k`` is the task-hub instance ``@counter@k`` (the name lower-cased, as
the extension's scheduler ids are). Its Instances row keeps the state the way the extension's entity
scheduler does, as ``Input`` = ``{"exists": ..., "state": "<state JSON>"}`` with ``RuntimeStatus``
Running, so it is listed by ``GET instances`` and removed by ``DELETE instances/@counter@k``.
Operations arrive as control-queue messages ``{"kind": "entity", "request": {...}}``; ids of the
requests already applied are kept in the row (``DevhostRecentRequests``) with the answers to calls,
so a request redelivered after a crash is answered again but not applied twice.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from devhost.durable.names import iso, utcnow
from devhost.durable.registry import EntityFunction

RECENT_COLUMN = "DevhostRecentRequests"
#: request ids remembered per entity (answers of calls included) and their JSON size bound
RECENT_LIMIT = 64
RECENT_CHARS = 24_000
EXCEPTION_TYPE = "System.Exception"
#: an operation without input: a JSON string token holding ``null`` (get_input returns None)
NO_INPUT = json.dumps("null")
NOT_AN_ENTITY = "doesn't exist, is disabled, or is not an entity function"


def is_entity_id(instance_id: str) -> bool:
    """``@name@key`` (an entity's scheduler id)."""
    return instance_id.startswith("@") and "@" in instance_id[1:]


def scheduler_id(name: str, key: str) -> str:
    """``@<name lower-cased>@<key>``."""
    return f"@{name.lower()}@{key}"


def split_id(entity_id: str) -> tuple[str, str]:
    """(name, key) of ``@name@key``."""
    name, key = entity_id[1:].split("@", 1)
    return name, key


def entity_request(
    request_id: str,
    operation: str,
    input_text: str | None,
    *,
    signal: bool,
    parent: tuple[str, str] | None,
    when: datetime,
) -> dict[str, Any]:
    """The request message (the extension's RequestMessage fields; the SDK reads ``id`` from EventSent)."""
    body: dict[str, Any] = {
        "id": request_id,
        "op": operation,
        "signal": signal,
        "input": input_text,
        "timestamp": iso(when),
    }
    if parent is not None:
        body["parent"], body["parentExecution"] = parent
    return body


@dataclass
class EntityRecord:
    """One entity's stored state plus the recently applied request ids (with answers to calls)."""

    entity_id: str
    exists: bool = False
    state: str | None = None
    recent: dict[str, dict[str, Any] | None] = field(default_factory=dict)
    created: datetime = field(default_factory=utcnow)
    updated: datetime = field(default_factory=utcnow)

    @classmethod
    def from_row(cls, entity_id: str, row: dict[str, Any] | None) -> EntityRecord:
        """Record from the Instances row (None: an entity never written)."""
        if row is None:
            return cls(entity_id)
        scheduler: dict[str, Any] = json.loads(row.get("Input") or "{}")
        recent: dict[str, dict[str, Any] | None] = json.loads(row.get(RECENT_COLUMN) or "{}")
        return cls(
            entity_id,
            exists=bool(scheduler.get("exists")),
            state=scheduler.get("state"),
            recent=recent,
            created=row.get("CreatedTime") or utcnow(),
            updated=row.get("LastUpdatedTime") or utcnow(),
        )

    def to_row(self) -> dict[str, Any]:
        """Instances row (the store adds the keys and spills a large ``Input``)."""
        self._trim_recent()
        name, _ = split_id(self.entity_id)
        return {
            "InstanceId": self.entity_id,
            "Name": f"@{name}",
            "Version": "",
            "Input": json.dumps({"exists": self.exists, "state": self.state if self.exists else None}),
            "CreatedTime": self.created,
            "LastUpdatedTime": self.updated,
            "RuntimeStatus": "Running",
            "ExecutionId": "",
            "Generation": 0,
            RECENT_COLUMN: json.dumps(self.recent, separators=(",", ":")),
        }

    def _trim_recent(self) -> None:
        while len(self.recent) > RECENT_LIMIT or (
            len(self.recent) > 1 and len(json.dumps(self.recent)) > RECENT_CHARS
        ):
            del self.recent[next(iter(self.recent))]


def batch_payload(record: EntityRecord, requests: list[dict[str, Any]]) -> str:
    """What the entity trigger receives: ``{self, state, exists, batch}``.

    A request's ``input`` is the JSON text of the stored input token. The SDK's ``get_input`` runs
    ``json.loads`` and then its own decoder over the result, so the token must be a JSON *string*
    holding the value's JSON - which is what both SDK paths store: the client posts
    ``json.dumps(value)`` as the body and the extension keeps an orchestration's action input (already
    JSON text) as a string. A plain JSON body on the HTTP API (``5``) reaches ``get_input`` undecoded
    and fails there, as on Azure. No input reads as ``None``.
    """
    name, key = split_id(record.entity_id)
    return json.dumps(
        {
            "self": {"name": name, "key": key},
            "state": record.state if record.exists else None,
            "exists": record.exists,
            "batch": [
                {"name": r["op"], "input": r.get("input") or NO_INPUT, "signal": r.get("signal")}
                for r in requests
            ],
        }
    )


def error_response(message: str) -> dict[str, Any]:
    """A failed operation's answer (the SDK raises ``Exception(message)`` in the caller)."""
    return {"result": json.dumps(message), "exceptionType": EXCEPTION_TYPE}


def run_batch(
    entity: EntityFunction | None, record: EntityRecord, requests: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Apply requests in order through the SDK handle (worker thread); updates the record, returns answers."""
    name, _ = split_id(record.entity_id)
    if entity is None:
        responses = [error_response(f"The function '{name}' {NOT_AN_ENTITY}.") for _ in requests]
    else:
        try:
            out = json.loads(entity.handle(batch_payload(record, requests)))
        except Exception as exc:  # the batch as a whole failed: nothing applied, every caller told
            responses = [error_response(f"Entity '{record.entity_id}' failed: {exc}") for _ in requests]
        else:
            record.exists = bool(out.get("entityExists"))
            record.state = out.get("entityState") if record.exists else None
            responses = []
            for result in out.get("results") or []:
                answer: dict[str, Any] = {"result": result.get("result") or "null"}
                if result.get("isError"):
                    answer["exceptionType"] = EXCEPTION_TYPE
                responses.append(answer)
    for request, response in zip(requests, responses, strict=True):
        record.recent[str(request["id"])] = None if request.get("signal") else response
    record.updated = utcnow()
    return responses
