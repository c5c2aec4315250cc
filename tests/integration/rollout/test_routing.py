"""Routing under a rollout, in-process against Azurite: shares, sticky keys, shadow copies, evidence."""

from __future__ import annotations

import io
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import polars as pl

from shared.steps import rollout
from shared.steps import rollout_telemetry as telemetry
from shared.steps.inference_log import LOG_CONTAINER, list_parts
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


def _wait(condition: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.1)


def test_served_shares_follow_the_split_and_a_routing_key_keeps_its_version(
    trained: Models, registered: Register
) -> None:
    spec, versions = registered("good", "other")
    _start(trained, spec.name, versions["other"], "canary", 0.1)
    srv = server(trained.storage, ttl=60.0, sync_log=False)  # 6,400 requests; the logs are not read here
    row = trained.rows[0]
    served = Counter(srv.score(spec.name, {"rows": [row]}, sample_rate=0.0)["version"] for _ in range(2000))
    assert abs(served[versions["other"]] / 2000 - 0.1) <= 0.03, served
    assert set(served) == {versions["good"], versions["other"]}

    keyed = {
        f"user-{i}": srv.score(spec.name, {"rows": [row], "routing_key": f"user-{i}"}, sample_rate=0.0)[
            "version"
        ]
        for i in range(2000)
    }
    share = sum(v == versions["other"] for v in keyed.values()) / len(keyed)
    assert abs(share - 0.1) <= 0.03, share
    for key in list(keyed)[:200]:  # the same key always gets the same version
        again = srv.score(spec.name, {"rows": [row], "routing_key": key}, sample_rate=0.0)["version"]
        assert again == keyed[key]

    # A linear step only raises the share: a key on the candidate stays there.
    rollout.advance(trained.storage, spec.name, "production", f"{spec.name}-run1", 0.5, {})
    raised = server(trained.storage, ttl=60.0, sync_log=False)
    for key, version in keyed.items():
        now = raised.score(spec.name, {"rows": [row], "routing_key": key}, sample_rate=0.0)["version"]
        if version == versions["other"]:
            assert now == version
    for each in (srv, raised):  # nothing left for an exit-time flush after Azurite has stopped
        each.telemetry.flush()
        each.log.flush()
        each.predictions.flush()


def test_a_bad_routing_key_is_a_400_naming_it(trained: Models, registered: Register) -> None:
    spec, _ = registered("good")
    srv = server(trained.storage)
    try:
        srv.score(spec.name, {"rows": [trained.rows[0]], "routing_key": {"a": 1}}, sample_rate=0.0)
    except Exception as exc:
        assert getattr(exc, "field", None) == "routing_key"
    else:
        raise AssertionError("a dict routing key was accepted")


def test_the_check_passes_a_good_candidate_and_breaches_a_constant_one(
    trained: Models, registered: Register
) -> None:
    checks = trained.spec.deployment.checks
    for label, verdict in (("other", "pass"), ("constant", "breach")):
        spec, versions = registered("good", label)
        record = _start(trained, spec.name, versions[label], "canary", 0.5)
        srv = server(trained.storage, ttl=60.0)
        for i, row in enumerate(trained.rows[:160]):
            srv.score(spec.name, {"rows": [row], "routing_key": str(i)}, sample_rate=0.0)
        srv.telemetry.flush()
        stats = telemetry.collect(trained.storage, spec.name, record.rollout_id, record.step_started_at)
        result = telemetry.compare(stats[versions["good"]], stats[versions[label]], checks)
        assert result.verdict == verdict, result
        assert (
            result.numbers["candidate"]["requests"] >= 30 and result.numbers["production"]["requests"] >= 30
        )
        if verdict == "breach":
            assert result.numbers["prediction_distance"] > checks.max_prediction_distance
            assert "prediction distribution distance" in result.reason


def test_too_little_traffic_is_reported_as_such(trained: Models, registered: Register) -> None:
    spec, versions = registered("good", "other")
    record = _start(trained, spec.name, versions["other"], "canary", 0.5)
    srv = server(trained.storage)
    for row in trained.rows[:4]:
        srv.score(spec.name, {"rows": [row]}, sample_rate=0.0)
    srv.telemetry.flush()
    stats = telemetry.collect(trained.storage, spec.name, record.rollout_id, record.step_started_at)
    empty = telemetry.VersionStats()
    result = telemetry.compare(
        stats.get(versions["good"], empty),
        stats.get(versions["other"], empty),
        trained.spec.deployment.checks,
    )
    assert result.verdict == "insufficient"
    assert result.reason.startswith("insufficient traffic: ") and "need 30" in result.reason


def test_shadow_callers_get_production_and_the_candidate_answers_are_logged(
    trained: Models, registered: Register
) -> None:
    spec, versions = registered("good", "constant")
    record = _start(trained, spec.name, versions["constant"], "shadow", 1.0)
    srv = server(trained.storage, ttl=60.0)
    alone = server(trained.storage, ttl=60.0)
    since = datetime.now(UTC) - timedelta(minutes=1)
    rows = trained.rows[:40]
    for row in rows:
        answer = srv.score(spec.name, {"rows": [row]}, sample_rate=1.0)
        assert answer["version"] == versions["good"]
        # the same answer production alone gives (the constant candidate's never reach a caller)
        ids = [answer["predictions"][0]["id"]]
        alone_answer = alone._run(
            spec.name, alone.resolve(spec.name), {"rows": [row]}, 0.0, None, ids, datetime.now(UTC)
        )
        assert answer["predictions"] == alone_answer[0]

    def logged() -> dict[str, Any]:
        srv.telemetry.flush()
        return telemetry.collect(trained.storage, spec.name, record.rollout_id, None)

    _wait(lambda: logged().get(versions["constant"], telemetry.VersionStats()).requests == len(rows))
    stats = logged()
    assert stats[versions["good"]].requests == len(rows)
    assert set(map(str, stats[versions["constant"]].predictions)) == {"1"}, "the candidate's own answers"
    # The inference log holds both versions' rows, each under the version that produced them.
    by_version: Counter[str] = Counter()
    for part in list_parts(trained.storage, spec.name, since, datetime.now(UTC) + timedelta(minutes=1)):
        data = trained.storage.blobs.get_bytes(LOG_CONTAINER, part.name)
        by_version[part.version] += pl.read_parquet(io.BytesIO(data)).height
    assert by_version[versions["good"]] == len(rows) and by_version[versions["constant"]] == len(rows)
