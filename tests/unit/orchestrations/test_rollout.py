"""Replay tests of the rollout sub-orchestration: bake timers, checks, one decision per rollout."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from orchestrations import names
from orchestrations.rollout import rollout, rollout_input
from orchestrations.training import training_pipeline
from shared.contracts import DeployInput

RUN = "iris-20260101000000-abcd"
MODEL = {"model": "iris", "version": "000003", "sha256": "ab" * 32, "onnx_blob": "iris/3/x.onnx"}
DATASET = {"version": "v1", "dataset": "iris", "splits": {"train": "t", "validation": "v"}}
NUMBERS = {"production": {"requests": 90}, "candidate": {"requests": 10}, "prediction_distance": 0.01}


def deploy_input(deployment: dict[str, Any]) -> DeployInput:
    """What the pipeline hands to deploy, with the spec's deployment section."""
    spec = {"name": "iris", "target": "species", "deployment": deployment}
    return DeployInput(pipeline="iris", run_id=RUN, spec=spec, model=MODEL, dataset=DATASET)


def state(status: str = "Baking", **extra: Any) -> dict[str, Any]:
    """A RolloutState reply."""
    return {
        "value": {
            "status": status,
            "model": "iris",
            "alias": "production",
            "candidate": "000003",
            "production": "000002",
            "share": 0.1,
            "reason": "",
            "actor": "pipeline",
            **extra,
        }
    }


def verdicts(*items: tuple[str, str]) -> Any:
    """A check responder answering the given (verdict, reason) pairs in order."""
    queue = list(items)
    return lambda _data: {"value": {"verdict": queue[0][0], "reason": queue.pop(0)[1], "numbers": NUMBERS}}


def decide(data: dict[str, Any]) -> dict[str, Any]:
    """The decide activity: advance keeps baking, promote/rollback end."""
    status = {"advance": "Baking", "promote": "Promoted", "rollback": "RolledBack"}[data["action"]]
    return state(status, share=data["share"], reason=data["reason"], drift_reference="ref.json")


def host(replay: Any, deployment: dict[str, Any], check: Any, **activities: Any) -> Any:
    """A replay of the rollout of ``deployment`` with scripted activities."""
    plan = rollout_input(deploy_input(deployment))
    assert plan is not None
    responders = {names.START_ROLLOUT: lambda _d: state(), names.CHECK_ROLLOUT: check}
    responders[names.DECIDE_ROLLOUT] = decide
    responders.update(activities)
    return replay(rollout, plan.to_payload(), activities=responders, instance_id=f"{RUN}-rollout")


CANARY = {"canary": {"traffic": 0.1, "bake_minutes": 0.5}}


def test_a_passing_canary_bakes_once_then_promotes(replay: Any) -> None:
    h = host(replay, CANARY, verdicts(("pass", "within every threshold")))
    output = h.run()
    assert h.activity_names() == [names.START_ROLLOUT, names.CHECK_ROLLOUT, names.DECIDE_ROLLOUT]
    assert h.inputs(names.DECIDE_ROLLOUT)[0]["action"] == "promote"
    assert output["value"]["version"] == "000003" and output["value"]["previous"] == "000002"
    assert output["value"]["drift_reference"] == "ref.json"


def test_the_bake_timer_is_the_spec_bake_time(replay: Any, later: Any) -> None:
    h = host(replay, CANARY, verdicts(("pass", "ok")))
    h.run()
    assert [c.fire_at for c in h.calls if c.kind == "timer"] == [later(0) + timedelta(seconds=30)]
    assert h.inputs(names.CHECK_ROLLOUT)[0]["share"] == 0.1


def test_a_breach_rolls_back_with_the_numbers_and_fails_the_deploy_as_gate_rejected(replay: Any) -> None:
    reason = "prediction distribution distance 0.460 > 0.2 (Jensen-Shannon)"
    h = host(replay, CANARY, verdicts(("breach", reason)))
    output = h.run()
    sent = h.inputs(names.DECIDE_ROLLOUT)
    assert [d["action"] for d in sent] == ["rollback"]
    assert sent[0]["reason"] == reason and sent[0]["numbers"] == NUMBERS
    failure = output["failure"]
    assert failure["status"] == "GateRejected" and failure["step"] == "rollout"
    assert failure["message"] == f"canary of version 000003 rolled back: {reason}"


