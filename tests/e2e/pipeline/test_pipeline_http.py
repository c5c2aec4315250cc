"""The training pipeline driven over HTTP on devhost, as a user runs it: happy path and bad input."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from cli.client import ApiClient, ApiError
from cli.local import ROOT, LocalStack

TERMINAL = {"Succeeded", "Failed", "DataRejected", "GateRejected", "ApprovalRejected"}


def spec(name: str, **changes: Any) -> dict[str, Any]:
    """The breast-cancer example under another name, with a small fast model."""
    data: dict[str, Any] = yaml.safe_load((ROOT / "examples" / "breast_cancer.yaml").read_text())
    data["name"] = name
    data["trainer"]["params"] = {"n_estimators": 30, "max_depth": 2}
    data["compute"] = {"kind": "local", "poll_seconds": 1}
    data.update(changes)
    return data


def wait_for(api: ApiClient, run_id: str, log: Path, timeout: float = 180) -> dict[str, Any]:
    """Poll the run until it ends."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        record: dict[str, Any] = api.get(f"/api/runs/{run_id}")
        if record["status"] in TERMINAL:
            return record
        time.sleep(0.5)
    raise AssertionError(f"run {run_id} still {record['status']} after {timeout} s; log {log}")


def test_pipeline_trains_gates_registers_deploys_and_serves(
    api: ApiClient, log_of: Path, unique: str
) -> None:
    name = f"bc-{unique}"
    started = api.post(f"/api/pipelines/{name}/runs", {"spec": spec(name)})
    assert started["run_id"].startswith(name) and started["run_url"] == f"/api/runs/{started['run_id']}"
    run = wait_for(api, started["run_id"], log_of)
    assert run["status"] == "Succeeded", run
    assert [s["name"] for s in run["steps"]] == [
        "ingest", "validate", "submit", "train", "evaluate", "register", "deploy",
    ]  # fmt: skip
    assert all(s["status"] == "Succeeded" and s["seconds"] >= 0 for s in run["steps"])
    assert run["model_version"] == "000001" and run["metrics"]["auc"] > 0.95
    assert {g["status"] for g in run["gates"]} >= {"passed", "skipped"}

    model = api.get(f"/api/models/{name}")
    assert model["aliases"] == {"production": "000001"}
    assert model["versions"][0]["run_id"] == started["run_id"]
    assert model["versions"][0]["dataset_version"] == run["dataset_version"]

    row = {f: 1.0 for f in model["versions"][0]["input_schema"]["features"]}
    scored = api.post(f"/api/models/{name}/score", {"rows": [row, row]})
    assert scored["version"] == "000001" and len(scored["predictions"]) == 2

    history = api.get(f"/runtime/webhooks/durabletask/instances/{started['run_id']}", showHistory="true")
    assert history["runtimeStatus"] == "Completed"
    assert history["output"]["status"] == "Succeeded"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"trainer": {"kind": "xgboost"}}, "trainer"),
        ({"target": None}, "target"),
        ({"reject_threshold": 1.5}, "reject_threshold"),
        ({"gates": {"absolute": {"auc": {"min": 2}}}}, "gates.absolute.auc"),
        ({"deployment": {"alias": "production", "canary": {"traffic": 1.5}}}, "deployment.canary.traffic"),
    ],
)
def test_spec_errors_get_400_naming_the_field_and_write_nothing(
    api: ApiClient, unique: str, change: dict[str, Any], field: str
) -> None:
    name = f"bad-{unique}"
    body = {k: v for k, v in {**spec(name), **change}.items() if v is not None}
    with pytest.raises(ApiError) as err:
        api.post(f"/api/pipelines/{name}/runs", {"spec": body})
    assert err.value.status == 400
    assert field in str(err.value)
    assert api.get("/api/runs", pipeline=name)["runs"] == []


def test_unknown_pipeline_is_404_and_bad_json_is_400(api: ApiClient, stack: LocalStack) -> None:
    with pytest.raises(ApiError) as err:
        api.post("/api/pipelines/no-such-pipeline/runs", {})
    assert err.value.status == 404
    resp = httpx.post(
        f"{stack.url}/api/pipelines/x/runs",
        content=b"{not json",
        headers={"x-functions-key": stack.master_key},
    )
    assert resp.status_code == 400 and resp.json()["field"] == "body"


