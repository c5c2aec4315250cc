"""Audit entries: who did what to which entity, and why (the `audit` table)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from shared.storage.factory import Storage
from shared.storage.records import AuditRecord


def record(storage: Storage, entity: str, action: str, reason: str, data: dict[str, Any], actor: str) -> None:
    """Append an audit entry; RowKey = time + uuid, so entries sort by time and never collide."""
    now = datetime.now(UTC)
    storage.audit.insert(
        AuditRecord(
            entity=entity,
            entry_id=f"{now:%Y%m%dT%H%M%S%f}-{uuid.uuid4().hex[:8]}",
            action=action,
            actor=actor,
            reason=reason,
            at=now,
            data=data,
        )
    )
