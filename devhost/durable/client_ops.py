"""Operations behind the management API and the SDK client: status, start, events, purge."""

from __future__ import annotations

import uuid
from collections import OrderedDict
from typing import Any

from devhost.durable.decider import event_message, execution_started
from devhost.durable.entities import is_entity_id
from devhost.durable.events import EventType, new_event
from devhost.durable.names import HubNames, utcnow
from devhost.durable.state import InstanceState
from devhost.durable.store import QueuedMessage, TaskHubStore


class InstanceConflictError(Exception):
    """An instance with that id is still running."""


class ClientOperations:
    """Mixed into the Engine: what clients may do to instances (state lives in the engine)."""

    store: TaskHubStore
    names: HubNames
    _cache: dict[str, InstanceState]
    _published: dict[str, InstanceState]
    _finished: OrderedDict[str, None]

    def deliver(self, message: QueuedMessage) -> None:
        """Provided by the engine."""
        raise NotImplementedError

    async def send(self, queue: str, body: dict[str, Any], delay: float = 0.0) -> QueuedMessage:
        """Provided by the engine."""
        raise NotImplementedError

    def _publish(self, state: InstanceState) -> None:
        raise NotImplementedError

    async def _write_row(self, state: InstanceState) -> None:
        raise NotImplementedError

    async def get_state(self, instance_id: str, with_history: bool = False) -> InstanceState | None:
        """Current state (from memory when this process owns it, else from the Instances table)."""
        published = self._published.get(instance_id)
        if published is not None:
            return published
        row = await self.store.get_instance(instance_id)
        if row is None:
            return None
        state = InstanceState.from_row(row)
        if with_history:
            state.reset_history(await self.store.load_history(instance_id, state.execution_id))
            state.reconcile()
        return state

    async def start_instance(
        self, name: str, instance_id: str | None, stored_input: str | None, version: str | None = None
    ) -> str:
        """Create (or replace a finished) instance of a version and queue its ExecutionStarted."""
        instance_id = instance_id or uuid.uuid4().hex
        existing = await self.get_state(instance_id)
        if existing is not None and not existing.terminal:
            raise InstanceConflictError(f"An instance with ID '{instance_id}' already exists.")
        if existing is not None:
            await self.store.purge_history(instance_id)
        execution_id = uuid.uuid4().hex
        now = utcnow()
        started = execution_started(name, instance_id, execution_id, stored_input, now, version=version)
        message = await self.store.send(
            self.names.control_queue_for(instance_id), event_message(instance_id, execution_id, started)
        )
        state = InstanceState(
            instance_id,
            name,
            execution_id,
            status="Pending",
            input_text=stored_input,
            created=now,
            updated=now,
            version=version or "",
        )
        await self._write_row(state)
        self._cache[instance_id] = state
        self._publish(state)
        self.deliver(message)
        return instance_id

    async def send_event(self, instance_id: str, kind: EventType, **fields: Any) -> None:
        """Durably send EventRaised / ExecutionTerminated / Suspended / Resumed to an instance."""
        event = new_event(kind, utcnow(), **fields)
        await self.send(self.names.control_queue_for(instance_id), event_message(instance_id, None, event))

    async def purge_entity(self, entity_id: str) -> int:
        """Provided by the engine (entity_dispatch)."""
        raise NotImplementedError

    async def purge(self, instance_id: str) -> int:
        """Delete a finished instance's history, row and blobs (an idle entity's state); instances deleted."""
        if is_entity_id(instance_id):
            return await self.purge_entity(instance_id)
        state = await self.get_state(instance_id)
        if state is None or not state.terminal:
            return 0
        await self.store.purge_history(instance_id)
        await self.store.delete_instance(instance_id)
        await self.store.delete_blobs(f"{instance_id}/")
        self._cache.pop(instance_id, None)
        self._published.pop(instance_id, None)
        return 1
