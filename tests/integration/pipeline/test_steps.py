"""The pipeline's steps in orchestrator order against real Azurite and a real local training job."""

from __future__ import annotations

import io
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from shared.errors import IntegrityError, NotFoundError, ValidationError
from shared.models.onnx_io import ModelCache
from shared.pipeline.spec import PipelineSpec, load_spec_file
from shared.settings import Settings, load_settings
from shared.steps import datasets, models, runs, training
from shared.steps.inference_log import LogWindow
from shared.storage.factory import Storage
from tests.scoring_support import score_rows

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def env(
    azurite_connection_string: str, tmp_path: Path, unique: str
) -> tuple[Storage, Settings, PipelineSpec]:
    settings = load_settings(
        environ={"AzureWebJobsStorage": azurite_connection_string, "MLOPS_WORK_DIR": str(tmp_path / "work")}
    )
    storage = Storage.from_settings(settings)
    storage.ensure_all()
    spec = load_spec_file(ROOT / "examples" / "breast_cancer.yaml")
    data = spec.model_dump(mode="json")
    data["name"] = f"bc-{unique}"  # its own registry partition
    data["trainer"]["params"] = {"n_estimators": 30, "max_depth": 2}
    return storage, settings, PipelineSpec.model_validate(data)


def _train(
    storage: Storage, settings: Settings, spec: PipelineSpec, run_id: str, dataset: dict[str, Any]
) -> dict[str, Any]:
    job = training.submit(storage, settings, spec, run_id, dataset)
    again = training.submit(storage, settings, spec, run_id, dataset)
    assert job["created"] and not again["created"], "a re-run submit must find the first job"
    deadline = time.monotonic() + 120
    while True:
        state = training.status(storage, settings, spec, job)
        if state["state"] in ("succeeded", "failed", "cancelled"):
            break
        assert time.monotonic() < deadline, "training did not finish in 120 s"
        time.sleep(0.5)
    assert state["state"] == "succeeded", state
    return training.collect(storage, settings, run_id, job)


def _run(storage: Storage, settings: Settings, spec: PipelineSpec, run_id: str) -> dict[str, Any]:
    runs.start_run(storage, spec.name, run_id)
    dataset = datasets.ingest(storage, spec)
    validation = datasets.validate(storage, spec, dataset["version"])
    candidate = _train(storage, settings, spec, run_id, validation)
    evaluation = models.evaluate(storage, spec, validation, candidate)
    result: dict[str, Any] = {"dataset": dataset, "validation": validation, "evaluation": evaluation}
    if evaluation["passed"]:
        model = models.register(storage, spec, run_id, validation, candidate, evaluation)
        assert (
            models.register(storage, spec, run_id, validation, candidate, evaluation) == model
        )  # idempotent
        result["model"] = model
        result["deployment"] = models.deploy(storage, spec, run_id, model)
    return result


def test_pipeline_steps_take_breast_cancer_from_source_to_a_served_model(
    env: tuple[Storage, Settings, PipelineSpec],
) -> None:
    storage, settings, spec = env
    first = _run(storage, settings, spec, f"{spec.name}-run1")
    v = first["validation"]
    assert v["rows_read"] == 569 and v["rows_accepted"] + v["rows_quarantined"] == 569
    assert sum(v["split_rows"].values()) == v["rows_accepted"]
    assert first["evaluation"]["passed"], first["evaluation"]["decisions"]
    skipped = [d for d in first["evaluation"]["decisions"] if d["status"] == "skipped"]
    assert [d["gate"] for d in skipped] and "champion" in skipped[0]["reason"].lower()
    assert first["model"]["version"] == "000001"
    assert storage.aliases.get(spec.name, "production")[0].version == "000001"

    # same bytes -> same version, nothing new written; the first model is now the champion
    blobs_before = sorted(storage.blobs.list_names("datasets", f"{spec.name}/"))
    second = _run(storage, settings, spec, f"{spec.name}-run2")
    assert second["dataset"]["reused"] and second["dataset"]["version"] == first["dataset"]["version"]
    assert sorted(storage.blobs.list_names("datasets", f"{spec.name}/")) == blobs_before
    champion = [d for d in second["evaluation"]["decisions"] if d["gate"].startswith("champion")]
    assert (
        champion
        and champion[0]["status"] in ("passed", "failed")
        and champion[0]["champion_value"] is not None
    )

    holdout_blob = v["splits"]["holdout"]
    holdout = pl.read_parquet(io.BytesIO(storage.blobs.get_bytes("datasets", holdout_blob)))
    rows = holdout.drop(spec.target).head(3).to_dicts()
    scored = score_rows(storage, ModelCache(), spec.name, {"rows": rows})
    assert len(scored["predictions"]) == 3 and all(p["label"] in (0, 1) for p in scored["predictions"])
    now = datetime.now(UTC)
    with LogWindow(storage, spec.name, now - timedelta(hours=1), now + timedelta(minutes=1)) as window:
        assert window.height == 3, "scored rows must be appended to the inference log"


def test_scoring_rejects_bad_requests_and_tampered_models(
    env: tuple[Storage, Settings, PipelineSpec],
) -> None:
    storage, settings, spec = env
    with pytest.raises(NotFoundError):
        score_rows(storage, ModelCache(), spec.name, {"rows": [{"a": 1}]})
    result = _run(storage, settings, spec, f"{spec.name}-run1")
    features = result["model"]
    champion = models.champion_of(storage, spec.name, spec.deployment.alias)
    row = {name: 1.0 for name in champion.input_schema.get("features", [])}  # type: ignore[union-attr]
    assert row, features
    with pytest.raises(ValidationError) as bad:
        score_rows(storage, ModelCache(), spec.name, {"rows": [{**row, "mean radius": "big"}]})
    assert bad.value.field and "mean radius" in bad.value.field
    record = models.champion_of(storage, spec.name, spec.deployment.alias)
    assert record is not None
    data = bytearray(storage.blobs.get_bytes("models", record.onnx_blob))
    data[-1] ^= 0xFF
    storage.clients.blob.get_blob_client("models", record.onnx_blob).upload_blob(bytes(data), overwrite=True)
    with pytest.raises(IntegrityError):
        score_rows(storage, ModelCache(), spec.name, {"rows": [row]})
