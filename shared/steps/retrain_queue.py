"""Retrain queue messages in and out of ``retrain-requests-poison``, with the real attempt count.

The app reads the queue with host.json ``messageEncoding: none`` and decodes base64 itself. With
the host's default (base64) a message that is not base64 never reaches the app: the Functions
host moves its raw text straight to ``-poison`` (WebJobs Storage extension, MessageDecodingFailed
handler), where the poison trigger cannot decode it either and the host moves it on to
``-poison-poison`` with no record. Reading raw text, every message reaches the app once.

A message the app cannot use (malformed, or whose run could not be started on its last attempt)
is poisoned by the app itself: one envelope on ``-poison`` carrying the body, the reason and the
dequeue count it really had (a copy made by the host would start again at count 1). The poison
trigger turns each poison message into one audit entry.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any

from shared.steps import audit
from shared.storage.factory import Storage

AUDIT_ENTITY = "queue:retrain-requests"
#: Must equal host.json extensions.queues.maxDequeueCount (a unit test keeps them equal).
MAX_DEQUEUE_COUNT = 5
#: Envelope marker: a poison message written by the app, not moved by the host.
ENVELOPE_KEY = "mlops_poison"
#: How much of a message body an audit entry keeps.
MAX_KEPT_BODY = 4000


def message_text(raw: bytes) -> str:
    """A queue message's text: base64 UTF-8 is decoded (what our senders write), anything else kept as is."""
    try:
        return base64.b64decode(raw, validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        return raw.decode("utf-8", errors="replace")


@dataclass(frozen=True)
class PoisonReport:
    """What the poison trigger records about one poison message."""

    body: str
    reason: str
    message_id: str | None
    dequeue_count: int | None


def poison(storage: Storage, message_id: str, dequeue_count: int, body: str, reason: str) -> None:
    """Move a retrain message to ``-poison`` once, as an envelope with its reason and real dequeue count."""
    envelope = {
        ENVELOPE_KEY: {"message_id": message_id, "dequeue_count": dequeue_count, "reason": reason[:2000]},
        "body": body[:MAX_KEPT_BODY],
    }
    storage.retrain_requests.poison().send(envelope)


def read_poison(text: str, message_id: str) -> PoisonReport:
    """The report for a poison message: our envelope, or a message the host moved after its retries."""
    try:
        data: Any = json.loads(text)
    except ValueError:
        data = None
    meta = data.get(ENVELOPE_KEY) if isinstance(data, dict) else None
    if isinstance(meta, dict):
        count = meta.get("dequeue_count")
        return PoisonReport(
            body=str(data.get("body", "")),
            reason=str(meta.get("reason", "")),
            message_id=str(meta.get("message_id")) if meta.get("message_id") else message_id,
            dequeue_count=count if isinstance(count, int) else None,
        )
    # Only a function that could not run at all (crash, timeout) leaves the move to the host; the
    # host's copy starts at dequeue count 1, so the true count is unknown beyond "the maximum".
    return PoisonReport(
        body=text[:MAX_KEPT_BODY],
        reason=f"moved by the host after {MAX_DEQUEUE_COUNT} failed attempts (the function did not finish)",
        message_id=message_id,
        dequeue_count=None,
    )


def record_poison(storage: Storage, report: PoisonReport) -> None:
    """One audit entry per poison message: why, how many attempts, and the body itself."""
    audit.record(
        storage,
        AUDIT_ENTITY,
        "poison",
        report.reason,
        {
            "message_id": report.message_id,
            "dequeue_count": report.dequeue_count,
            "max_dequeue_count": MAX_DEQUEUE_COUNT,
            "body": report.body,
        },
        actor="queue",
    )
