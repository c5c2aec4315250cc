"""Retrain requests on drift or a model-quality drop: the queue message, its parser, dedupe per
window and cooldown per model.

Both monitors send through ``decide_retrain``: one window id names one retrain run
(``retrain_instance_id``), whichever monitor asks first, and both share the model's ledger, so the
cooldown counts requests of either kind.

A window's request is sent at most once in sequence: the window's drift row records ``sent`` and a
re-run finds it. Windows of one model are serialised through the model's ledger row (ETag-guarded):
the first to claim it sends, later ones inside ``cooldown_hours`` record ``cooldown``. A crash
between claim and record makes a re-run send again; that is safe because the retrain trigger
starts ``retrain_instance_id(model, window)``, so duplicate messages start one run.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

import pydantic
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from shared.errors import ValidationError
from shared.pipeline.spec import PipelineSpec
from shared.steps import audit
from shared.steps.monitoring_records import LEDGER_PARTITION, RetrainLedger, retrain_ledgers
from shared.storage.factory import Storage

MAX_INSTANCE_ID = 100
_NAME = r"^[a-z0-9][a-z0-9-]{1,62}$"
#: Window ids become RowKeys, blob names and instance ids: letters, digits, '-', '_', '+', ':'.
WINDOW_PATTERN = r"^[0-9A-Za-z][0-9A-Za-z_+:-]{0,99}$"
_UNSAFE = re.compile(r"[^A-Za-z0-9-]+")


class RetrainRequest(BaseModel):
    """A ``retrain-requests`` queue message: retrain ``pipeline`` because ``model`` drifted in ``window``."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    model: str = Field(pattern=_NAME, description="Model that drifted.")
    pipeline: str = Field(pattern=_NAME, description="Pipeline to retrain.")
    window: str = Field(pattern=WINDOW_PATTERN, description="Drift window id, e.g. 2026-11-21T13.")
    reason: str = Field(min_length=1, max_length=2000, description="Why retraining was requested.")
    requested_at: AwareDatetime = Field(description="When the request was made (UTC).")

    @property
    def instance_id(self) -> str:
        """The orchestration instance id of the retraining run this request starts."""
        return retrain_instance_id(self.model, self.window)

    def to_message(self) -> dict[str, Any]:
        """The JSON payload sent on the queue."""
        return self.model_dump(mode="json")


def retrain_instance_id(model: str, window: str) -> str:
    """Deterministic instance id of the retraining run for (model, window): duplicates start one run."""
    raw = f"{model}-retrain-{window}"
    safe = _UNSAFE.sub("-", raw).strip("-")
    if len(safe) > MAX_INSTANCE_ID or not safe:
        digest = hashlib.sha256(raw.encode()).hexdigest()[:16]
        safe = f"{safe[: MAX_INSTANCE_ID - 17]}-{digest}"
    return safe


def parse_retrain_request(message: str | bytes | Mapping[str, Any]) -> RetrainRequest:
    """A queue message (JSON text or dict) as a RetrainRequest; ValidationError naming the bad field."""
    if isinstance(message, str | bytes):
        try:
            data: Any = json.loads(message)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ValidationError(f"retrain request is not JSON: {exc}", field="message") from None
    else:
        data = dict(message)
    if not isinstance(data, dict):
        raise ValidationError("retrain request must be a JSON object", field="message")
    try:
        return RetrainRequest.model_validate(data)
    except pydantic.ValidationError as exc:
        err = exc.errors(include_url=False)[0]
        field = ".".join(str(p) for p in err["loc"]) or "message"
        raise ValidationError(f"retrain request field {field!r}: {err['msg']}", field=field) from None


def _audit(storage: Storage, model: str, decision: dict[str, Any], now: datetime, actor: str) -> None:
    reason = f"{decision['status']}: {decision['reason']}"
    data = {**decision, "checked_at": now.isoformat()}
    audit.record(storage, f"model:{model}", "retrain_request", reason, data, actor=actor)


def decide_retrain(
    storage: Storage,
    spec: PipelineSpec,
    model: str,
    window: str,
    drift: bool,
    reason: str,
    existing: Mapping[str, Any] | None,
    now: datetime,
    *,
    actor: str = "drift-monitor",
    quiet: str = "no drift",
) -> dict[str, Any]:
    """Send (or not) a retrain request for a checked window; returns the decision, audited when asked.

    ``drift``: the monitor found a reason to retrain (drift, or a quality drop); ``existing``: the
    retrain decision already recorded for this window (a ``sent`` one is never sent again);
    ``quiet``: the reason recorded when nothing is needed.
    """
    base = {"window": window, "instance_id": retrain_instance_id(model, window), "sent": False}
    if existing is not None and existing.get("status") == "sent":
        decision = {**existing, "status": "already_sent", "sent": False}
    elif not drift:
        return {**base, "status": "not_needed", "reason": quiet}
    elif not spec.monitoring.auto_retrain:
        decision = {**base, "status": "disabled", "reason": "monitoring.auto_retrain is off"}
    else:
        decision = _claim_and_send(storage, spec, model, window, reason, now, base)
    _audit(storage, model, decision, now, actor)
    return decision


def _claim_and_send(
    storage: Storage,
    spec: PipelineSpec,
    model: str,
    window: str,
    reason: str,
    now: datetime,
    base: dict[str, Any],
) -> dict[str, Any]:
    """Claim the model's ledger (ETag-guarded) unless in cooldown, then put the message on the queue."""
    cooldown = timedelta(hours=spec.monitoring.cooldown_hours)
    outcome: dict[str, Any] = {}

    def claim(current: RetrainLedger) -> RetrainLedger:
        outcome.clear()
        last = current.last_requested_at
        if current.last_window == window and last is not None:
            outcome.update(status="sent", requested_at=last)  # an earlier run claimed, then stopped
            return current
        if last is not None and cooldown > timedelta(0) and now - last < cooldown:
            outcome.update(status="cooldown", last_requested_at=last, last_window=current.last_window)
            return current
        outcome.update(status="sent", requested_at=now)
        return current.model_copy(
            update={"last_window": window, "last_requested_at": now, "requests": current.requests + 1}
        )

    retrain_ledgers(storage).create_or_update(
        LEDGER_PARTITION, model, lambda: RetrainLedger(model=model), claim
    )
    if outcome["status"] == "cooldown":
        last = outcome["last_requested_at"]
        return {
            **base,
            "status": "cooldown",
            "reason": f"last request at {last.isoformat()} (window {outcome['last_window']}) is within "
            f"cooldown_hours={spec.monitoring.cooldown_hours}",
            "last_requested_at": last.isoformat(),
            "last_window": outcome["last_window"],
        }
    request = RetrainRequest(
        model=model, pipeline=spec.name, window=window, reason=reason, requested_at=outcome["requested_at"]
    )
    message_id = storage.retrain_requests.send(request.to_message())
    return {
        **base,
        "status": "sent",
        "sent": True,
        "reason": reason,
        "message_id": message_id,
        "requested_at": request.requested_at.isoformat(),
    }