def test_insufficient_traffic_never_counts_as_a_pass(replay: Any) -> None:
    reason = "insufficient traffic: candidate scored 2 requests (need 30)"
    h = host(replay, CANARY, verdicts(("insufficient", reason)))
    output = h.run()
    assert [d["action"] for d in h.inputs(names.DECIDE_ROLLOUT)] == ["rollback"]
    assert h.inputs(names.DECIDE_ROLLOUT)[0]["reason"] == reason
    assert (
        output["failure"]["status"] == "GateRejected"
        and "insufficient traffic" in output["failure"]["message"]
    )


def test_linear_raises_the_share_after_each_passing_step_then_promotes(replay: Any, later: Any) -> None:
    h = host(replay, {"linear": {"step": 0.3, "interval_minutes": 1}}, verdicts(*[("pass", "ok")] * 3))
    output = h.run()
    assert h.activity_names() == [
        names.START_ROLLOUT,
        names.CHECK_ROLLOUT,
        names.DECIDE_ROLLOUT,
        names.CHECK_ROLLOUT,
        names.DECIDE_ROLLOUT,
        names.CHECK_ROLLOUT,
        names.DECIDE_ROLLOUT,
    ]
    sent = h.inputs(names.DECIDE_ROLLOUT)
    assert [(d["action"], d["share"]) for d in sent] == [("advance", 0.6), ("advance", 0.9), ("promote", 0.9)]
    assert [c.fire_at for c in h.calls if c.kind == "timer"] == [
        later(0) + timedelta(minutes=m) for m in (1, 2, 3)
    ]
    assert "value" in output


def test_linear_stops_at_the_first_breach(replay: Any) -> None:
    h = host(
        replay, {"linear": {"step": 0.25, "interval_minutes": 1}}, verdicts(("pass", "ok"), ("breach", "bad"))
    )
    output = h.run()
    assert [d["action"] for d in h.inputs(names.DECIDE_ROLLOUT)] == ["advance", "rollback"]
    assert "failure" in output


def test_shadow_bakes_its_duration_checking_every_interval_then_promotes(replay: Any, later: Any) -> None:
    h = host(
        replay, {"shadow": {"traffic": 1.0, "duration_minutes": 2}}, verdicts(("pass", "ok"), ("pass", "ok"))
    )
    output = h.run()
    assert h.inputs(names.START_ROLLOUT)[0]["strategy"] == "shadow"
    assert [c.fire_at for c in h.calls if c.kind == "timer"] == [
        later(0) + timedelta(minutes=m) for m in (1, 2)
    ]
    assert h.activity_names().count(names.CHECK_ROLLOUT) == 2
    assert "value" in output


def test_a_breach_found_mid_bake_rolls_back_at_once(replay: Any, later: Any) -> None:
    deployment = {"canary": {"traffic": 0.5, "bake_minutes": 10}, "checks": {"interval_seconds": 30}}
    h = host(
        replay, deployment, verdicts(("insufficient", "too few"), ("pass", "ok"), ("breach", "distance"))
    )
    output = h.run()
    timers = [c.fire_at for c in h.calls if c.kind == "timer"]
    assert timers == [later(0) + timedelta(seconds=s) for s in (30, 60, 90)], "checked every 30 s, not 10 min"
    assert [d["action"] for d in h.inputs(names.DECIDE_ROLLOUT)] == ["rollback"]
    assert output["failure"]["message"] == "canary of version 000003 rolled back: distance"


def test_an_early_insufficient_check_does_not_end_the_bake(replay: Any, later: Any) -> None:
    deployment = {"canary": {"traffic": 0.5, "bake_minutes": 1}, "checks": {"interval_seconds": 30}}
    h = host(replay, deployment, verdicts(("insufficient", "too few"), ("pass", "ok")))
    output = h.run()
    assert [c.fire_at for c in h.calls if c.kind == "timer"] == [
        later(0) + timedelta(seconds=s) for s in (30, 60)
    ]
    assert [d["action"] for d in h.inputs(names.DECIDE_ROLLOUT)] == ["promote"]
    assert "value" in output


