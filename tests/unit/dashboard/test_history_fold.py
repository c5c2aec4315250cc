"""Folding a Durable history into the dashboard's timeline spans, job states, pages and the cache."""

from __future__ import annotations

import json

from shared.steps import dashboard_history as h


def _t(second: float) -> str:
    return f"2026-01-01T00:00:{second:06.3f}Z"


HISTORY = [
    {"EventType": "ExecutionStarted", "Timestamp": _t(0), "FunctionName": "training_pipeline"},
    {"EventType": "TaskCompleted", "Timestamp": _t(2), "FunctionName": "ingest", "ScheduledTime": _t(1)},
    {
        "EventType": "TaskFailed",
        "Timestamp": _t(3),
        "FunctionName": "validate",
        "ScheduledTime": _t(2.5),
        "Reason": "boom",
    },
    {"EventType": "TimerCreated", "Timestamp": _t(3), "FireAt": _t(8)},
    {"EventType": "TimerFired", "Timestamp": _t(8.1), "FireAt": _t(8)},
    {"EventType": "TaskCompleted", "Timestamp": _t(9), "FunctionName": "validate", "ScheduledTime": _t(8.2)},
    {
        "EventType": "SubOrchestrationInstanceCompleted",
        "Timestamp": _t(20),
        "FunctionName": "training_job",
        "ScheduledTime": _t(9.5),
    },
    {"EventType": "EventRaised", "Timestamp": _t(21), "Name": "approval"},
    {"EventType": "TimerCreated", "Timestamp": _t(22), "FireAt": _t(99)},
    {"EventType": "ExecutionCompleted", "Timestamp": _t(23), "OrchestrationStatus": "Completed"},
]


def test_fold_makes_spans_with_durations_retries_timers_and_events() -> None:
    """Completions span scheduled -> done; a call after a failure is a retry; timers pair by FireAt."""
    folded = h.fold("run-1", "Completed", None, HISTORY)
    by = [(s["kind"], s["name"], s["status"], s.get("attempt"), bool(s.get("retry"))) for s in folded.spans]
    assert by == [
        ("activity", "ingest", "Succeeded", 1, False),
        ("activity", "validate", "Failed", 1, False),
        ("timer", "durable timer", "Fired", None, False),
        ("activity", "validate", "Succeeded", 2, True),
        ("sub-orchestration", "training_job", "Succeeded", 1, False),
        ("event", "approval", "EventRaised", None, False),
        ("timer", "durable timer", "Not fired", None, False),
    ]
    ingest, failed, timer = folded.spans[0], folded.spans[1], folded.spans[2]
    assert ingest["end"] - ingest["start"] == 1000 and ingest["event"] == 1
    assert failed["reason"] == "boom"
    assert timer["end"] - timer["start"] == 5100
    assert folded.spans[-1]["end"] == folded.end_ms  # the instance ended before it fired
    assert folded.spans[-1]["status"] == "Not fired"
    running = h.fold("run-1", "Running", None, HISTORY[:-1])
    assert running.spans[-1]["end"] is None and running.spans[-1]["status"] == "Waiting"
    assert folded.end_ms - folded.start_ms == 23000
    assert folded.counts["TaskCompleted"] == 2 and len(folded.events) == len(HISTORY)
    assert "Result" not in json.dumps(folded.events)  # slim: no payloads
    overview = folded.summary()["density"]
    assert sum(overview["activity"]) == 3 and sum(overview["failed"]) == 1 and sum(overview["timer"]) == 2
    assert overview["activity"][0] == 0 and len(overview["activity"]) == h.DENSITY_BUCKETS


def test_job_states_merge_polls_into_segments() -> None:
    """queued, queued, running, running, succeeded -> three segments, each until the next state."""

    def poll(second: float, state: str) -> dict[str, object]:
        result = json.dumps({"value": {"state": state, "error": ""}})
        return {
            "EventType": "TaskCompleted",
            "Timestamp": _t(second),
            "FunctionName": h.JOB_STATUS_ACTIVITY,
            "Result": result,
        }

    events = [
        poll(1, "queued"),
        poll(2, "queued"),
        poll(3, "running"),
        poll(6, "running"),
        poll(7, "succeeded"),
    ]
    segments = h.job_states(events)
    assert [(s["name"], s["polls"], s["end"] - s["start"]) for s in segments] == [
        ("queued", 2, 2000),
        ("running", 2, 4000),
        ("succeeded", 1, 0),
    ]


def test_page_filter_and_detail_limits() -> None:
    """Pages end with next_offset None; type filters; an event's payload is cut past the limit."""
    items = [{"i": i, "type": "A" if i % 2 else "B"} for i in range(5)]
    assert h.page(items, 0, 2) == {"items": items[:2], "offset": 0, "total": 5, "next_offset": 2}
    assert h.page(items, 4, 2)["next_offset"] is None
    assert h.page(items, 9, 2)["items"] == []
    assert [e["i"] for e in h.filter_events(items, "A")] == [1, 3]
    big = [{"EventType": "TaskCompleted", "Result": "x" * (h.MAX_DETAIL_CHARS + 10)}]
    cut = h.event_detail(big, 0)
    assert cut is not None and cut["truncated"] and len(cut["text"]) == h.MAX_DETAIL_CHARS
    assert h.event_detail(big, 1) is None and h.event_detail(big, -1) is None


def test_cache_keeps_only_ended_instances_least_recent_out() -> None:
    """A running instance is read afresh each time; ended ones are kept up to the cache size."""
    cache = h.HistoryCache(size=2)
    cache.put(h.fold("running", "Running", None, HISTORY))
    assert cache.get("running") is None
    for name in ("a", "b"):
        cache.put(h.fold(name, "Completed", None, HISTORY))
    assert cache.get("a") is not None  # a is now the most recent
    cache.put(h.fold("c", "Failed", None, HISTORY))
    assert cache.get("b") is None and cache.get("a") is not None and cache.get("c") is not None
