"""Retraining decisions: drift requests (deduplicated, cooled down) and scheduled runs start here."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from shared.errors import NotFoundError
from shared.steps.schedules import audit, latest_specs
from shared.storage.factory import Storage


def plan_drift_retrain(
    storage: Storage, model: str, window: str, instance_id: str, now: datetime | None = None
) -> dict[str, Any]:
    """Start under the deterministic instance id unless another drift retrain is cooling down."""
    now = now or datetime.now(UTC)
    specs = latest_specs(storage)
    spec = specs.get(model)
    if spec is None:
        raise NotFoundError(f"no pipeline spec registered for model {model!r}", field="model")
    cooldown = timedelta(hours=spec.monitoring.cooldown_hours)
    floor = datetime.min.replace(tzinfo=UTC)
    for run in storage.runs.query(pk=model):
        if run.run_id == instance_id:
            # This request's own row, written just before a start that may have failed: whether
            # the instance really exists is the caller's check (the Durable instance status).
            continue
        if run.trigger == "drift" and (run.started_at or floor) > now - cooldown:
            reason = f"cooldown: drift retrain {run.run_id} started within {spec.monitoring.cooldown_hours} h"
            audit(storage, f"model:{model}", "retrain_cooldown", reason, {"window": window})
            return {"start": False, "reason": reason}
    return {"start": True, "spec": spec, "reason": f"drift in window {window}"}
