"""Task hub persistence in Azure Storage (Azurite): History/Instances tables, queues, large-message blobs."""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import json
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from azure.core.exceptions import ResourceExistsError, ResourceNotFoundError
from azure.data.tables import UpdateMode
from azure.data.tables.aio import TableClient, TableServiceClient
from azure.storage.blob.aio import BlobServiceClient
from azure.storage.queue.aio import QueueClient, QueueServiceClient

from devhost.durable.events import LARGE_FIELDS, Event, EventType, from_row, kind_of, to_row
from devhost.durable.names import HubNames, escape_key, row_key
from devhost.durable.tablebatch import TableBatchWriter

#: strings longer than this (UTF-16 units would be 2x) move to a blob: 64 KiB per property limit
MAX_PROPERTY_CHARS = 30_000
#: queue messages are limited to 64 KiB; bigger payloads go to a blob
MAX_MESSAGE_CHARS = 45_000
BATCH = 100
INSTANCE_LARGE_FIELDS = ("Input", "Output", "CustomStatus")


@dataclass
class QueuedMessage:
    """A message read from (or written to) a queue, with what deleting it needs."""

    queue: str
    body: dict[str, Any]
    msg_id: str
    pop_receipt: str


class TaskHubStore:
    """Async access to one task hub's tables, queues and blobs."""

    def __init__(self, connection_string: str, names: HubNames) -> None:
        self.names = names
        self._tables = TableServiceClient.from_connection_string(connection_string)
        self._queues = QueueServiceClient.from_connection_string(connection_string)
        self._blobs = BlobServiceClient.from_connection_string(connection_string)
        self.history: TableClient = self._tables.get_table_client(names.history_table)
        self.instances: TableClient = self._tables.get_table_client(names.instances_table)
        self._queue_clients: dict[str, QueueClient] = {}
        self._container = self._blobs.get_container_client(names.large_messages_container)
        self._batch = TableBatchWriter(connection_string)

    async def create(self) -> None:
        """Create the tables, queues and container if missing."""
        for table in (self.names.history_table, self.names.instances_table):
            await self._tables.create_table_if_not_exists(table)
        for queue in [*self.names.control_queues, self.names.workitems_queue]:
            with contextlib.suppress(ResourceExistsError):
                await self.queue(queue).create_queue()
        with contextlib.suppress(ResourceExistsError):
            await self._container.create_container()

    async def close(self) -> None:
        """Close every client."""
        await self._batch.close()
        for client in self._queue_clients.values():
            await client.close()
        await self.history.close()
        await self.instances.close()
        await self._container.close()
        await self._tables.close()
        await self._queues.close()
        await self._blobs.close()

    def queue(self, name: str) -> QueueClient:
        """Cached queue client."""
        client = self._queue_clients.get(name)
        if client is None:
            client = self._queues.get_queue_client(name)
            self._queue_clients[name] = client
        return client

    # ---- blobs -------------------------------------------------------------------------
    async def put_blob(self, name: str, text: str) -> None:
        """Store gzip-compressed UTF-8 text."""
        await self._container.upload_blob(name, gzip.compress(text.encode("utf-8")), overwrite=True)

    async def get_blob(self, name: str) -> str:
        """Read back text written by put_blob."""
        downloader = await self._container.download_blob(name)
        return gzip.decompress(await downloader.readall()).decode("utf-8")

    async def delete_blobs(self, prefix: str) -> None:
        """Delete every blob under a prefix."""
        names = [b.name async for b in self._container.list_blobs(name_starts_with=prefix)]
        for name in names:
            with contextlib.suppress(ResourceNotFoundError):
                await self._container.delete_blob(name)

    async def _spill(self, row: dict[str, Any], fields: Iterable[str], prefix: str) -> None:
        for field in fields:
            value = row.get(field)
            if isinstance(value, str) and len(value) > MAX_PROPERTY_CHARS:
                name = f"{prefix}-{field}.json.gz"
                await self.put_blob(name, value)
                del row[field]
                row[f"{field}BlobName"] = name

    async def _unspill(self, row: dict[str, Any]) -> dict[str, Any]:
        out = dict(row)
        for key, value in row.items():
            if key.endswith("BlobName") and isinstance(value, str) and value:
                out[key[: -len("BlobName")]] = await self.get_blob(value)
        return out

    # ---- history -----------------------------------------------------------------------
    async def load_history(self, instance_id: str, execution_id: str) -> list[Event]:
        """Committed events of one execution; rows after the last OrchestratorCompleted are dropped."""
        pk = escape_key(instance_id).replace("'", "''")
        rows = [r async for r in self.history.query_entities(f"PartitionKey eq '{pk}'")]
        rows = [r for r in rows if r.get("ExecutionId") == execution_id]
        rows.sort(key=lambda r: str(r["RowKey"]))
        last_done = -1
        for index, row in enumerate(rows):
            if row["EventType"] == EventType.OrchestratorCompleted.name:
                last_done = index
        stale = rows[last_done + 1 :]
        if stale:  # a crash interrupted that checkpoint: its messages are redelivered and it reruns
            await self._delete_rows(stale)
        events = []
        for row in rows[: last_done + 1]:
            events.append(from_row(await self._unspill(dict(row))))
        return events

    async def append_history(
        self, instance_id: str, execution_id: str, start: int, events: Sequence[Event]
    ) -> None:
        """Write events as rows start, start+1, ... in transactions of at most 100 (in order)."""
        rows = []
        for offset, event in enumerate(events):
            row = to_row(event, instance_id, execution_id, start + offset)
            await self._spill(
                row, LARGE_FIELDS, f"{instance_id}/history-{row_key(start + offset)}-{kind_of(event).name}"
            )
            rows.append(row)
        for begin in range(0, len(rows), BATCH):
            chunk = rows[begin : begin + BATCH]
            if self._batch.available:
                await self._batch.upsert(self.names.history_table, chunk)
            else:
                await self.history.submit_transaction([("upsert", row) for row in chunk])

    async def purge_history(self, instance_id: str, keep_execution: str | None = None) -> int:
        """Delete an instance's history rows (all, or all but one execution's); returns rows deleted."""
        pk = escape_key(instance_id).replace("'", "''")
        rows = [
            r
            async for r in self.history.query_entities(
                f"PartitionKey eq '{pk}'", select=["PartitionKey", "RowKey", "ExecutionId"]
            )
        ]
        if keep_execution is not None:
            rows = [r for r in rows if r.get("ExecutionId") != keep_execution]
        await self._delete_rows(rows)
        return len(rows)

    async def _delete_rows(self, rows: Sequence[dict[str, Any]]) -> None:
        for begin in range(0, len(rows), BATCH):
            chunk = rows[begin : begin + BATCH]
            ops = [("delete", {"PartitionKey": r["PartitionKey"], "RowKey": r["RowKey"]}) for r in chunk]
            try:
                await self.history.submit_transaction(ops)
            except Exception:
                for r in chunk:
                    with contextlib.suppress(ResourceNotFoundError):
                        await self.history.delete_entity(r["PartitionKey"], r["RowKey"])

    # ---- instances ---------------------------------------------------------------------
    async def get_instance(self, instance_id: str) -> dict[str, Any] | None:
        """The Instances row (large fields resolved) or None."""
        try:
            row = await self.instances.get_entity(escape_key(instance_id), "")
        except ResourceNotFoundError:
            return None
        return await self._unspill(dict(row))

    async def put_instance(self, row: dict[str, Any]) -> None:
        """Upsert (replace) an Instances row."""
        row = dict(row)
        row["PartitionKey"] = escape_key(str(row["InstanceId"]))
        row["RowKey"] = ""
        row = {k: v for k, v in row.items() if v is not None}
        await self._spill(row, INSTANCE_LARGE_FIELDS, f"{row['InstanceId']}/instance")
        if self._batch.available:
            await self._batch.upsert(self.names.instances_table, [row])
        else:
            await self.instances.upsert_entity(row, mode=UpdateMode.REPLACE)

    async def delete_instance(self, instance_id: str) -> bool:
        """Delete the Instances row; False when it did not exist."""
        try:
            await self.instances.delete_entity(escape_key(instance_id), "")
        except ResourceNotFoundError:
            return False
        return True

    async def query_instances(
        self, query_filter: str | None, top: int | None, continuation: str | None
    ) -> tuple[list[dict[str, Any]], str | None]:
        """One page of Instances rows and the next continuation token."""
        kwargs: dict[str, Any] = {"results_per_page": top or 1000}
        if query_filter:
            pager = self.instances.query_entities(query_filter, **kwargs).by_page(
                continuation_token=_tok(continuation)
            )
        else:
            pager = self.instances.list_entities(**kwargs).by_page(continuation_token=_tok(continuation))
        rows: list[dict[str, Any]] = []
        async for page in pager:
            async for row in page:
                rows.append(await self._unspill(dict(row)))
            break
        token = getattr(pager, "continuation_token", None)
        return rows, (json.dumps(token) if token else None)

    # ---- queues ------------------------------------------------------------------------
    async def send(self, queue: str, body: dict[str, Any], delay_seconds: int = 0) -> QueuedMessage:
        """Send a JSON message (large ones through a blob); returns its id and pop receipt."""
        text = json.dumps(body, separators=(",", ":"))
        if len(text) > MAX_MESSAGE_CHARS:
            name = f"{body.get('instanceId', 'message')}/message-{uuid.uuid4().hex}.json.gz"
            await self.put_blob(name, text)
            text = json.dumps({"$blob": name})
            body = dict(body, **{"$blobName": name})
        sent = await self.queue(queue).send_message(text, visibility_timeout=max(0, delay_seconds) or None)
        return QueuedMessage(queue, body, str(sent.id), str(sent.pop_receipt))

    async def delete_message(self, message: QueuedMessage) -> None:
        """Delete a message; already gone is fine."""
        with contextlib.suppress(ResourceNotFoundError):
            await self.queue(message.queue).delete_message(message.msg_id, message.pop_receipt)
        blob = message.body.get("$blobName")
        if isinstance(blob, str):
            with contextlib.suppress(ResourceNotFoundError):
                await self._container.delete_blob(blob)

    async def drain(self, queue: str, visibility_seconds: int = 60) -> list[QueuedMessage]:
        """Receive every visible message of a queue (they stay invisible while we work on them)."""
        client = self.queue(queue)
        out: list[QueuedMessage] = []
        while True:
            batch = [
                m
                async for m in client.receive_messages(
                    messages_per_page=32, visibility_timeout=visibility_seconds
                )
            ]
            if not batch:
                return out
            for m in batch:
                body = json.loads(m.content)
                if "$blob" in body:
                    name = body["$blob"]
                    body = json.loads(await self.get_blob(name))
                    body["$blobName"] = name
                out.append(QueuedMessage(queue, body, str(m.id), str(m.pop_receipt)))
            if len(out) > 1_000_000:
                return out


def _tok(continuation: str | None) -> Any:
    if not continuation:
        return None
    try:
        return json.loads(continuation)
    except ValueError:
        return continuation


async def gather_limited(coros: Sequence[Any], limit: int = 32) -> list[Any]:
    """Await coroutines with bounded concurrency, results in order."""
    semaphore = asyncio.Semaphore(limit)

    async def one(coro: Any) -> Any:
        async with semaphore:
            return await coro

    return list(await asyncio.gather(*(one(c) for c in coros)))
