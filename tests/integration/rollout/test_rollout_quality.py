"""Model quality in a rollout's bake check, from ground-truth feedback on live answers (Azurite).

Answers come from the real server under a canary (each request's routing key keeps it on one side),
labels through the feedback intake (``record_feedback``, what the feedback endpoint calls), and the
check and the decision run as the rollout activities do. A candidate whose labeled answers are
worse than production's by more than the threshold is rolled back with both numbers; equal
quality passes; too few labels is no quality decision, never a breach.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from functions import deps
from functions.rollout_activities import check_rollout, decide_rollout
from shared.rollout_contracts import RolloutCheck, RolloutDecide, RolloutRef, RolloutState
from shared.steps import rollout
from shared.steps.feedback_intake import record_feedback
from shared.storage.records import RunRecord
from tests.integration.rollout.support import Models, server

Register = Callable[..., Any]
#: Every check threshold but quality stays quiet: two good models of one dataset, few requests needed.
CHECKS = {"min_requests": 20, "min_labeled": 40, "max_prediction_distance": 1.0, "latency_slack_ms": 1e6}


@pytest.fixture
def canary(
    trained: Models, registered: Register, monkeypatch: pytest.MonkeyPatch
) -> tuple[Any, dict[str, str], rollout.RolloutRecord, list[tuple[str, str, Any]]]:
    """A canary of ``other`` against ``good`` at half the traffic; (id, version, answer) per request."""
    monkeypatch.setattr(deps, "storage", lambda: trained.storage)  # the activities use the test's Azurite
    spec, versions = registered("good", "other", deployment={"alias": "production", "checks": CHECKS})
    storage = trained.storage
    run_id = f"{spec.name}-run1"
    storage.runs.upsert(RunRecord(pipeline=spec.name, run_id=run_id, status="Running"))
    record = rollout.start(
        storage, pipeline=spec.name, rollout_id=run_id, model=spec.name, alias="production",
        candidate=versions["other"], strategy="canary", share=0.5, steps=1,
    )  # fmt: skip
    srv = server(storage, ttl=60.0)
    answers = []
    for i, row in enumerate(trained.rows):
        reply = srv.score(spec.name, {"rows": [row]}, sample_rate=0.0, routing_key=f"user-{i}")
        answers.append((reply["predictions"][0]["id"], reply["version"], reply["predictions"][0]["label"]))
    srv.telemetry.flush()
    return spec, versions, record, answers


def _label(
    trained: Models, spec: Any, answers: list[tuple[str, str, Any]], wrong_for: str | None, per_version: int
) -> dict[str, int]:
    """Feedback for ``per_version`` answers of each version: the answer itself, its other class for
    ``wrong_for``'s answers. Returns how many were labeled per version."""
    classes = list(trained.storage.models.get(spec.name, answers[0][1])[0].input_schema["classes"])
    rows, counts = [], {}
    for pid, version, answer in answers:
        if counts.get(version, 0) >= per_version:
            continue
        counts[version] = counts.get(version, 0) + 1
        label = next(c for c in classes if c != answer) if version == wrong_for else answer
        rows.append({"id": pid, "label": label, "observed_at": datetime.now(UTC).isoformat()})
    assert record_feedback(trained.storage, spec.name, rows)["stored"] == len(rows)
    return counts


def _check(spec: Any, record: rollout.RolloutRecord) -> RolloutCheck:
    ref = RolloutRef(
        pipeline=spec.name, run_id=record.rollout_id, model=spec.name, alias="production",
        rollout_id=record.rollout_id, share=0.5, strategy="canary", spec=spec.model_dump(mode="json"),
    )  # fmt: skip
    reply = check_rollout(ref.to_payload())
    assert reply.get("failure") is None, reply
    return RolloutCheck.model_validate(reply["value"])


def test_a_candidate_with_worse_labeled_answers_is_rolled_back_with_both_numbers(
    trained: Models, canary: Any
) -> None:
    spec, versions, record, answers = canary
    counts = _label(trained, spec, answers, wrong_for=versions["other"], per_version=60)
    assert counts == {versions["good"]: 60, versions["other"]: 60}
    check = _check(spec, record)
    quality = check.numbers["quality"]
    assert check.verdict == "breach", check.reason
    assert quality["decision"] == "breach" and quality["metric"] == "accuracy"
    assert quality["candidate"]["accuracy"] == 0.0 and quality["production"]["accuracy"] == 1.0
    assert quality["candidate"]["labeled"] == 60 and quality["production"]["labeled"] == 60
    assert "accuracy 0.0000 vs production 1.0000" in check.reason
    # The decision the orchestration takes on a breach: roll back, recorded with the numbers.
    decide = RolloutDecide(
        **RolloutRef(
            pipeline=spec.name, run_id=record.rollout_id, model=spec.name, alias="production",
            rollout_id=record.rollout_id, spec=spec.model_dump(mode="json"),
        ).model_dump(),
        action="rollback", reason=check.reason, numbers=check.numbers,
    )  # fmt: skip
    state = RolloutState.model_validate(decide_rollout(decide.to_payload())["value"])
    assert state.status == "RolledBack" and "accuracy 0.0000 vs production 1.0000" in state.reason
    stored = rollout.repository(trained.storage).get(spec.name, "production")[0]
    assert stored.numbers["quality"]["candidate"]["accuracy"] == 0.0
    assert trained.storage.aliases.get(spec.name, "production")[0].version == versions["good"]
    run = trained.storage.runs.get(spec.name, record.rollout_id)[0]
    assert run.details["rollout"]["status"] == "RolledBack"


def test_the_same_quality_on_both_sides_is_no_breach(trained: Models, canary: Any) -> None:
    spec, _, record, answers = canary
    _label(trained, spec, answers, wrong_for=None, per_version=60)
    check = _check(spec, record)
    quality = check.numbers["quality"]
    assert check.verdict == "pass", check.reason
    assert quality["decision"] == "ok" and quality["drop"] == 0.0
    assert quality["candidate"]["accuracy"] == quality["production"]["accuracy"] == 1.0


def test_too_few_labels_is_no_quality_decision_and_no_breach(trained: Models, canary: Any) -> None:
    spec, versions, record, answers = canary
    _label(trained, spec, answers, wrong_for=versions["other"], per_version=10)  # all wrong, but only 10
    check = _check(spec, record)
    quality = check.numbers["quality"]
    assert check.verdict == "pass", check.reason
    assert quality["decision"] == "none" and quality["candidate"]["labeled"] == 10
    assert "no quality decision (10 candidate / 10 production labeled" in check.reason
