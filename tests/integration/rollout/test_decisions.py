"""One decision per rollout, ETag-claimed: rollback leaves production alone, promotion moves it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from shared.errors import StateConflictError
from shared.settings import load_settings
from shared.steps import models, reconcile, rollout
from shared.storage.records import RunRecord
from tests.integration.rollout.support import Models, server

Register = Callable[..., Any]


def _start(trained: Models, name: str, candidate: str) -> rollout.RolloutRecord:
    return rollout.start(
        trained.storage,
        pipeline=name,
        rollout_id=f"{name}-run1",
        model=name,
        alias="production",
        candidate=candidate,
        strategy="canary",
        share=0.2,
        steps=1,
    )


def _audit(trained: Models, name: str) -> list[tuple[str, str]]:
    return [(a.action, a.actor) for a in trained.storage.audit.query(pk=f"model:{name}")]


def test_rollback_keeps_production_and_is_the_only_decision(trained: Models, registered: Register) -> None:
    spec, versions = registered("good", "constant")
    storage = trained.storage
    _start(trained, spec.name, versions["constant"])
    again = _start(trained, spec.name, versions["constant"])  # a retried start changes nothing
    assert again.status == "Baking" and again.production == versions["good"]

    numbers = {"prediction_distance": 0.41}
    record, decided = rollout.end(
        storage,
        spec.name,
        "production",
        again.rollout_id,
        promote=False,
        reason="distance",
        actor="pipeline",
        numbers=numbers,
    )
    assert decided and record.status == "RolledBack" and record.numbers == numbers
    late, decided_late = rollout.end(
        storage, spec.name, "production", again.rollout_id, promote=True, reason="late", actor="someone"
    )
    assert not decided_late and late.status == "RolledBack" and late.reason == "distance"
    assert storage.aliases.get(spec.name, "production")[0].version == versions["good"]
    assert rollout.active(storage, spec.name, "production") is None
    # Serving is back to production for everyone.
    srv = server(storage)
    assert {srv.score(spec.name, {"rows": [r]}, sample_rate=0.0)["version"] for r in trained.rows[:50]} == {
        versions["good"]
    }
    actions = _audit(trained, spec.name)
    assert ("rollout-rollback", "pipeline") in actions and ("rollout-promote", "someone") not in actions
    assert storage.deployments.get(spec.name, again.rollout_id)[0].status == "RolledBack"


def test_promotion_moves_the_alias_and_a_retry_finishes_the_same_move(
    trained: Models, registered: Register
) -> None:
    spec, versions = registered("good", "other")
    storage = trained.storage
    started = _start(trained, spec.name, versions["other"])
    record, decided = rollout.end(
        storage, spec.name, "production", started.rollout_id, promote=True, reason="passed", actor="pipeline"
    )
    assert decided and record.status == "Promoted"
    assert storage.aliases.get(spec.name, "production")[0].version == versions["other"]
    again, decided_again = rollout.end(
        storage, spec.name, "production", started.rollout_id, promote=True, reason="passed", actor="pipeline"
    )
    assert not decided_again and again.status == "Promoted"
    assert storage.aliases.get(spec.name, "production")[0].version == versions["other"]


def test_a_second_rollout_or_a_direct_deploy_is_refused_while_one_bakes(
    trained: Models, registered: Register
) -> None:
    spec, versions = registered("good", "other", "constant")
    _start(trained, spec.name, versions["other"])
    with pytest.raises(StateConflictError):
        rollout.start(
            trained.storage,
            pipeline=spec.name,
            rollout_id="another-run",
            model=spec.name,
            alias="production",
            candidate=versions["constant"],
            strategy="canary",
            share=0.1,
            steps=1,
        )
    with pytest.raises(StateConflictError):
        models.deploy(
            trained.storage, spec, "another-run", {"model": spec.name, "version": versions["constant"]}
        )
    with pytest.raises(StateConflictError):
        rollout.rollback_to(trained.storage, spec.name, "production", versions["good"], "admin")


def test_rollback_to_points_production_at_an_older_version_and_audits_the_actor(
    trained: Models, registered: Register
) -> None:
    spec, versions = registered("good", "other")
    storage = trained.storage
    models.deploy(storage, spec, "run-2", {"model": spec.name, "version": versions["other"]})
    moved = rollout.rollback_to(
        storage, spec.name, "production", versions["good"], "admin key (sha256 x)", "bad"
    )
    assert moved["previous"] == versions["other"] and moved["version"] == versions["good"]
    assert storage.aliases.get(spec.name, "production")[0].version == versions["good"]
    assert ("rollback", "admin key (sha256 x)") in _audit(trained, spec.name)
    with pytest.raises(Exception) as err:
        rollout.rollback_to(storage, spec.name, "production", "000099", "admin")
    assert getattr(err.value, "field", None) == "to"


def test_a_run_that_ends_without_deciding_rolls_its_rollout_back(
    trained: Models, registered: Register, azurite_connection_string: str
) -> None:
    spec, versions = registered("good", "other")
    storage = trained.storage
    started = _start(trained, spec.name, versions["other"])
    storage.runs.upsert(RunRecord(pipeline=spec.name, run_id=started.rollout_id, status="Running"))
    record = storage.runs.get(spec.name, started.rollout_id)[0]
    settings = load_settings(environ={"AzureWebJobsStorage": azurite_connection_string})
    ended = reconcile.end_from_runtime(storage, settings, record, "Terminated", "by an operator", None)
    assert ended.status == "Cancelled"
    rolled = rollout.repository(storage).get(spec.name, "production")[0]
    assert rolled.status == "RolledBack" and rolled.actor == "reconciler"
    assert rolled.reason.startswith("the run ended without a decision: instance terminated")
    assert storage.aliases.get(spec.name, "production")[0].version == versions["good"]
    assert rollout.abandon(storage, spec.name, started.rollout_id, "again") is None, "one decision"
