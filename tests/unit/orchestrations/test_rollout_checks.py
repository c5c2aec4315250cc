"""The bake check's comparison (pure): each threshold breaches alone, with the numbers named."""

from __future__ import annotations

from shared.pipeline.operations import RolloutChecks
from shared.steps.rollout_telemetry import VersionStats, compare, prediction_distance
from shared.steps.routing import bucket, to_candidate

CHECKS = RolloutChecks(min_requests=10)


def stats(
    requests: int = 100, errors: int = 0, latency: float = 1.0, predictions: list[object] | None = None
) -> VersionStats:
    """Evidence of one version."""
    labels = predictions if predictions is not None else [0, 1] * (requests // 2)
    return VersionStats(
        requests=requests, errors=errors, latencies_ms=[latency] * requests, predictions=labels
    )


def test_equal_versions_pass() -> None:
    result = compare(stats(), stats(), CHECKS)
    assert result.verdict == "pass" and result.numbers["prediction_distance"] == 0.0


def test_a_higher_error_rate_breaches() -> None:
    result = compare(stats(errors=1), stats(errors=10), CHECKS)
    assert result.verdict == "breach" and result.reason.startswith("error rate 10.00% vs production 1.00%")
    assert result.numbers["error_rate_increase"] == 0.09


def test_a_slower_candidate_breaches_only_past_the_slack() -> None:
    assert compare(stats(latency=1.0), stats(latency=4.0), CHECKS).verdict == "pass", (
        "3 ms is within the slack"
    )
    result = compare(stats(latency=10.0), stats(latency=30.0), CHECKS)
    assert result.verdict == "breach" and "latency p95 30.0 ms vs production 10.0 ms" in result.reason


def test_a_constant_candidate_breaches_on_distance() -> None:
    result = compare(stats(predictions=[0, 1, 1] * 40), stats(predictions=[1] * 100), CHECKS)
    assert result.verdict == "breach" and "Jensen-Shannon" in result.reason
    assert result.numbers["prediction_distance"] > 0.2


def test_too_few_requests_is_insufficient_never_a_pass() -> None:
    result = compare(stats(), stats(requests=4, errors=4), CHECKS)
    assert result.verdict == "insufficient"
    assert result.reason == "insufficient traffic: candidate scored 4 requests (need 10)"


def test_regression_values_are_compared_in_production_deciles() -> None:
    reference = [float(i) for i in range(1000)]
    assert prediction_distance(reference, [float(i) + 0.5 for i in range(1000)]) < 0.05
    assert prediction_distance(reference, [5000.0] * 1000) > 0.5


def test_routing_keys_have_a_fixed_place_per_rollout() -> None:
    assert bucket("run-1", "user-7") == bucket("run-1", "user-7")
    assert bucket("run-1", "user-7") != bucket("run-2", "user-7")
    share = sum(to_candidate("run-1", 0.2, f"k{i}") for i in range(10_000)) / 10_000
    assert abs(share - 0.2) < 0.02
