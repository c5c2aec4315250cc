"""Replay tests of the training pipeline: the exact activities per path, and every path ends the run."""

from __future__ import annotations

from typing import Any

import pytest

from orchestrations import names
from orchestrations.training import training_job, training_pipeline
from shared.contracts import RunStatus, StepFailure

RUN = "iris-20260101000000-abcd"
SPEC: dict[str, Any] = {"name": "iris", "target": "species"}
HAPPY = [
    names.START_RUN,
    names.INGEST_DATASET,
    names.VALIDATE_DATASET,
    names.TRAINING_JOB,
    names.EVALUATE_MODEL,
    names.REGISTER_MODEL,
    names.DEPLOY_MODEL,
    names.FINISH_RUN,
]


def ok(value: dict[str, Any]) -> Any:
    """A responder whose activity succeeds with ``value``."""
    return lambda _data: {"value": value}


def failing(step: str, error: str, message: str, status: str = "Failed") -> Any:
    """A responder whose activity reports a permanent failure."""
    failure = StepFailure(step=step, error=error, message=message, status=RunStatus(status))
    return lambda _data: {"failure": failure.to_payload()}


DATASET = {"version": "v1", "dataset": "iris", "rows_read": 150}
VALIDATED = {
    **DATASET,
    "rows_accepted": 150,
    "splits": {"train": "t", "validation": "v"},
    "status": "validated",
}
CANDIDATE = {"blob": "candidates/x/model.onnx", "sha256": "ab" * 32, "size": 10, "job": "job-x"}
EVALUATION = {"passed": True, "metrics": {"accuracy": 0.97}, "decisions": []}
MODEL = {"model": "iris", "version": "0000000003", "sha256": "ab" * 32, "onnx_blob": "iris/3/model.onnx"}
DEPLOYMENT = {"model": "iris", "alias": "production", "version": "0000000003", "previous": "0000000002"}


def request(approval: bool = False, hours: float = 24.0) -> dict[str, Any]:
    """The orchestration input the starter builds."""
    return {
        "pipeline": "iris",
        "spec": SPEC,
        "trigger": "http",
        "approval": {"required": approval, "timeout_hours": hours},
        "poll_seconds": 2,
    }


def responders(**overrides: Any) -> dict[str, Any]:
    """Every activity succeeding, except the overrides."""
    base = {
        names.START_RUN: ok({"pipeline": "iris", "run_id": RUN}),
        names.INGEST_DATASET: ok(DATASET),
        names.VALIDATE_DATASET: ok(VALIDATED),
        names.EVALUATE_MODEL: ok(EVALUATION),
        names.AWAIT_APPROVAL: ok({"pipeline": "iris", "run_id": RUN}),
        names.REGISTER_MODEL: ok(MODEL),
        names.DEPLOY_MODEL: ok(DEPLOYMENT),
        names.FINISH_RUN: ok({"pipeline": "iris", "run_id": RUN}),
    }
    base.update({getattr(names, k.upper()): v for k, v in overrides.items()})
    return base


def pipeline(replay: Any, *, sub: Any = None, events: Any = (), req: Any = None, **overrides: Any) -> Any:
    """A replay of the training pipeline with scripted activities and training job."""
    return replay(
        training_pipeline,
        req or request(),
        activities=responders(**overrides),
        subs={names.TRAINING_JOB: sub or (lambda _data: {"value": CANDIDATE})},
        events=list(events),
        instance_id=RUN,
    )


def finished(host: Any) -> dict[str, Any]:
    """The outcome the finish step was asked to record (it must be the last activity)."""
    assert host.activity_names()[-1] == names.FINISH_RUN
    finishes = host.inputs(names.FINISH_RUN)
    assert len(finishes) == 1, "the run must be ended exactly once"
    assert finishes[0]["run_id"] == RUN and finishes[0]["pipeline"] == "iris"
    outcome: dict[str, Any] = finishes[0]["outcome"]
    return outcome