def test_a_manual_rollback_wakes_the_bake_and_ends_with_that_decision(replay: Any) -> None:
    ended = state("RolledBack", reason="rollback by hand: bad", actor="admin key (sha256 1234abcd)")
    h = host(
        replay,
        CANARY,
        verdicts(("ended", "rollback by hand: bad")),
        **{names.DECIDE_ROLLOUT: lambda _d: ended},
    )
    h.events = [(names.ROLLOUT_EVENT, {"action": "rollback"})]
    output = h.run()
    assert h.activity_names() == [names.START_ROLLOUT, names.CHECK_ROLLOUT, names.DECIDE_ROLLOUT]
    assert output["failure"]["message"] == (
        "canary of version 000003 rolled back by admin key (sha256 1234abcd): rollback by hand: bad"
    )


def test_a_stray_event_keeps_baking_to_the_same_deadline(replay: Any, later: Any) -> None:
    h = host(replay, CANARY, verdicts(("pass", "early"), ("pass", "ok")))
    h.events = [(names.ROLLOUT_EVENT, {"action": "nothing"})]
    output = h.run()
    assert h.activity_names().count(names.CHECK_ROLLOUT) == 2
    deadline = later(0) + timedelta(seconds=30)
    assert [c.fire_at for c in h.calls if c.kind == "timer"] == [deadline, deadline]
    assert [d["action"] for d in h.inputs(names.DECIDE_ROLLOUT)] == ["promote"]
    assert "value" in output


def test_a_first_deployment_is_switched_directly_without_baking(replay: Any) -> None:
    h = host(
        replay, CANARY, verdicts(), **{names.START_ROLLOUT: lambda _d: state("Promoted", production=None)}
    )
    output = h.run()
    assert h.activity_names() == [names.START_ROLLOUT]
    assert output["value"]["version"] == "000003" and output["value"]["previous"] is None


def test_a_permanent_start_failure_is_returned_as_a_failure(replay: Any) -> None:
    failure = {"step": "rollout-start", "error": "StateConflictError", "message": "already rolling out"}
    h = host(replay, CANARY, verdicts(), **{names.START_ROLLOUT: lambda _d: {"failure": failure}})
    output = h.run()
    assert output["failure"]["error"] == "StateConflictError"


@pytest.mark.parametrize("deployment", [{}, {"strategy": "direct"}, {"alias": "live"}])
def test_a_direct_spec_plans_no_rollout(deployment: dict[str, Any]) -> None:
    assert rollout_input(deploy_input(deployment)) is None


def test_the_pipeline_deploys_a_canary_through_the_rollout_sub_orchestration(replay: Any) -> None:
    spec = {"name": "iris", "target": "species", "deployment": CANARY}
    request = {"pipeline": "iris", "spec": spec, "approval": {"required": False}, "poll_seconds": 2}
    ok = lambda value: lambda _d: {"value": value}  # noqa: E731
    activities = {
        names.START_RUN: ok({"pipeline": "iris", "run_id": RUN}),
        names.INGEST_DATASET: ok(DATASET),
        names.VALIDATE_DATASET: ok(DATASET),
        names.EVALUATE_MODEL: ok({"passed": True}),
        names.REGISTER_MODEL: ok(MODEL),
        names.FINISH_RUN: ok({"pipeline": "iris", "run_id": RUN}),
    }
    rolled_back = {
        "failure": {
            "step": "rollout",
            "error": "RolledBack",
            "message": "canary of version 000003 rolled back: error rate",
            "status": "GateRejected",
        }
    }
    candidate = {"blob": "b", "sha256": "ab" * 32, "size": 1, "job": "j"}
    h = replay(
        training_pipeline,
        request,
        activities=activities,
        subs={names.TRAINING_JOB: lambda _d: {"value": candidate}, names.ROLLOUT: lambda _d: rolled_back},
        instance_id=RUN,
    )
    output = h.run()
    assert names.DEPLOY_MODEL not in h.activity_names()
    assert h.activity_names()[-2:] == [names.ROLLOUT, names.FINISH_RUN]
    sub = h.inputs(names.ROLLOUT)[0]
    assert sub["strategy"] == "canary" and sub["steps"] == [{"share": 0.1, "seconds": 30.0}]
    assert output["status"] == "GateRejected"
    assert output["reason"] == "canary of version 000003 rolled back: error rate"
