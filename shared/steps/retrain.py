"""Retraining on a drift request: which spec it runs with (the current one), never a second cooldown."""

from __future__ import annotations

from typing import Any

from shared.errors import NotFoundError
from shared.steps.current_spec import current_spec
from shared.storage.factory import Storage


def plan_drift_retrain(storage: Storage, model: str, window: str, instance_id: str) -> dict[str, Any]:
    """Start ``instance_id`` with the model's current spec.

    The cooldown was decided once, when the request was sent (the model's ETag-guarded ledger in
    ``monitoring_retrain``); duplicates of one request share ``instance_id``, which the caller
    checks against the Durable runtime. Deciding cooldown again here from run rows disagreed with
    the ledger (a retry of a failed start looked like a recent retrain).
    """
    spec = current_spec(storage, model)
    if spec is None:
        raise NotFoundError(f"no pipeline spec registered for model {model!r}", field="model")
    return {"start": True, "spec": spec, "reason": f"drift in window {window}", "instance_id": instance_id}