def test_happy_path_runs_every_step_in_order_and_succeeds(replay: Any) -> None:
    host = pipeline(replay)
    output = host.run()
    assert host.activity_names() == HAPPY
    outcome = finished(host)
    assert outcome["status"] == "Succeeded"
    assert outcome["reason"] == "model iris version 0000000003 deployed to production"
    assert output["status"] == "Succeeded" and output["run_id"] == RUN
    # typed inputs: each step gets exactly what the previous one returned
    assert host.inputs(names.START_RUN)[0] == {"pipeline": "iris", "run_id": RUN, "trigger": "http"}
    assert host.inputs(names.VALIDATE_DATASET)[0]["dataset"]["version"] == "v1"
    train = host.inputs(names.TRAINING_JOB)[0]
    assert train["dataset"]["splits"] == {"train": "t", "validation": "v"} and train["poll_seconds"] == 2
    assert host.inputs(names.EVALUATE_MODEL)[0]["candidate"]["sha256"] == "ab" * 32
    assert host.inputs(names.REGISTER_MODEL)[0]["evaluation"]["passed"] is True
    assert host.inputs(names.DEPLOY_MODEL)[0]["model"]["version"] == "0000000003"
    # every storage step is called with retries (transient errors); the sub-orchestration id is fixed
    assert host.statuses[-1]["status"] == "Succeeded"


def test_ingest_failure_ends_the_run_failed_without_retrying(replay: Any) -> None:
    host = pipeline(
        replay, ingest_dataset=failing("ingest", "NotFoundError", "source data/missing.csv not found")
    )
    output = host.run()
    assert host.activity_names() == [names.START_RUN, names.INGEST_DATASET, names.FINISH_RUN]
    assert len(host.inputs(names.INGEST_DATASET)) == 1, "a permanent error is not retried"
    outcome = finished(host)
    assert outcome["status"] == "Failed" and outcome["step"] == "ingest"
    assert outcome["reason"] == "ingest failed: source data/missing.csv not found"
    assert outcome["details"]["failure"]["error"] == "NotFoundError"
    assert output["status"] == "Failed"


def test_transient_failure_is_retried_then_ends_the_run(replay: Any, transient: Any) -> None:
    def flaky(_data: Any) -> Any:
        raise transient("StorageUnavailableError: table service did not answer")

    host = pipeline(replay, validate_dataset=flaky)
    host.run()
    assert host.inputs(names.VALIDATE_DATASET)[0]["_failed_attempts"] == 3
    outcome = finished(host)
    assert outcome["status"] == "Failed" and outcome["step"] == "validate"
    assert outcome["reason"].startswith(
        "validate failed: Activity function 'validate_dataset' failed: Storage"
    )
    assert "Traceback" not in outcome["reason"]


def test_rejected_data_ends_data_rejected_with_the_reasons(replay: Any) -> None:
    rejected = {**VALIDATED, "rejected": True, "reasons": ["quarantined 40% > 10%"], "rows_quarantined": 60}
    host = pipeline(replay, validate_dataset=ok(rejected))
    host.run()
    assert host.activity_names() == [*HAPPY[:3], names.FINISH_RUN]
    outcome = finished(host)
    assert outcome["status"] == "DataRejected" and outcome["reason"] == "quarantined 40% > 10%"
    assert outcome["details"] == {"rows_read": 150, "rows_quarantined": 60}


def test_validation_failure_ends_the_run(replay: Any) -> None:
    host = pipeline(
        replay, validate_dataset=failing("validate", "ValidationError", "target 'y' has one class")
    )
    host.run()
    assert host.activity_names() == [*HAPPY[:3], names.FINISH_RUN]
    assert finished(host)["reason"] == "validate failed: target 'y' has one class"


