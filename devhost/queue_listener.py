"""Queue triggers on Azure Storage queues, with the Functions host's queue semantics.

Polling: a batch of ``batchSize`` messages; a new batch is fetched once the in-flight count falls
to ``newBatchThreshold``; an empty queue is polled with exponential back-off from 100 ms up to
``maxPollingInterval`` (at most 2 s locally). A message is fetched invisible for 10 minutes; on
success it is deleted; on failure it becomes visible again after ``visibilityTimeout``; the
attempt that reaches ``maxDequeueCount`` copies it (same text) to ``<queue>-poison`` and deletes it.
A message that is not valid for ``messageEncoding`` (base64) never runs: like the WebJobs Storage
extension's MessageDecodingFailed handler, the host copies its raw text to ``-poison`` at once. A
base64 trigger on that poison queue cannot decode it either, so it moves on to ``-poison-poison``;
apps that must see every message read raw text (``messageEncoding: none``) and decode themselves.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from azure.core.exceptions import ResourceNotFoundError
from azure.functions.queue import QueueMessage as FuncQueueMessage
from azure.storage.queue import QueueClient, QueueMessage

from devhost.annotations import wants
from devhost.hostjson import QueueOptions
from devhost.loader import FunctionSpec
from devhost.runner import FunctionRunner
from devhost.storage import decode_message, ensure_queue, queue_service

log = logging.getLogger("devhost.queues")
#: How long a fetched message stays invisible while its function runs.
PROCESSING_VISIBILITY = timedelta(minutes=10)
MIN_POLLING_INTERVAL = timedelta(milliseconds=100)
SHUTDOWN_GRACE_SECONDS = 30.0


async def _stop(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


def trigger_argument(
    spec: FunctionSpec,
    body: bytes,
    *,
    id: str | None = None,
    dequeue_count: int = 1,
    insertion_time: datetime | None = None,
    expiration_time: datetime | None = None,
    time_next_visible: datetime | None = None,
    pop_receipt: str | None = None,
) -> Any:
    """What the trigger parameter receives: ``str``/``bytes`` when so annotated, else a QueueMessage."""
    if wants(spec.user_function, spec.trigger.name, str):
        return body.decode("utf-8")
    if wants(spec.user_function, spec.trigger.name, bytes):
        return body
    now = datetime.now(UTC)
    return FuncQueueMessage(  # type: ignore[no-untyped-call]
        id=id or str(uuid.uuid4()),
        body=body,
        dequeue_count=dequeue_count,
        insertion_time=insertion_time or now,
        expiration_time=expiration_time or now + timedelta(days=7),
        time_next_visible=time_next_visible,
        pop_receipt=pop_receipt,
    )


class QueueListener:
    """Polls one function's queue and runs it per message."""

    def __init__(self, spec: FunctionSpec, runner: FunctionRunner, options: QueueOptions) -> None:
        self.spec = spec
        self.runner = runner
        self.options = options
        self.queue_name = str(spec.trigger.get("queueName"))
        service = queue_service(runner.connection(spec, spec.trigger.name))
        self.client: QueueClient = service.get_queue_client(self.queue_name)
        self.poison: QueueClient = service.get_queue_client(f"{self.queue_name}-poison")
        self._in_flight: set[asyncio.Task[None]] = set()
        self._slot_free = asyncio.Event()

    async def run(self) -> None:
        """Poll until cancelled; in-flight messages finish (or reappear after their visibility timeout)."""
        delay = MIN_POLLING_INTERVAL
        cap = max(self.options.max_polling_interval, MIN_POLLING_INTERVAL)
        try:
            while True:
                if len(self._in_flight) > self.options.new_batch_threshold:
                    self._slot_free.clear()
                    await self._slot_free.wait()
                    continue
                messages = await asyncio.to_thread(self._fetch)
                if messages:
                    delay = MIN_POLLING_INTERVAL
                    for message in messages:
                        task = asyncio.create_task(self._guarded(message))
                        self._in_flight.add(task)
                        task.add_done_callback(self._done)
                    continue
                await asyncio.sleep(delay.total_seconds())
                delay = min(delay * 2, cap)
        finally:
            # Let running functions finish (bounded); unfinished messages reappear after their
            # visibility timeout and run again, as on Azure after a host restart.
            if self._in_flight:
                await asyncio.wait(self._in_flight, timeout=SHUTDOWN_GRACE_SECONDS)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._in_flight.discard(task)
        self._slot_free.set()

    def _fetch(self) -> list[QueueMessage]:
        try:
            pages = self.client.receive_messages(
                messages_per_page=self.options.batch_size,
                max_messages=self.options.batch_size,
                visibility_timeout=int(PROCESSING_VISIBILITY.total_seconds()),
            )
            return list(pages)
        except ResourceNotFoundError:
            return []  # the queue does not exist yet: keep polling, like the host
        except Exception as exc:
            log.warning("polling queue '%s' failed: %s", self.queue_name, exc)
            return []

    async def _guarded(self, message: QueueMessage) -> None:
        try:
            await self._process(message)
        except Exception:
            # Storage failed while settling the message: it reappears after its visibility timeout.
            log.exception("queue '%s' message %s could not be settled", self.queue_name, message.id)

    async def _process(self, message: QueueMessage) -> None:
        count = int(message.dequeue_count or 1)
        if count > self.options.max_dequeue_count:
            await asyncio.to_thread(self._to_poison, message)
            return
        try:
            body = decode_message(str(message.content), self.options)
        except ValueError as exc:
            log.error(
                "queue '%s' message %s cannot be decoded (%s); moving it to '%s-poison'",
                self.queue_name, message.id, exc, self.queue_name,
            )  # fmt: skip
            await asyncio.to_thread(self._to_poison, message)
            return
        argument = trigger_argument(
            self.spec,
            body,
            id=message.id,
            dequeue_count=count,
            insertion_time=message.inserted_on,
            expiration_time=message.expires_on,
            time_next_visible=message.next_visible_on,
            pop_receipt=message.pop_receipt,
        )
        keeper = asyncio.create_task(self._keep_invisible(message))
        try:
            await self.runner.run(
                self.spec, argument, reason=f"New queue message detected on '{self.queue_name}'."
            )
        except Exception:
            await _stop(keeper)
            await asyncio.to_thread(self._failed, message, count)
            return
        await _stop(keeper)
        await asyncio.to_thread(self._delete, message)

    async def _keep_invisible(self, message: QueueMessage) -> None:
        # Like the host, keep a long-running message invisible (renewing halfway through the
        # visibility window) so no other poller picks it up while the function still runs.
        seconds = int(PROCESSING_VISIBILITY.total_seconds())
        while True:
            await asyncio.sleep(seconds / 2)
            try:
                receipt = await asyncio.to_thread(
                    self.client.update_message, message.id, message.pop_receipt, visibility_timeout=seconds
                )
            except Exception as exc:
                log.warning(
                    "queue '%s' message %s: visibility renewal failed: %s", self.queue_name, message.id, exc
                )
                return
            message.pop_receipt = receipt.pop_receipt
            message.next_visible_on = receipt.next_visible_on

    def _delete(self, message: QueueMessage) -> None:
        try:
            self.client.delete_message(message.id, message.pop_receipt)
        except ResourceNotFoundError:
            log.warning("queue '%s' message %s was already gone", self.queue_name, message.id)

    def _failed(self, message: QueueMessage, count: int) -> None:
        if count >= self.options.max_dequeue_count:
            self._to_poison(message)
            return
        try:
            self.client.update_message(
                message.id,
                message.pop_receipt,
                visibility_timeout=int(self.options.visibility_timeout.total_seconds()),
            )
        except ResourceNotFoundError:
            log.warning("queue '%s' message %s vanished before its release", self.queue_name, message.id)

    def _to_poison(self, message: QueueMessage) -> None:
        log.warning(
            "Message has reached MaxDequeueCount of %d. Moving message to queue '%s-poison'.",
            self.options.max_dequeue_count, self.queue_name,
        )  # fmt: skip
        ensure_queue(self.poison)
        self.poison.send_message(str(message.content))
        self._delete(message)
