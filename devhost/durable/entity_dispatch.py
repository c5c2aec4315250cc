"""Entity side of the engine: apply queued operations in batches, persist the state, answer callers.

Commit order (one devhost per hub): the Instances row with the new state and the applied request ids,
then the answers to calling orchestrations (control-queue messages), then the requests are deleted.
A crash before the row write re-applies the batch; after it, redelivered requests are recognised by
id and only answered again.
"""

from __future__ import annotations

import asyncio
import copy
import json
import uuid
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from devhost.durable.decider import event_message
from devhost.durable.entities import EntityRecord, entity_request, run_batch, scheduler_id, split_id
from devhost.durable.events import EventType, new_event
from devhost.durable.faults import CrashHook
from devhost.durable.names import HubNames, utcnow
from devhost.durable.registry import FunctionRegistry
from devhost.durable.store import QueuedMessage, TaskHubStore, gather_limited


class EntityDispatch:
    """Mixed into the Engine (which provides the store, registry, pools and ``send``)."""

    store: TaskHubStore
    registry: FunctionRegistry
    names: HubNames
    _orch_pool: ThreadPoolExecutor
    _pending: defaultdict[str, list[QueuedMessage]]
    _active: set[str]
    _entities: dict[str, EntityRecord]
    _crash: CrashHook

    async def send(self, queue: str, body: dict[str, Any], delay: float = 0.0) -> QueuedMessage:
        """Provided by the engine."""
        raise NotImplementedError

    async def load_entity(self, entity_id: str) -> EntityRecord:
        """The entity's committed record (memory first, then its Instances row)."""
        record = self._entities.get(entity_id)
        if record is None:
            row = await self.store.get_instance(entity_id)
            record = EntityRecord.from_row(entity_id, row)
            if row is not None:  # reads of entities that were never written are not remembered
                self._entities[entity_id] = record
        return record

    async def signal_entity(self, name: str, key: str, operation: str, input_text: str | None) -> None:
        """Durably queue a one-way operation (the client's ``signal_entity``)."""
        entity_id = scheduler_id(name, key)
        request = entity_request(
            uuid.uuid4().hex, operation, input_text, signal=True, parent=None, when=utcnow()
        )
        await self.send(
            self.names.control_queue_for(entity_id),
            {"kind": "entity", "instanceId": entity_id, "request": request},
        )

    async def _process_entity(self, entity_id: str) -> bool:
        messages = self._pending.pop(entity_id, [])
        if not messages:
            return False
        try:
            await self._apply_entity_batch(entity_id, messages)
        except Exception:
            self._pending[entity_id][:0] = messages
            raise
        return False

    async def _apply_entity_batch(self, entity_id: str, messages: list[QueuedMessage]) -> None:
        record = await self.load_entity(entity_id)
        fresh: list[dict[str, Any]] = []
        answers: list[tuple[dict[str, Any], dict[str, Any]]] = []
        for message in messages:
            request = message.body.get("request")
            if not isinstance(request, dict):
                continue  # not an operation (dropped with the batch)
            if str(request["id"]) in record.recent:
                earlier = record.recent[str(request["id"])]
                if earlier is not None:
                    answers.append((request, earlier))  # applied before a crash: answer again only
            elif all(request["id"] != r["id"] for r in fresh):
                fresh.append(request)
        if fresh:
            name, _ = split_id(entity_id)
            entity = self.registry.lookup_entity(name)
            working = copy.deepcopy(record)  # readers keep seeing the committed record until the write
            loop = asyncio.get_running_loop()
            responses = await loop.run_in_executor(self._orch_pool, run_batch, entity, working, fresh)
            if entity is not None:  # no entity function: every caller gets an error, nothing is stored
                await self.store.put_instance(working.to_row())
                self._entities[entity_id] = working
                self._crash.maybe("entity_written", name)
            answers.extend(zip(fresh, responses, strict=True))
        await gather_limited(
            [
                self.send(
                    self.names.control_queue_for(str(request["parent"])),
                    event_message(
                        str(request["parent"]),
                        request.get("parentExecution"),
                        new_event(
                            EventType.EventRaised, utcnow(), Name=str(request["id"]), Input=json.dumps(answer)
                        ),
                    ),
                )
                for request, answer in answers
                if not request.get("signal") and request.get("parent")
            ]
        )
        await gather_limited([self.store.delete_message(m) for m in messages if m.msg_id])

    async def purge_entity(self, entity_id: str) -> int:
        """Delete an idle entity's row (its state); 0 when unknown or operations are still queued."""
        if self._pending.get(entity_id) or entity_id in self._active:
            return 0
        self._entities.pop(entity_id, None)
        deleted = await self.store.delete_instance(entity_id)
        await self.store.delete_blobs(f"{entity_id}/")
        return 1 if deleted else 0