def test_training_job_failure_ends_the_run_with_the_jobs_error(replay: Any) -> None:
    failure = StepFailure(step="train", error="TrainingJobFailed", message="training job j failed: exit 1")
    host = pipeline(replay, sub=lambda _d: {"failure": failure.to_payload()})
    host.run()
    assert host.activity_names() == [*HAPPY[:4], names.FINISH_RUN]
    outcome = finished(host)
    assert outcome["status"] == "Failed" and outcome["step"] == "train"
    assert outcome["reason"] == "train failed: training job j failed: exit 1"


def test_crashed_training_sub_orchestration_ends_the_run(replay: Any) -> None:
    def crash(_data: Any) -> Any:
        raise RuntimeError("Orchestrator function 'training_job' failed: boom")

    host = pipeline(replay, sub=crash)
    host.run()
    outcome = finished(host)
    assert outcome["status"] == "Failed" and outcome["step"] == "train"
    assert "boom" in outcome["reason"]


def test_evaluation_failure_ends_the_run(replay: Any) -> None:
    host = pipeline(replay, evaluate_model=failing("evaluate", "IntegrityError", "candidate sha256 mismatch"))
    host.run()
    assert host.activity_names() == [*HAPPY[:5], names.FINISH_RUN]
    assert finished(host)["reason"] == "evaluate failed: candidate sha256 mismatch"


def test_failed_gate_ends_gate_rejected_with_the_gate_reasons(replay: Any) -> None:
    decisions = [
        {"gate": "threshold:accuracy", "status": "failed", "reason": "accuracy 0.5 < 0.9"},
        {"gate": "latency", "status": "passed", "reason": "p95 0.1 ms"},
    ]
    host = pipeline(replay, evaluate_model=ok({**EVALUATION, "passed": False, "decisions": decisions}))
    host.run()
    assert host.activity_names() == [*HAPPY[:5], names.FINISH_RUN]
    outcome = finished(host)
    assert outcome == {
        "status": "GateRejected",
        "reason": "accuracy 0.5 < 0.9",
        "step": "evaluate",
        "details": {},
    }


def test_no_change_registers_nothing(replay: Any) -> None:
    same = {
        **EVALUATION,
        "champion_version": "0000000002",
        "no_change": "byte-identical to champion 0000000002",
    }
    host = pipeline(replay, evaluate_model=ok(same))
    host.run()
    assert names.REGISTER_MODEL not in host.activity_names()
    outcome = finished(host)
    assert outcome["status"] == "Succeeded"
    assert outcome["reason"] == "no change: byte-identical to champion 0000000002"


@pytest.mark.parametrize("failing_step", ["register_model", "deploy_model"])
def test_register_or_deploy_failure_ends_the_run(replay: Any, failing_step: str) -> None:
    step = failing_step.split("_")[0]
    host = pipeline(replay, **{failing_step: failing(step, "AlreadyExistsError", "version taken")})
    host.run()
    assert host.activity_names()[-2:] == [getattr(names, failing_step.upper()), names.FINISH_RUN]
    outcome = finished(host)
    assert outcome["status"] == "Failed" and outcome["step"] == step
    assert outcome["reason"] == f"{step} failed: version taken"


def test_finish_runs_even_when_start_fails(replay: Any) -> None:
    host = pipeline(replay, start_run=failing("start", "NotFoundError", "run row missing"))
    host.run()
    assert host.activity_names() == [names.START_RUN, names.FINISH_RUN]


# ---- approval ---------------------------------------------------------------------------------

DECISION = {"decision_id": "d1", "actor": "admin key (sha256 0123abcd)", "at": "2026-01-01T01:00:00Z"}


def approval_check(decision: str | None, comment: str = "") -> Any:
    """The verify activity's verdict: the recorded decision, or ignored."""
    if decision is None:
        return ok({"ignored": "no decision 'x' was recorded by the approval API"})
    return ok({"decision": {**DECISION, "decision": decision, "comment": comment}})


