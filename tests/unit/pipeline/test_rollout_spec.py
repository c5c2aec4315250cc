"""deployment: the rollout strategies, their plans, and the clear errors of a spec that mixes them."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from shared.pipeline.operations import Deployment


@pytest.mark.parametrize(
    ("section", "strategy", "plan"),
    [
        ({}, "direct", []),
        ({"canary": {"traffic": 0.1, "bake_minutes": 0.5}}, "canary", [(0.1, 30.0)]),
        ({"linear": {"step": 0.25, "interval_minutes": 2}}, "linear", [(0.25, 120), (0.5, 120), (0.75, 120)]),
        ({"shadow": {"duration_minutes": 1}}, "shadow", [(1.0, 60.0)]),
        ({"strategy": "canary", "canary": {"traffic": 0.2}}, "canary", [(0.2, 1800.0)]),
    ],
)
def test_each_strategy_has_its_plan(section: dict[str, Any], strategy: str, plan: list[Any]) -> None:
    deployment = Deployment.model_validate(section)
    assert deployment.strategy == strategy and deployment.plan() == plan


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ({"strategy": "canary"}, "strategy canary needs a canary section"),
        ({"canary": {"traffic": 0.1}, "shadow": {}}, "give one rollout section, not canary and shadow"),
        ({"strategy": "direct", "linear": {"step": 0.5}}, "a linear section does not fit strategy direct"),
        ({"linear": {"step": 1.0}}, "linear.step"),
        ({"checks": {"max_prediction_distance": 2}}, "checks.max_prediction_distance"),
        ({"strategy": "blue-green"}, "strategy"),
    ],
)
def test_a_bad_rollout_section_is_refused_naming_it(section: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError) as err:
        Deployment.model_validate(section)
    assert message in str(err.value)


def test_checks_default_to_never_passing_without_traffic() -> None:
    checks = Deployment().checks
    assert checks.allow_insufficient_traffic is False and checks.min_requests == 30
