"""Rollouts on devhost through the API and the CLI: a constant canary rolls back mid-bake on its own,
production never changing; a good canary is promoted after its bake; a manual rollback ends a rollout."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sklearn.datasets import load_breast_cancer
from typer.testing import CliRunner

from cli.client import ApiClient, ApiError
from cli.local import LocalStack
from cli.main import app as cli_app

from .test_pipeline_http import spec, wait_for

#: One boosting stage with a vanishing learning rate: the prior's class for every row.
CONSTANT = {
    "model": "gradient_boosting",
    "params": {"n_estimators": 1, "max_depth": 1, "learning_rate": 1e-9},
}
GOOD = {"model": "logistic_regression", "params": {}}
CHECKS = {"interval_seconds": 2, "min_requests": 20}


def _rows() -> list[dict[str, float]]:
    data = load_breast_cancer()
    return [{str(k): float(v) for k, v in zip(data.feature_names, row, strict=True)} for row in data.data]


ROWS = _rows()


def _spec(name: str, trainer: dict[str, Any] | None = None, deployment: dict[str, Any] | None = None) -> Any:
    body = spec(name, gates={})  # no gates: the degenerate model must reach deployment
    if trainer is not None:
        body["trainer"] = {"kind": "sklearn", **trainer}
    body["deployment"] = deployment or {"alias": "production"}
    return body


class Traffic:
    """Scores real rows in the background until stopped; counts the versions that answered."""

    def __init__(self, api: ApiClient, name: str) -> None:
        self.api, self.name = ApiClient(api.url, api.key), name  # its own connection pool
        self.served: Counter[str] = Counter()
        self.refused = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        i = 0
        while not self._stop.is_set():
            row = ROWS[i % len(ROWS)]
            try:
                answer = self.api.post(
                    f"/api/models/{self.name}/score", {"rows": [row], "routing_key": f"k{i}"}
                )
            except ApiError:  # the host is being restarted: keep knocking
                self.refused += 1
                self._stop.wait(0.2)
                continue
            self.served[answer["version"]] += 1
            i += 1

    def __enter__(self) -> Traffic:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)


@pytest.fixture(scope="module")
def model(stack: LocalStack) -> Iterator[str]:
    """A model with a good version 000001 deployed directly."""
    api = ApiClient(stack.url, stack.master_key)
    name = f"ro-{int(time.time() * 1000) % 10**8}"
    run = api.post(f"/api/pipelines/{name}/runs", {"spec": _spec(name)})
    assert stack.log_path is not None
    assert wait_for(api, run["run_id"], stack.log_path)["status"] == "Succeeded"
    yield name


def _serves(api: ApiClient, name: str, version: str, timeout: float = 10) -> None:
    """Wait until 20 requests in a row are answered by ``version`` (serving caches for a few seconds)."""
    deadline = time.monotonic() + timeout
    while {api.post(f"/api/models/{name}/score", {"rows": [r]})["version"] for r in ROWS[:20]} != {version}:
        assert time.monotonic() < deadline, f"still not served by {version} alone"
        time.sleep(0.2)


def _baking(api: ApiClient, name: str, run_id: str, timeout: float = 150) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state: dict[str, Any] = api.get(f"/api/models/{name}/rollout")
        rollout = state.get("rollout") or {}
        if rollout.get("rollout_id") == run_id and rollout.get("status") == "Baking":
            return state
        run = api.get(f"/api/runs/{run_id}")
        assert run["status"] in ("Pending", "Running"), run
        time.sleep(0.3)
    raise AssertionError("the rollout never started")


def test_a_constant_canary_rolls_back_within_its_bake_and_production_never_changes(
    api: ApiClient, model: str, log_of: Path
) -> None:
    canary = {"canary": {"traffic": 0.5, "bake_minutes": 1.5}, "checks": CHECKS}
    run_id = api.post(f"/api/pipelines/{model}/runs", {"spec": _spec(model, CONSTANT, canary)})["run_id"]
    started = _baking(api, model, run_id)
    production = started["production"]
    began = time.monotonic()
    with Traffic(api, model) as traffic:
        run = wait_for(api, run_id, log_of, timeout=120)
    assert time.monotonic() - began < 90, "rolled back within the bake period, not after it"
    assert run["status"] == "GateRejected", run
    assert "prediction distribution distance" in run["reason"] and "rolled back" in run["reason"]
    assert traffic.served[started["rollout"]["candidate"]] > 0, "the canary served some traffic"
    state = api.get(f"/api/models/{model}/rollout")
    assert state["production"] == production
    assert state["rollout"]["status"] == "RolledBack" and state["rollout"]["actor"] == "pipeline"
    assert state["rollout"]["numbers"]["prediction_distance"] > 0.2
    # Everyone is back on production.
    _serves(api, model, production)


def test_a_good_canary_is_promoted_after_its_bake(api: ApiClient, model: str, log_of: Path) -> None:
    canary = {"canary": {"traffic": 0.5, "bake_minutes": 0.2}, "checks": CHECKS}
    run_id = api.post(f"/api/pipelines/{model}/runs", {"spec": _spec(model, GOOD, canary)})["run_id"]
    started = _baking(api, model, run_id)
    candidate = started["rollout"]["candidate"]
    with Traffic(api, model) as traffic:
        run = wait_for(api, run_id, log_of, timeout=120)
    assert run["status"] == "Succeeded", run
    assert traffic.served[candidate] > 0 and traffic.served[started["production"]] > 0
    state = api.get(f"/api/models/{model}/rollout")
    assert state["production"] == candidate and state["rollout"]["status"] == "Promoted"
    _serves(api, model, candidate)  # serving's alias cache lives 2 s

    # Production itself goes back by hand (admin), recorded with who did it.
    result = CliRunner().invoke(
        cli_app, ["rollback", model, "--to", started["production"], "-m", "e2e", "--url", api.url,
                  "--key", str(api.key)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert api.get(f"/api/models/{model}/rollout")["production"] == started["production"]


def test_a_manual_rollback_through_the_cli_ends_a_linear_rollout(
    api: ApiClient, model: str, log_of: Path
) -> None:
    linear = {"linear": {"step": 0.3, "interval_minutes": 2}, "checks": CHECKS}
    run_id = api.post(f"/api/pipelines/{model}/runs", {"spec": _spec(model, GOOD, linear)})["run_id"]
    started = _baking(api, model, run_id)
    runner = CliRunner()
    common = ["--url", api.url, "--key", str(api.key)]
    shown = runner.invoke(cli_app, ["rollout", "status", model, *common])
    assert shown.exit_code == 0 and "Baking at 30%, step 1 of 3" in " ".join(shown.output.split()), (
        shown.output
    )
    done = runner.invoke(cli_app, ["rollout", "rollback", model, "-m", "not today", *common])
    assert done.exit_code == 0, done.output
    run = wait_for(api, run_id, log_of, timeout=60)
    assert run["status"] == "GateRejected" and "rollback by hand: not today" in run["reason"], run
    assert api.get(f"/api/models/{model}/rollout")["production"] == started["production"]
    with pytest.raises(ApiError) as err:  # nothing left to roll back
        api.post(f"/api/models/{model}/rollout", {"action": "rollback"})
    assert err.value.status == 409
    with pytest.raises(ApiError) as bad:
        api.post(f"/api/models/{model}/rollout", {"action": "sideways"})
    assert bad.value.status == 400 and "action" in str(bad.value)


def test_shadow_callers_only_get_production_and_a_constant_shadow_is_rolled_back(
    api: ApiClient, model: str, log_of: Path
) -> None:
    shadow = {"shadow": {"traffic": 1.0, "duration_minutes": 0.25}, "checks": CHECKS}
    run_id = api.post(f"/api/pipelines/{model}/runs", {"spec": _spec(model, CONSTANT, shadow)})["run_id"]
    started = _baking(api, model, run_id)
    with Traffic(api, model) as traffic:
        run = wait_for(api, run_id, log_of, timeout=90)
    assert set(traffic.served) == {started["production"]}, "callers only ever get production's answers"
    assert run["status"] == "GateRejected" and "prediction distribution distance" in run["reason"], run
    numbers = api.get(f"/api/models/{model}/rollout")["rollout"]["numbers"]
    assert numbers["candidate"]["requests"] >= CHECKS["min_requests"], "the candidate scored mirrored copies"
    # a routing key may come as a header too
    keyed = httpx.post(
        f"{api.url}/api/models/{model}/score",
        json={"rows": [ROWS[0]]},
        headers={"x-functions-key": str(api.key), "x-routing-key": "user-1"},
    )
    assert keyed.status_code == 200 and keyed.json()["version"] == started["production"]