def test_approved_run_waits_then_registers_and_deploys(replay: Any) -> None:
    host = pipeline(
        replay,
        req=request(approval=True),
        events=[(names.APPROVAL_EVENT, {"decision_id": "d1"})],
        verify_approval=approval_check("approve"),
    )
    host.run()
    assert host.activity_names() == [
        *HAPPY[:5],
        names.AWAIT_APPROVAL,
        names.VERIFY_APPROVAL,
        *HAPPY[5:],
    ]
    assert host.inputs(names.AWAIT_APPROVAL)[0]["evaluation"]["metrics"] == {"accuracy": 0.97}
    assert host.inputs(names.VERIFY_APPROVAL)[0]["event"] == {"decision_id": "d1"}
    assert finished(host)["status"] == "Succeeded"


def test_rejected_run_ends_approval_rejected_with_who_and_why(replay: Any) -> None:
    host = pipeline(
        replay,
        req=request(approval=True),
        events=[(names.APPROVAL_EVENT, {"decision_id": "d1"})],
        verify_approval=approval_check("reject", "metrics look too good"),
    )
    host.run()
    assert names.REGISTER_MODEL not in host.activity_names()
    outcome = finished(host)
    assert outcome["status"] == "ApprovalRejected"
    assert outcome["reason"] == "rejected by admin key (sha256 0123abcd): metrics look too good"
    assert outcome["details"]["approval"]["decision_id"] == "d1"


def test_no_decision_in_time_ends_approval_rejected_timed_out(replay: Any, later: Any) -> None:
    host = pipeline(replay, req=request(approval=True, hours=2))
    host.run()
    timers = [c for c in host.calls if c.kind == "timer"]
    assert [t.fire_at for t in timers] == [later(2)]
    assert names.VERIFY_APPROVAL not in host.activity_names()
    outcome = finished(host)
    assert outcome["status"] == "ApprovalRejected" and outcome["reason"] == "timed out after 2 h"
    assert outcome["details"]["approval"] == {"timed_out": True, "timeout_hours": 2.0}


def test_forged_event_is_ignored_and_the_wait_keeps_its_deadline(replay: Any, later: Any) -> None:
    verdicts = iter([approval_check(None), approval_check("approve")])
    host = pipeline(
        replay,
        req=request(approval=True, hours=5),
        events=[(names.APPROVAL_EVENT, {"approved": True}), (names.APPROVAL_EVENT, {"decision_id": "d1"})],
        verify_approval=lambda data: next(verdicts)(data),
    )
    host.run()
    assert host.inputs(names.VERIFY_APPROVAL) == [
        {"pipeline": "iris", "run_id": RUN, "event": {"approved": True}},
        {"pipeline": "iris", "run_id": RUN, "event": {"decision_id": "d1"}},
    ]
    timers = [c.fire_at for c in host.calls if c.kind == "timer"]
    assert timers == [later(5), later(5)], "a forged event must not move the deadline"
    assert finished(host)["status"] == "Succeeded"


def test_forged_false_event_alone_times_out_instead_of_deploying(replay: Any) -> None:
    host = pipeline(
        replay,
        req=request(approval=True, hours=1),
        events=[(names.APPROVAL_EVENT, False)],
        verify_approval=approval_check(None),
    )
    host.run()
    assert names.DEPLOY_MODEL not in host.activity_names()
    assert finished(host)["reason"] == "timed out after 1 h"


# ---- the training job sub-orchestration --------------------------------------------------------

JOB = {"name": "job-x", "backend": "local", "location": "/w/job-x", "created": True}


def job_input(polls: int = 0) -> dict[str, Any]:
    """The sub-orchestration's input."""
    return {
        "pipeline": "iris",
        "run_id": RUN,
        "spec": SPEC,
        "dataset": VALIDATED,
        "poll_seconds": 3,
        "polls": polls,
    }