def test_endpoints_need_a_key(stack: LocalStack) -> None:
    assert httpx.get(f"{stack.url}/api/runs").status_code == 401
    assert httpx.post(f"{stack.url}/api/models/x/score", json={"rows": []}).status_code == 401
    assert httpx.get(f"{stack.url}/api/health").status_code == 200  # public probe


def test_scoring_bad_requests_get_400_naming_the_feature(api: ApiClient, log_of: Path, unique: str) -> None:
    name = f"sc-{unique}"
    run = wait_for(api, api.post(f"/api/pipelines/{name}/runs", {"spec": spec(name)})["run_id"], log_of)
    assert run["status"] == "Succeeded"
    features = api.get(f"/api/models/{name}")["versions"][0]["input_schema"]["features"]
    good = {f: 1.0 for f in features}
    cases = {
        "unknown name under strict": ({**good, "colour": 3}, "rows[1].colour", True),
        "wrong type": ({**good, features[1]: "large"}, f"rows[1].{features[1]}", False),
    }
    for case, (row, named, strict) in cases.items():
        with pytest.raises(ApiError) as err:
            api.post(f"/api/models/{name}/score", {"rows": [good, row], "strict": strict})
        assert err.value.status == 400, case
        assert named in str(err.value), case
    # Not errors (issue 10): a field that is no feature is ignored and named; a missing one is imputed.
    lenient = api.post(
        f"/api/models/{name}/score",
        {"rows": [{**good, "colour": 3}, {k: v for k, v in good.items() if k != features[0]}]},
    )
    assert len(lenient["predictions"]) == 2
    assert lenient["ignored_fields"] == ["colour"] and lenient["nulls"] == {features[0]: 1}
    with pytest.raises(ApiError) as err:
        api.post(f"/api/models/{name}/score", {"rows": []})
    assert err.value.status == 400
    with pytest.raises(ApiError) as err:
        api.post("/api/models/never-trained/score", {"rows": [good]})
    assert err.value.status == 404


def test_cost_report_over_http_adds_up_and_is_stored(
    api: ApiClient, stack: LocalStack, log_of: Path, unique: str
) -> None:
    name = f"cost-{unique}"
    body = spec(name, budget={"monthly_usd": 1e-9})  # any cost passes this budget
    run = wait_for(api, api.post(f"/api/pipelines/{name}/runs", {"spec": body})["run_id"], log_of)
    costs = api.get("/api/costs")
    assert run["run_id"] in costs["per_run"]
    assert abs(sum(costs["per_model"].values()) - costs["total"]) < 1e-6
    assert abs(sum(costs["per_day"].values()) - costs["total"]) < 1e-6
    assert any(a["scope"] == f"model:{name}" for a in costs["alerts"])
    stored = api.post("/api/costs/report")
    assert stored["csv"].endswith(".csv") and stored["html"].endswith(".html")
    from shared.settings import load_settings
    from shared.storage.factory import Storage

    storage = Storage.from_settings(
        load_settings(environ={"AzureWebJobsStorage": str(stack.connection_string)})
    )
    assert b"day,item" in storage.blobs.get_bytes("reports", stored["csv"])
    assert any(e.action == "budget_alert" for e in storage.audit.query(pk=f"model:{name}"))


def test_the_diabetes_regressor_runs_with_direction_aware_gates(
    api: ApiClient, log_of: Path, unique: str
) -> None:
    body: dict[str, Any] = yaml.safe_load((ROOT / "examples" / "diabetes.yaml").read_text())
    name = body["name"] = f"diab-{unique}"
    body["compute"] = {"kind": "local", "poll_seconds": 1}
    run = wait_for(api, api.post(f"/api/pipelines/{name}/runs", {"spec": body})["run_id"], log_of)
    assert run["status"] == "Succeeded", run
    assert set(run["metrics"]) >= {"rmse", "mae", "r2"}
    rmse = next(g for g in run["gates"] if g["gate"] == "threshold:rmse")
    assert rmse["status"] == "passed" and rmse["value"] <= rmse["threshold"]  # lower is better
    features = api.get(f"/api/models/{name}")["versions"][0]["input_schema"]["features"]
    [prediction] = api.post(f"/api/models/{name}/score", {"rows": [{f: 0.0 for f in features}]})[
        "predictions"
    ]
    assert isinstance(prediction["value"], float) and "label" not in prediction
