"""The mixed-type churn example end to end on devhost: categoricals, a date, an id and missing
values are trained on inside one ONNX model, the run and the model list every column's role, and
raw records (unseen category, missing value, an id field) are scored over HTTP."""

from __future__ import annotations

import csv
import io
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from cli.client import ApiClient, ApiError
from cli.local import ROOT

TERMINAL = {"Succeeded", "Failed", "DataRejected", "GateRejected", "ApprovalRejected"}
USED = {
    "signup_date": "datetime",
    "plan": "category",
    "region": "category",
    "payment_method": "category",
    "tenure_months": "numeric",
    "monthly_charges": "numeric",
    "support_calls": "numeric",
    "data_usage_gb": "numeric",
    "age": "numeric",
    "discount": "numeric",
}


def _wait(api: ApiClient, run_id: str, log: Path, timeout: float = 240) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    record: dict[str, Any] = {}
    while time.monotonic() < deadline:
        record = api.get(f"/api/runs/{run_id}")
        if record["status"] in TERMINAL:
            return record
        time.sleep(0.5)
    raise AssertionError(f"run {run_id} still {record.get('status')} after {timeout} s; log {log}")


def _raw_rows(data: bytes, n: int) -> list[dict[str, Any]]:
    """CSV rows as a client would send them: numbers as numbers, empty cells as null, ISO dates."""
    rows = []
    for i, row in enumerate(csv.DictReader(io.StringIO(data.decode()))):
        if i == n:
            break
        out: dict[str, Any] = {}
        for key, text in row.items():
            if key == "churned":
                continue
            if text == "":
                out[key] = None
            elif key in ("tenure_months", "support_calls", "age"):
                out[key] = int(text)
            elif key in ("monthly_charges", "data_usage_gb", "discount"):
                out[key] = float(text)
            else:
                out[key] = text
        rows.append(out)
    return rows


def test_mixed_type_example_trains_on_every_non_id_column_and_scores_raw_records(
    api: ApiClient, log_of: Path, unique: str
) -> None:
    data = (ROOT / "examples" / "data" / "churn.csv").read_bytes()
    uploaded = api.upload("/api/data/uploads", data, name="churn.csv")
    spec: dict[str, Any] = yaml.safe_load((ROOT / "examples" / "churn.yaml").read_text())
    name = f"churn-{unique}"
    spec.update(name=name, source=uploaded["source"], compute={"kind": "local", "poll_seconds": 1})
    spec["trainer"]["params"] = {"n_estimators": 60, "max_depth": 3}  # quicker, same shape

    started = api.post(f"/api/pipelines/{name}/runs", {"spec": spec})
    run = _wait(api, started["run_id"], log_of)
    assert run["status"] == "Succeeded", run
    # The run shows every column's role: all ten non-id columns used, the id dropped with why.
    roles = run["details"]["features"]
    assert roles["used"] == USED
    assert list(roles["dropped"]) == ["customer_id"] and roles["dropped"]["customer_id"].startswith("id-like")
    assert run["metrics"]["auc"] > 0.65

    model = api.get(f"/api/models/{name}")
    schema = model["versions"][0]["input_schema"]
    assert schema["features"] == list(USED) and schema["columns"] == USED
    assert schema["dropped"] == roles["dropped"]
    assert [t["type"] for t in schema["inputs"]][:4] == ["float", "string", "string", "string"]

    rows = _raw_rows(data, 4)
    rows[0]["plan"] = "enterprise"  # a category never seen in training
    rows[1]["monthly_charges"] = None  # a missing value
    rows[2].pop("region")  # a left-out field is missing too
    scored = api.post(f"/api/models/{name}/score", {"rows": rows})
    assert len(scored["predictions"]) == 4
    assert all(0.0 <= p["probability"] <= 1.0 for p in scored["predictions"])
    assert scored["ignored_fields"] == ["customer_id"]
    assert scored["unseen_categories"] == {"plan": 1}
    assert scored["nulls"]["monthly_charges"] >= 1 and scored["nulls"]["region"] >= 1

    with pytest.raises(ApiError) as strict:
        api.post(f"/api/models/{name}/score", {"rows": rows, "strict": True})
    assert strict.value.status == 400 and "customer_id" in strict.value.message

    bad = [dict(r) for r in rows]
    bad[1]["age"] = "forty"
    bad[3]["signup_date"] = "2024-02-30"
    with pytest.raises(ApiError) as refused:
        api.post(f"/api/models/{name}/score", {"rows": bad})
    assert refused.value.status == 400
    assert "rows[1].age" in refused.value.message and "rows[3].signup_date" in refused.value.message
    partial = api.post(f"/api/models/{name}/score", {"rows": bad, "partial": True})
    assert partial["rows"] == [0, 2] and len(partial["predictions"]) == 2
    assert [(e["row"], e["field"]) for e in partial["errors"]] == [(1, "age"), (3, "signup_date")]


def test_torch_mlp_trains_on_the_same_raw_columns(api: ApiClient, log_of: Path, unique: str) -> None:
    data = (ROOT / "examples" / "data" / "churn.csv").read_bytes()
    uploaded = api.upload("/api/data/uploads", data, name="churn.csv")
    spec: dict[str, Any] = yaml.safe_load((ROOT / "examples" / "churn.yaml").read_text())
    name = f"churn-mlp-{unique}"
    spec.update(name=name, source=uploaded["source"], compute={"kind": "local", "poll_seconds": 1})
    spec["trainer"] = {"kind": "torch_mlp", "hidden": [32], "epochs": 5, "lr": 0.005}
    spec["gates"] = {"absolute": {"auc": {"min": 0.6}}}
    run = _wait(api, api.post(f"/api/pipelines/{name}/runs", {"spec": spec})["run_id"], log_of)
    assert run["status"] == "Succeeded", run
    assert run["details"]["features"]["used"] == USED
    schema = api.get(f"/api/models/{name}")["versions"][0]["input_schema"]
    assert schema["trainer"] == "torch_mlp" and schema["columns"] == USED
    rows = _raw_rows(data, 2)
    rows[0]["payment_method"] = "crypto"
    scored = api.post(f"/api/models/{name}/score", {"rows": rows})
    assert len(scored["predictions"]) == 2 and scored["unseen_categories"] == {"payment_method": 1}
