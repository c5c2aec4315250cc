"""Replay tests of the training job's wake-up: the runner's job_finished event raced against the
poll timer. The event only ends a wait early: the status activity decides every outcome."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import pytest

from orchestrations import names
from orchestrations.training import MAX_POLLS_PER_GENERATION, training_job
from shared.compute.events import AML_STATUS_EVENT, NOTIFY_TAG, JobEvent, parse_event, training_instance
from shared.errors import ValidationError

RUN = "iris-20260101000000-abcd"
JOB = {"name": "job-x", "backend": "local", "location": "/w/job-x", "created": True}
CANDIDATE = {"blob": "candidates/x/model.onnx", "sha256": "ab" * 32, "size": 10, "job": "job-x"}
VALIDATED = {
    "version": "v1",
    "dataset": "iris",
    "rows_read": 150,
    "rows_accepted": 150,
    "splits": {"train": "t", "validation": "v"},
    "status": "validated",
}
POLL_SECONDS = 30
FINISHED = (names.JOB_FINISHED_EVENT, {"job": "job-x", "state": "succeeded"})


def states(*values: str) -> Any:
    """A status responder answering ``values`` in turn (the test fails if polled once more)."""
    it: Iterator[str] = iter(values)
    return lambda _d: {"value": {"state": next(it), "error": "ValueError: one class"}}


def job(replay: Any, status: Any, events: list[tuple[str, Any]], polls: int = 0) -> Any:
    """A replay of the training-job sub-orchestration with a 30 s poll timer."""
    request = {
        "pipeline": "iris",
        "run_id": RUN,
        "spec": {"name": "iris", "target": "species"},
        "dataset": VALIDATED,
        "poll_seconds": POLL_SECONDS,
        "polls": polls,
    }
    return replay(
        training_job,
        request,
        activities={
            names.SUBMIT_TRAINING_JOB: lambda _d: {"value": JOB},
            names.GET_TRAINING_JOB_STATUS: status,
            names.COLLECT_TRAINING_OUTPUT: lambda _d: {"value": CANDIDATE},
        },
        events=events,
        instance_id=training_instance(RUN),
    )


def test_the_event_wins_the_race_then_status_is_checked_then_collect(replay: Any) -> None:
    host = job(replay, states("running", "succeeded"), [FINISHED])
    started = host.now
    output = host.run()
    assert host.activity_names() == [
        names.SUBMIT_TRAINING_JOB,
        names.GET_TRAINING_JOB_STATUS,
        names.GET_TRAINING_JOB_STATUS,  # the event only woke it: the status decides
        names.COLLECT_TRAINING_OUTPUT,
    ]
    waits = [c for c in host.calls if c.kind in ("timer", "event")]
    assert sorted((c.kind, c.name) for c in waits) == [
        ("event", names.JOB_FINISHED_EVENT),
        ("timer", "timer"),
    ]
    assert host.now == started, "no timer fired: the collect did not wait for the poll"
    assert output["value"]["sha256"] == CANDIDATE["sha256"] and output["failure"] is None


def test_without_an_event_the_timer_polls_as_before(replay: Any, later: Any) -> None:
    host = job(replay, states("running", "running", "succeeded"), [])
    output = host.run()
    assert host.activity_names().count(names.GET_TRAINING_JOB_STATUS) == 3
    timers = [c.fire_at for c in host.calls if c.kind == "timer"]
    assert timers == [later(30 / 3600), later(60 / 3600)]
    assert host.now == later(60 / 3600)  # both timers fired: the safety net alone finished it
    assert [c.name for c in host.calls if c.kind == "event"] == [names.JOB_FINISHED_EVENT] * 2
    assert output["value"]["job"] == "job-x"


def test_a_forged_event_costs_one_extra_poll_and_changes_nothing(replay: Any, later: Any) -> None:
    forged = (names.JOB_FINISHED_EVENT, {"job": "job-x", "state": "succeeded"})
    host = job(replay, states("running", "running", "succeeded"), [forged])
    output = host.run()
    assert host.activity_names() == [
        names.SUBMIT_TRAINING_JOB,
        *[names.GET_TRAINING_JOB_STATUS] * 3,  # one more than the job needed, no collect before it ended
        names.COLLECT_TRAINING_OUTPUT,
    ]
    # The forged event ended the first wait; the second one waited for its timer.
    assert host.now == later(30 / 3600)
    assert output["value"]["sha256"] == CANDIDATE["sha256"]


def test_an_event_saying_succeeded_cannot_turn_a_failed_job_into_a_candidate(replay: Any) -> None:
    host = job(replay, states("running", "failed"), [FINISHED])
    output = host.run()
    assert names.COLLECT_TRAINING_OUTPUT not in host.activity_names()
    assert output["value"] is None
    assert output["failure"]["message"] == "training job job-x failed: ValueError: one class"


def test_duplicate_events_are_harmless(replay: Any) -> None:
    host = job(replay, states("running", "running", "succeeded"), [FINISHED, FINISHED, FINISHED])
    output = host.run()
    assert host.activity_names().count(names.GET_TRAINING_JOB_STATUS) == 3
    assert host.activity_names().count(names.COLLECT_TRAINING_OUTPUT) == 1
    assert output["value"]["sha256"] == CANDIDATE["sha256"]


def test_a_storm_of_events_still_continues_as_new_within_the_poll_budget(replay: Any) -> None:
    storm = [FINISHED] * (MAX_POLLS_PER_GENERATION * 3)
    host = job(replay, lambda _d: {"value": {"state": "running"}}, storm, polls=5)
    host.run()
    assert host.activity_names().count(names.GET_TRAINING_JOB_STATUS) == MAX_POLLS_PER_GENERATION
    again = [c for c in host.calls if c.kind == "continue"]
    assert len(again) == 1 and again[0].input["polls"] == 5 + MAX_POLLS_PER_GENERATION
    # Every wait of the generation was one timer raced by one event wait: history stays bounded.
    assert sum(c.kind == "timer" for c in host.calls) == MAX_POLLS_PER_GENERATION


# ---- the queue message ------------------------------------------------------------------------


def _b64(payload: Any) -> bytes:
    return base64.b64encode(json.dumps(payload).encode())


def test_a_runner_message_parses_base64_or_plain() -> None:
    body = {"instance": training_instance(RUN), "job": "train-iris-1a2b3c4d5e-a2", "state": "succeeded"}
    assert parse_event(_b64(body)) == JobEvent.model_validate(body)
    assert parse_event(json.dumps(body).encode()).instance == f"{RUN}-train"


@pytest.mark.parametrize(
    ("body", "named"),
    [
        (b"not json at all", "not JSON"),
        (_b64({"instance": f"{RUN}-train", "job": "j", "state": "exploded"}), "state"),
        (_b64({"instance": RUN, "job": "j", "state": "failed"}), "instance"),  # not a training instance
        (_b64({"instance": f"{RUN}-train", "job": "Bad Name", "state": "failed"}), "job"),
        (_b64({"instance": f"{RUN}-train", "job": "j", "state": "failed", "key": "x"}), "key"),
    ],
)
def test_a_malformed_message_is_refused_naming_the_field(body: bytes, named: str) -> None:
    with pytest.raises(ValidationError) as err:
        parse_event(body)
    assert named in err.value.message


WORKSPACES = "Microsoft.MachineLearningServices/workspaces"


def _aml_event(status: str = "Completed", tags: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    """An Azure ML RunStatusChanged event in the Event Grid schema, as the subscription delivers it."""
    return {
        "id": "b1e1c0de-0000-4000-8000-000000000000",
        "topic": f"/subscriptions/s/resourceGroups/rg/providers/{WORKSPACES}/w",
        "subject": "experiments/e/runs/train-iris-1a2b3c4d5e",
        "eventType": AML_STATUS_EVENT,
        "eventTime": "2026-11-30T12:00:00Z",
        "data": {
            "experimentId": "e",
            "experimentName": "mlops-training",
            "runId": "train-iris-1a2b3c4d5e",
            "runType": None,
            "runTags": {NOTIFY_TAG: f"{RUN}-train", "mlops.job": "train-iris"} if tags is None else tags,
            "runProperties": {},
            "runStatus": status,
        },
        "dataVersion": "2",
        "metadataVersion": "1",
        **extra,
    }


@pytest.mark.parametrize(
    ("status", "state"), [("Completed", "succeeded"), ("Failed", "failed"), ("Canceled", "failed")]
)
def test_an_azure_ml_job_end_from_event_grid_wakes_its_training_instance(status: str, state: str) -> None:
    for raw in (
        json.dumps(_aml_event(status)).encode(),
        _b64(_aml_event(status)),
        _b64([_aml_event(status)]),
    ):
        event = parse_event(raw)
        assert (event.instance, event.job, event.state) == (f"{RUN}-train", "train-iris-1a2b3c4d5e", state)


@pytest.mark.parametrize(
    ("event", "named"),
    [
        (_aml_event("Running"), "data.runStatus"),  # not an end: the subscription filters it, so do we
        (_aml_event(tags={}), "data.runTags"),  # a job that is not ours
        (_aml_event(tags={NOTIFY_TAG: RUN}), "instance"),  # a tag that names no training instance
        ({**_aml_event(), "eventType": "Microsoft.Storage.BlobCreated"}, "eventType"),
        ({**_aml_event(), "data": "x"}, "data"),
    ],
)
def test_an_event_grid_event_that_is_no_job_end_of_ours_is_refused(event: dict[str, Any], named: str) -> None:
    with pytest.raises(ValidationError) as err:
        parse_event(_b64(event))
    assert named in err.value.message or named == err.value.field
