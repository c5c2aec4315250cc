"""Prediction ids under a rollout: the predictions log keeps the answer the caller got, and its version."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import polars as pl

from shared.steps import rollout
from shared.steps import rollout_telemetry as telemetry
from shared.steps.feedback import joined_window
from tests.integration.rollout.support import Models, server

Register = Callable[..., Any]


def _start(trained: Models, name: str, candidate: str, strategy: str, share: float) -> rollout.RolloutRecord:
    return rollout.start(
        trained.storage,
        pipeline=name,
        rollout_id=f"{name}-run1",
        model=name,
        alias="production",
        candidate=candidate,
        strategy=strategy,
        share=share,
        steps=1,
    )


def _window(trained: Models, name: str) -> pl.DataFrame:
    now = datetime.now(UTC)
    return joined_window(trained.storage, name, now - timedelta(hours=1), now + timedelta(minutes=1))


def test_a_shadow_candidate_never_enters_the_predictions_log(trained: Models, registered: Register) -> None:
    spec, versions = registered("good", "constant")
    record = _start(trained, spec.name, versions["constant"], "shadow", 1.0)
    srv = server(trained.storage, ttl=60.0)
    answers = [srv.score(spec.name, {"rows": [row]})["predictions"][0] for row in trained.rows[:12]]

    def shadowed() -> int:
        srv.telemetry.flush()
        stats = telemetry.collect(trained.storage, spec.name, record.rollout_id, None)
        return stats.get(versions["constant"], telemetry.VersionStats()).requests

    deadline = time.monotonic() + 20
    while shadowed() < len(answers):  # the shadow scored every copy before we look
        assert time.monotonic() < deadline, "the shadow did not score in time"
        time.sleep(0.1)
    window = _window(trained, spec.name)
    assert window.height == len(answers), "one row per answered request, none for the shadow's copies"
    assert set(window["version"]) == {versions["good"]}
    assert dict(zip(window["id"], window["prediction"], strict=True)) == {
        a["id"]: a["label"] for a in answers
    }


def test_a_canary_answer_is_logged_under_the_candidate_version(trained: Models, registered: Register) -> None:
    spec, versions = registered("good", "other")
    _start(trained, spec.name, versions["other"], "canary", 1.0)  # every request to the candidate
    srv = server(trained.storage, ttl=60.0)
    answers = [srv.score(spec.name, {"rows": trained.rows[:5]}) for _ in range(2)]
    assert {a["version"] for a in answers} == {versions["other"]}
    window = _window(trained, spec.name)
    assert window.height == 10 and set(window["version"]) == {versions["other"]}
    assert set(window["id"]) == {p["id"] for a in answers for p in a["predictions"]}
