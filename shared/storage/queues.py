"""MessageQueue: JSON payloads sent as base64 text, the encoding Functions queue triggers expect."""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import threading
from dataclasses import dataclass
from typing import Any

from azure.core.exceptions import ResourceExistsError
from azure.storage.queue import QueueClient, QueueServiceClient

from shared.errors import ValidationError
from shared.storage.errors import mapped_errors
from shared.storage.names import validate_queue_name

POISON_SUFFIX = "-poison"
#: Azure's limit on one message's stored text.
MAX_MESSAGE_BYTES = 64 * 1024

_created_queues: set[tuple[str, str]] = set()
_created_lock = threading.Lock()


def encode_message(payload: Any) -> str:
    """Base64 text for a payload: a str is sent as its UTF-8 text, anything else as JSON."""
    text = payload if isinstance(payload, str) else json.dumps(payload, separators=(",", ":"))
    return base64.b64encode(text.encode("utf-8")).decode("ascii")


def decode_message(content: str) -> str:
    """The text inside a base64 message (ValidationError when it is not base64 UTF-8)."""
    try:
        return base64.b64decode(content, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise ValidationError(f"queue message is not base64 UTF-8 text: {content[:40]!r}") from exc


@dataclass(frozen=True)
class Message:
    """A received or peeked message with its decoded text."""

    id: str
    text: str
    dequeue_count: int
    pop_receipt: str | None = None

    def json(self) -> Any:
        """The text parsed as JSON (ValidationError when it is not JSON)."""
        try:
            return json.loads(self.text)
        except json.JSONDecodeError as exc:
            raise ValidationError(f"queue message {self.id} is not JSON: {self.text[:40]!r}") from exc


class MessageQueue:
    """One storage queue; messages are base64 text on the wire, JSON or plain text inside."""

    def __init__(self, queue_service_client: QueueServiceClient, name: str) -> None:
        self.name = validate_queue_name(name)
        self._service = queue_service_client
        self._client: QueueClient = queue_service_client.get_queue_client(name)

    @property
    def poison_name(self) -> str:
        """Name of the queue the Functions host moves failing messages to."""
        return validate_queue_name(self.name + POISON_SUFFIX)

    def poison(self) -> MessageQueue:
        """The poison queue of this queue."""
        return MessageQueue(self._service, self.poison_name)

    def ensure(self) -> None:
        """Create the queue unless this process already did (idempotent)."""
        key = (self._service.url, self.name)
        with _created_lock:
            if key in _created_queues:
                return
        # An existing queue (409) is the idempotent case; anything else is real.
        with mapped_errors("queue", f"queue {self.name}"), contextlib.suppress(ResourceExistsError):
            self._client.create_queue()
        with _created_lock:
            _created_queues.add(key)

    def send(self, payload: Any, *, visibility_timeout: int | None = None, ttl_s: int | None = None) -> str:
        """Send a payload (str as-is, else JSON) base64-encoded; returns the message id."""
        content = encode_message(payload)
        if len(content) > MAX_MESSAGE_BYTES:
            raise ValidationError(
                f"queue {self.name}: message is {len(content)} bytes encoded, over {MAX_MESSAGE_BYTES}",
                field="message",
            )
        self.ensure()
        with mapped_errors("queue", f"queue {self.name}"):
            sent = self._client.send_message(
                content, visibility_timeout=visibility_timeout, time_to_live=ttl_s
            )
        return str(sent.id)

    def receive(self, max_messages: int = 1, *, visibility_timeout: int | None = None) -> list[Message]:
        """Dequeue up to ``max_messages`` (they reappear after the visibility timeout unless deleted)."""
        self.ensure()
        with mapped_errors("queue", f"queue {self.name}"):
            # max_messages caps the total; the service hands out at most 32 per request.
            items = self._client.receive_messages(
                messages_per_page=min(max(max_messages, 1), 32),
                max_messages=max_messages,
                visibility_timeout=visibility_timeout,
            )
            got = list(items)
        return [
            Message(str(m.id), decode_message(m.content), int(m.dequeue_count or 0), m.pop_receipt)
            for m in got
        ]

    def peek(self, max_messages: int = 1) -> list[Message]:
        """Look at up to ``max_messages`` without dequeuing them."""
        self.ensure()
        with mapped_errors("queue", f"queue {self.name}"):
            items = self._client.peek_messages(max_messages=max_messages)
        return [Message(str(m.id), decode_message(m.content), int(m.dequeue_count or 0)) for m in items]

    def delete(self, message: Message) -> None:
        """Delete a received message (it needs its pop receipt)."""
        if message.pop_receipt is None:
            raise ValidationError(f"message {message.id} was peeked, not received: cannot delete it")
        with mapped_errors("queue", f"queue {self.name}"):
            self._client.delete_message(message.id, message.pop_receipt)
