"""Following a run until it ends, and saying why it ended.

The run row is the record, but an instance can end without ending its row (terminated, crashed
before its last activity). So ``follow`` also asks the Durable runtime: once the instance is no
longer running and a fresh read of the row still is not terminal, the outcome is taken from the
instance. The wait is bounded; past it ``follow`` stops with a message saying how to look again.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from cli.client import ApiClient, ApiError

TERMINAL = frozenset(
    {"Succeeded", "Failed", "DataRejected", "GateRejected", "ApprovalRejected", "Cancelled", "Terminated"}
)
#: Durable runtime statuses of an instance that will not run again.
INSTANCE_ENDED = {"Completed": None, "Failed": "Failed", "Terminated": "Terminated", "Canceled": "Cancelled"}
_COUNTS = ("rows_read", "rows_accepted", "rows_quarantined")


def find_key(value: Any, key: str) -> Any:
    """The first non-empty value of ``key`` in nested dicts/lists (details have no fixed shape)."""
    if isinstance(value, dict):
        if value.get(key) not in (None, "", [], {}):
            return value[key]
        children: list[Any] = list(value.values())
    elif isinstance(value, list):
        children = value
    else:
        return None
    for child in children:
        found = find_key(child, key)
        if found not in (None, "", [], {}):
            return found
    return None


def reconcile(record: dict[str, Any], instance: dict[str, Any] | None) -> dict[str, Any] | None:
    """The run as the ended instance says it ended, when the row is not terminal; else None."""
    if record.get("status") in TERMINAL or not instance:
        return None
    runtime = str(instance.get("runtimeStatus", ""))
    if runtime not in INSTANCE_ENDED:
        return None
    output = instance.get("output")
    status = INSTANCE_ENDED[runtime]
    if status is None:  # Completed: the orchestrator's own result says which outcome
        status = str(output.get("status")) if isinstance(output, dict) and output.get("status") else "Failed"
    reason = (find_key(output, "error") or find_key(output, "reason")) if isinstance(output, dict) else output
    note = f"instance {runtime}"
    if reason:
        note = f"{note}: {reason}"
    return {**record, "status": status, "error": record.get("error") or note, "reconciled_from": runtime}


@dataclass
class Explanation:
    """Why a run ended as it did, in lines a terminal can print."""

    status: str
    reason: str | None = None
    failed_step: str | None = None
    rejection_reasons: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    gates: list[str] = field(default_factory=list)

    def headline(self) -> str:
        """The one-line why: the reason, else the first rejection reason, else the failed step."""
        return self.reason or next(iter(self.rejection_reasons), None) or self.failed_step or ""


def explain(record: dict[str, Any]) -> Explanation:
    """Outcome, reason, failed step, rejection reasons, row counts and gate verdicts of a run."""
    details = record.get("details") or {}
    reason = record.get("reason") or record.get("error") or find_key(details, "error")
    failed = next((s for s in record.get("steps") or [] if s.get("status") == "Failed"), None)
    failed_step = None
    if failed is not None:
        detail = failed.get("detail") or failed.get("error")
        shown = isinstance(detail, str) and detail and detail not in str(reason or "")
        failed_step = f"{failed.get('name')}: {detail}" if shown else failed.get("name")
    reasons = find_key(details, "reasons") or record.get("reasons") or []
    counts: dict[str, int] = {}
    for name in _COUNTS:
        value = record.get(name)
        if value is None:
            value = find_key(details, name)
        if value is None:
            value = (record.get("counters") or {}).get(name)
        if isinstance(value, int):
            counts[name] = value
    gates = []
    for gate in record.get("gates") or record.get("gate_decisions") or []:
        verdict = f"gate {gate.get('gate') or gate.get('name')}: {gate.get('status') or gate.get('passed')}"
        gates.append(f"{verdict} ({gate['reason']})" if gate.get("reason") else verdict)
    if not reason:
        reason = find_key(details, "reason")
    if not reason and record.get("status") == "GateRejected":
        reason = next((g for g in gates if "fail" in g.lower() or "reject" in g.lower()), None)
    return Explanation(
        status=str(record.get("status")),
        reason=str(reason) if reason else None,
        failed_step=str(failed_step) if failed_step else None,
        rejection_reasons=[str(r) for r in reasons] if isinstance(reasons, list) else [str(reasons)],
        counts=counts,
        gates=gates,
    )


def instance_status(api: ApiClient, run_id: str) -> dict[str, Any] | None:
    """The Durable runtime status of the run's instance; None when it cannot be read with this key."""
    path = f"/runtime/webhooks/durabletask/instances/{run_id}"
    try:
        data = api.get(path, showInput="false")
    except ApiError:
        return None  # e.g. a function key on Azure may not read the management API
    return data if isinstance(data, dict) else None


class FollowTimeout(Exception):
    """The run did not end within the wait; the message says how to look again."""


def follow(
    api: ApiClient,
    run_id: str,
    *,
    timeout_s: float = 3600.0,
    poll_s: float = 1.0,
    on_record: Callable[[dict[str, Any]], None] | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, Any]:
    """Poll until the run (or its instance) ends; FollowTimeout after ``timeout_s``."""
    deadline = clock() + timeout_s
    while True:
        record = dict(api.get(f"/api/runs/{run_id}"))
        if on_record is not None:
            on_record(record)
        if record.get("status") in TERMINAL:
            return record
        instance = instance_status(api, run_id)
        if instance is not None and instance.get("runtimeStatus") in INSTANCE_ENDED:
            fresh = dict(api.get(f"/api/runs/{run_id}"))  # its last activity may have just written it
            if fresh.get("status") in TERMINAL:
                return fresh
            ended = reconcile(fresh, instance)
            if ended is not None:
                return ended
        if clock() >= deadline:
            raise FollowTimeout(
                f"run {run_id} is still {record.get('status')} after {timeout_s:.0f} s; "
                f"it keeps running: `mlops status {run_id} --follow` waits again"
            )
        sleep(poll_s)
