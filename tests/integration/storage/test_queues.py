"""MessageQueue against real Azurite: base64 on the wire, decoded on receive and peek."""

from __future__ import annotations

import base64
import json

import pytest

from shared.errors import ValidationError
from shared.storage.clients import StorageClients
from shared.storage.queues import MessageQueue


def test_a_sent_dict_is_base64_json_in_the_raw_queue_and_decodes_back(
    clients: StorageClients, unique: str
) -> None:
    queue = MessageQueue(clients.queue, f"q-{unique}")
    payload = {"model": "iris", "window": "2026-11-21T00", "reason": "drift ✓"}
    queue.send(payload)

    raw = clients.queue.get_queue_client(f"q-{unique}").peek_messages(max_messages=1)[0]
    assert json.loads(base64.b64decode(raw.content, validate=True)) == payload

    peeked = queue.peek()
    assert [m.json() for m in peeked] == [payload]
    received = queue.receive()
    assert len(received) == 1 and received[0].json() == payload
    assert received[0].dequeue_count == 1
    queue.delete(received[0])
    assert queue.peek() == []


def test_strings_are_sent_as_text(clients: StorageClients, unique: str) -> None:
    queue = MessageQueue(clients.queue, f"q-{unique}")
    queue.send("plain text")
    raw = clients.queue.get_queue_client(f"q-{unique}").peek_messages()[0]
    assert base64.b64decode(raw.content) == b"plain text"
    assert queue.receive()[0].text == "plain text"


def test_receive_takes_at_most_max_messages(clients: StorageClients, unique: str) -> None:
    queue = MessageQueue(clients.queue, f"q-{unique}")
    for i in range(5):
        queue.send({"i": i})
    got = queue.receive(max_messages=2, visibility_timeout=30)
    assert len(got) == 2
    assert len(queue.peek(max_messages=32)) == 3, "the other three are still visible"


def test_poison_queue_name_and_ensure_is_idempotent(clients: StorageClients, unique: str) -> None:
    queue = MessageQueue(clients.queue, f"retrain-{unique}")
    assert queue.poison_name == f"retrain-{unique}-poison"
    poison = queue.poison()
    poison.ensure()
    poison.ensure()
    names = {q.name for q in clients.queue.list_queues(name_starts_with=f"retrain-{unique}")}
    assert names == {f"retrain-{unique}-poison"}


@pytest.mark.parametrize("bad", ["ab", "Upper", "a--b", "-ab", "ab-", "a_b", "q" * 64])
def test_bad_queue_names_are_rejected(clients: StorageClients, bad: str) -> None:
    with pytest.raises(ValidationError):
        MessageQueue(clients.queue, bad)


def test_oversized_messages_are_refused(clients: StorageClients, unique: str) -> None:
    queue = MessageQueue(clients.queue, f"q-{unique}")
    with pytest.raises(ValidationError, match="over"):
        queue.send("x" * 60_000)  # 80,000 characters once base64-encoded
    assert queue.peek() == []
