"""examples/churn_command.yaml end to end on devhost: the shipped command trainer ``onehot.py`` gets
schema.json and the raw churn columns at submission, trains on the categoricals and the date, and
its ONNX scores raw records over HTTP (a null, an unseen category, an ignored id)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml
from azure.storage.blob import BlobServiceClient

from cli.client import ApiClient
from cli.local import ROOT
from shared.compute.base import job_name_for
from shared.compute.handoff import JobHandoff
from tests.e2e.pipeline.test_mixed_types import USED, _raw_rows, _wait


def test_command_trainer_trains_on_raw_columns_and_scores_raw_records(
    api: ApiClient, log_of: Path, unique: str, azurite_connection_string: str
) -> None:
    data = (ROOT / "examples" / "data" / "churn.csv").read_bytes()
    uploaded = api.upload("/api/data/uploads", data, name="churn.csv")
    spec: dict[str, Any] = yaml.safe_load((ROOT / "examples" / "churn_command.yaml").read_text())
    name = f"churn-cmd-{unique}"
    spec.update(name=name, source=uploaded["source"], compute={"kind": "local", "poll_seconds": 1})

    run = _wait(api, api.post(f"/api/pipelines/{name}/runs", {"spec": spec})["run_id"], log_of)
    assert run["status"] == "Succeeded", run
    # Submission staged schema.json with the job's inputs (Azure ML mounts them read-only).
    handoff = JobHandoff(job=job_name_for(run["run_id"]))
    blobs = BlobServiceClient.from_connection_string(azurite_connection_string)
    blob = blobs.get_blob_client(handoff.container, f"{handoff.data}schema.json")
    staged = json.loads(blob.download_blob().readall())
    assert staged["inputs"] == "raw" and {f["name"]: f["kind"] for f in staged["features"]} == USED
    assert run["details"]["features"]["used"] == USED  # categories and the date are features
    assert list(run["details"]["features"]["dropped"]) == ["customer_id"]
    assert run["metrics"]["auc"] > 0.65

    schema = api.get(f"/api/models/{name}")["versions"][0]["input_schema"]
    assert schema["trainer"] == "command" and schema["columns"] == USED

    rows = _raw_rows(data, 3)
    rows[0]["region"] = "atlantis"  # never seen in training
    rows[1]["age"] = None
    scored = api.post(f"/api/models/{name}/score", {"rows": rows})
    assert len(scored["predictions"]) == 3
    assert all(0.0 <= p["probability"] <= 1.0 for p in scored["predictions"])
    assert scored["unseen_categories"] == {"region": 1} and scored["nulls"]["age"] >= 1
    assert scored["ignored_fields"] == ["customer_id"]
