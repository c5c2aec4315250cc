"""Following a run: it ends when the row or the instance ends, within a bounded wait, and says why."""

from __future__ import annotations

from typing import Any

import pytest

from cli.client import ApiError
from cli.follow import FollowTimeout, explain, follow, reconcile


class FakeApp:
    """Answers GET /api/runs/{id} and the instance status from scripted sequences (no network)."""

    def __init__(self, rows: list[dict[str, Any]], instances: list[dict[str, Any] | None]) -> None:
        self.rows = rows
        self.instances = instances
        self.row_reads = 0

    def get(self, path: str, **params: Any) -> Any:
        if path.startswith("/api/runs/"):
            row = self.rows[min(self.row_reads, len(self.rows) - 1)]
            self.row_reads += 1
            return row
        instance = self.instances.pop(0) if len(self.instances) > 1 else self.instances[0]
        if instance is None:
            raise ApiError(401, "unauthorized")
        return instance


class Clock:
    """A fake monotonic clock that advances when the loop sleeps."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


RUNNING = {"run_id": "r1", "status": "Running", "steps": [{"name": "ingest", "status": "Running"}]}


def _follow(app: FakeApp, clock: Clock, timeout: float = 60.0) -> dict[str, Any]:
    return follow(app, "r1", timeout_s=timeout, poll_s=1.0, clock=clock, sleep=clock.sleep)  # type: ignore[arg-type]


def test_ends_when_the_row_is_terminal() -> None:
    done = {
        **RUNNING,
        "status": "DataRejected",
        "details": {"validation": {"reasons": ["too many bad rows"]}},
    }
    app = FakeApp([RUNNING, RUNNING, done], [{"runtimeStatus": "Running"}])
    clock = Clock()
    assert _follow(app, clock)["status"] == "DataRejected"
    assert clock.now == 2.0


def test_ends_when_the_instance_failed_but_the_row_still_says_running() -> None:
    app = FakeApp([RUNNING], [{"runtimeStatus": "Running"}, {"runtimeStatus": "Failed", "output": "boom"}])
    clock = Clock()
    final = _follow(app, clock)
    assert final["status"] == "Failed" and final["error"] == "instance Failed: boom"
    assert clock.now == 1.0


def test_a_terminated_instance_ends_the_follow_as_terminated() -> None:
    app = FakeApp([RUNNING], [{"runtimeStatus": "Terminated", "output": "stopped by operator"}])
    final = _follow(app, Clock())
    assert final["status"] == "Terminated" and "stopped by operator" in final["error"]


def test_a_row_written_just_before_the_instance_ended_wins() -> None:
    done = {**RUNNING, "status": "Succeeded"}
    app = FakeApp([RUNNING, done], [{"runtimeStatus": "Completed", "output": {"status": "Succeeded"}}])
    assert _follow(app, Clock())["status"] == "Succeeded"


def test_the_wait_is_bounded_even_when_the_instance_cannot_be_read() -> None:
    app = FakeApp([RUNNING], [None])
    clock = Clock()
    with pytest.raises(FollowTimeout, match="still Running after 5 s"):
        _follow(app, clock, timeout=5.0)
    assert clock.now == 5.0


def test_reconcile_leaves_terminal_rows_and_running_instances_alone() -> None:
    assert reconcile({"status": "Succeeded"}, {"runtimeStatus": "Failed"}) is None
    assert reconcile(RUNNING, {"runtimeStatus": "Running"}) is None
    assert reconcile(RUNNING, None) is None
    completed = reconcile(RUNNING, {"runtimeStatus": "Completed", "output": {"status": "GateRejected"}})
    assert completed is not None and completed["status"] == "GateRejected"


def test_explain_collects_reason_failed_step_reasons_counts_and_gates() -> None:
    record = {
        "status": "Failed",
        "error": "ingest failed: NotFoundError: source file not found",
        "steps": [
            {"name": "start", "status": "Succeeded"},
            {"name": "ingest", "status": "Failed", "detail": "NotFoundError: source file not found"},
        ],
        "details": {
            "validation": {"rows_read": 10, "rows_accepted": 7, "rows_quarantined": 3, "reasons": ["x"]}
        },
        "gates": [{"gate": "threshold:auc", "status": "failed", "reason": "0.5 < 0.9"}],
    }
    why = explain(record)
    assert why.status == "Failed" and why.reason is not None and why.reason.startswith("ingest failed")
    assert why.failed_step == "ingest"  # its error is already the reason
    other = explain({"status": "Failed", "error": "instance Failed", "steps": record["steps"]})
    assert other.failed_step == "ingest: NotFoundError: source file not found"
    assert why.rejection_reasons == ["x"]
    assert why.counts == {"rows_read": 10, "rows_accepted": 7, "rows_quarantined": 3}
    assert why.gates == ["gate threshold:auc: failed (0.5 < 0.9)"]
    assert why.headline().startswith("ingest failed")
    assert explain({"status": "DataRejected", "details": {"reasons": ["missing column y"]}}).headline() == (
        "missing column y"
    )
