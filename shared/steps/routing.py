"""Traffic routing of an alias under a rollout: which version serves a request, which one shadows it.

A request with a routing key always lands on the same side of the split for the whole rollout
(the key is hashed with the rollout id, and a linear rollout only raises the share, so a key that
reached the candidate stays there); a request without one is routed at random.
"""

from __future__ import annotations

import hashlib
import logging
import random
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from shared.errors import ValidationError
from shared.storage.records import ModelRecord

#: Longest routing key taken (longer ones are a client bug, not a key).
MAX_KEY = 256
#: Shadow scorings waiting at most; past it a mirrored copy is dropped rather than queued.
MAX_SHADOW_BACKLOG = 64
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Route:
    """How one request is served."""

    served: ModelRecord
    production: ModelRecord
    rollout_id: str | None = None
    shadow: ModelRecord | None = None

    @property
    def routed(self) -> str:
        """production or candidate: the side of the split the answer came from."""
        return "candidate" if self.served.version != self.production.version else "production"


def bucket(rollout_id: str, key: str) -> float:
    """A key's fixed place in [0, 1) for one rollout."""
    digest = hashlib.sha256(f"{rollout_id}\x00{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def to_candidate(rollout_id: str, share: float, key: str | None) -> bool:
    """True when this request goes to (or is mirrored to) the candidate."""
    place = random.random() if key is None else bucket(rollout_id, key)
    return place < share


def routing_key(payload: object, given: str | None = None) -> str | None:
    """The request's routing key: ``given`` (a header), else the body's ``routing_key``; 400 if bad."""
    key = given
    if key is None and isinstance(payload, dict):
        key = payload.get("routing_key")
    if key is None:
        return None
    if not isinstance(key, (str, int)) or isinstance(key, bool) or len(str(key)) > MAX_KEY:
        raise ValidationError(
            f"routing_key must be a string of at most {MAX_KEY} characters", field="routing_key"
        )
    return str(key)


class ShadowPool:
    """Scores mirrored copies in the background; a full backlog drops copies instead of slowing callers."""

    def __init__(self, workers: int = 2) -> None:
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="shadow")
        self._lock = threading.Lock()
        self._backlog = 0
        self.dropped = 0

    def submit(self, work: Callable[[], None]) -> bool:
        """Queue ``work``; False when it was dropped."""
        with self._lock:
            if self._backlog >= MAX_SHADOW_BACKLOG:
                self.dropped += 1
                return False
            self._backlog += 1

        def run() -> None:
            try:
                work()
            except Exception:  # the candidate's failure is evidence, never the caller's problem
                log.warning("shadow scoring failed", exc_info=True)
            finally:
                with self._lock:
                    self._backlog -= 1

        self._pool.submit(run)
        return True