def test_training_job_polls_with_timers_then_collects(replay: Any, later: Any) -> None:
    states = iter(["running", "running", "succeeded"])
    host = replay(
        training_job,
        job_input(),
        activities={
            names.SUBMIT_TRAINING_JOB: ok(JOB),
            names.GET_TRAINING_JOB_STATUS: lambda _d: {"value": {"state": next(states)}},
            names.COLLECT_TRAINING_OUTPUT: ok(CANDIDATE),
        },
        instance_id=f"{RUN}-train",
    )
    output = host.run()
    assert host.activity_names() == [
        names.SUBMIT_TRAINING_JOB,
        *[names.GET_TRAINING_JOB_STATUS] * 3,
        names.COLLECT_TRAINING_OUTPUT,
    ]
    assert [c.fire_at for c in host.calls if c.kind == "timer"] == [later(3 / 3600), later(6 / 3600)]
    assert host.inputs(names.COLLECT_TRAINING_OUTPUT)[0]["job"] == {**JOB, "attempt": 1}
    assert output == {"value": {**CANDIDATE, "metrics": {}, "signature": {}}, "failure": None}


def test_failed_training_job_returns_a_typed_failure(replay: Any) -> None:
    host = replay(
        training_job,
        job_input(),
        activities={
            names.SUBMIT_TRAINING_JOB: ok(JOB),
            names.GET_TRAINING_JOB_STATUS: ok({"state": "failed", "error": "ValueError: one class"}),
        },
    )
    output = host.run()
    assert output["value"] is None
    assert output["failure"]["message"] == "training job job-x failed: ValueError: one class"
    assert output["failure"]["step"] == "train"


def test_submit_failure_is_returned_not_raised(replay: Any) -> None:
    host = replay(
        training_job,
        job_input(),
        activities={
            names.SUBMIT_TRAINING_JOB: failing("submit", "ValidationError", "no numeric feature columns")
        },
    )
    output = host.run()
    assert output["failure"]["message"] == "no numeric feature columns"
    assert host.activity_names() == [names.SUBMIT_TRAINING_JOB]


def test_long_training_continues_as_new_with_the_poll_count(replay: Any) -> None:
    host = replay(
        training_job,
        job_input(polls=7),
        activities={
            names.SUBMIT_TRAINING_JOB: ok(JOB),
            names.GET_TRAINING_JOB_STATUS: ok({"state": "running"}),
        },
    )
    host.run()
    polls = host.activity_names().count(names.GET_TRAINING_JOB_STATUS)
    assert polls == 20
    again = [c for c in host.calls if c.kind == "continue"]
    assert len(again) == 1 and again[0].input["polls"] == 27


def test_preempted_job_is_resubmitted_and_its_next_attempt_collected(replay: Any) -> None:
    states = iter(["running", "preempted", "running", "succeeded"])
    attempts = iter([JOB, {**JOB, "name": "job-x-a2", "attempt": 2}])
    host = replay(
        training_job,
        job_input(),
        activities={
            names.SUBMIT_TRAINING_JOB: lambda _d: {"value": next(attempts)},
            names.GET_TRAINING_JOB_STATUS: lambda _d: {"value": {"state": next(states)}},
            names.COLLECT_TRAINING_OUTPUT: ok(CANDIDATE),
        },
    )
    output = host.run()
    assert host.activity_names() == [
        names.SUBMIT_TRAINING_JOB,
        names.GET_TRAINING_JOB_STATUS,
        names.GET_TRAINING_JOB_STATUS,
        names.SUBMIT_TRAINING_JOB,
        names.GET_TRAINING_JOB_STATUS,
        names.GET_TRAINING_JOB_STATUS,
        names.COLLECT_TRAINING_OUTPUT,
    ]
    polled = [i["job"]["name"] for i in host.inputs(names.GET_TRAINING_JOB_STATUS)]
    assert polled == ["job-x", "job-x", "job-x-a2", "job-x-a2"]
    assert host.inputs(names.COLLECT_TRAINING_OUTPUT)[0]["job"]["attempt"] == 2
    assert output["value"]["sha256"] == CANDIDATE["sha256"]
