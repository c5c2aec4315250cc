"""Activities parse their input at the edge: a malformed one is a typed failure, never a crash."""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from orchestrations import names

ROOT = Path(__file__).resolve().parents[3]
ACTIVITIES = [
    names.START_RUN,
    names.INGEST_DATASET,
    names.VALIDATE_DATASET,
    names.SUBMIT_TRAINING_JOB,
    names.GET_TRAINING_JOB_STATUS,
    names.COLLECT_TRAINING_OUTPUT,
    names.EVALUATE_MODEL,
    names.AWAIT_APPROVAL,
    names.VERIFY_APPROVAL,
    names.REGISTER_MODEL,
    names.DEPLOY_MODEL,
    names.FINISH_RUN,
    names.START_ROLLOUT,
    names.CHECK_ROLLOUT,
    names.DECIDE_ROLLOUT,
    names.PLAN_DATASET_PARTS,
    names.SURVEY_DATASET_PART,
    names.MERGE_DATASET_SURVEYS,
    names.VALIDATE_DATASET_PART,
    names.MERGE_DATASET_PARTS,
]


@pytest.fixture(scope="module")
def activities() -> dict[str, Callable[[dict[str, Any]], dict[str, Any]]]:
    """The app's activity functions by activity name, as the worker indexes them."""
    # Loaded from its file: in-process devhost loader tests leave other apps' `function_app` in
    # sys.modules (and their folders on sys.path), so a plain import could find a probe app.
    spec = importlib.util.spec_from_file_location("function_app", ROOT / "function_app.py")
    assert spec is not None and spec.loader is not None
    function_app = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(function_app)

    found = {}
    for fn in function_app.app.get_functions():
        trigger = fn.get_trigger()
        if trigger.type == "activityTrigger":
            found[trigger.activity or fn.get_function_name()] = fn.get_user_function()
    return found


def test_every_activity_name_is_served(activities: dict[str, Any]) -> None:
    assert sorted(activities) == sorted(ACTIVITIES)


@pytest.mark.parametrize("name", ACTIVITIES)
def test_malformed_input_is_a_typed_failure_naming_the_fields(activities: dict[str, Any], name: str) -> None:
    reply = activities[name]({"pipeline": "iris"})
    assert reply["value"] is None
    failure = reply["failure"]
    assert failure["error"] == "ValidationError" and failure["status"] == "Failed"
    assert failure["message"].startswith("bad activity input: run_id: Field required")
    assert "errors.pydantic.dev" not in failure["message"]
