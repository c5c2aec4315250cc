"""Fixtures for the drift monitor tests: one quickly trained model, deployed afresh per test, on Azurite."""

from __future__ import annotations

import io
import uuid
from collections.abc import Callable
from pathlib import Path

import polars as pl
import pytest

from shared.pipeline.spec import PipelineSpec, load_spec_file
from shared.settings import load_settings
from shared.steps import datasets, models, pipelines
from shared.storage.factory import Storage
from shared.training.folder import write_job_folder
from shared.training.job import run_job
from shared.training.spec import JobSpec
from tests.integration.monitoring.support import Deployed, Trained

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def trained(azurite_connection_string: str, tmp_path_factory: pytest.TempPathFactory) -> Trained:
    """Breast cancer, logistic regression, trained in-process once (a second or two)."""
    work = tmp_path_factory.mktemp("monitoring")
    settings = load_settings(
        environ={"AzureWebJobsStorage": azurite_connection_string, "MLOPS_WORK_DIR": str(work)}
    )
    storage = Storage.from_settings(settings)
    storage.ensure_all()
    base = load_spec_file(ROOT / "examples" / "breast_cancer.yaml")
    data = base.model_dump(mode="json")
    data["name"] = f"dm-base-{uuid.uuid4().hex[:8]}"
    data["trainer"] = {"kind": "sklearn", "model": "logistic_regression", "params": {}}
    spec = PipelineSpec.model_validate(data)
    validation = datasets.validate(storage, spec, datasets.ingest(storage, spec)["version"])
    frames = {
        split: pl.read_parquet(io.BytesIO(storage.blobs.get_bytes("datasets", blob)))
        for split, blob in validation["splits"].items()
    }
    features = [c for c in frames["train"].columns if c != spec.target]
    job = JobSpec(
        target=spec.target,
        task=spec.task,
        features=features,
        trainer={"type": "sklearn", "model": "logistic_regression"},
        seed=spec.split.seed,
    )
    write_job_folder(work / "data", job, frames["train"], frames["validation"])
    result = run_job(work / "data", work / "out")
    ref = storage.blobs.put_file("models", f"candidates/{spec.name}/model.onnx", work / "out" / "model.onnx")
    signature = {"sha256": result.sha256, **result.signature.model_dump(mode="json")}
    candidate = {"blob": ref.name, "sha256": ref.sha256, "signature": signature, "metrics": {}}
    return Trained(storage=storage, spec=spec, candidate=candidate)


@pytest.fixture
def deploy(trained: Trained) -> Callable[..., Deployed]:
    """Deploy the trained model as a fresh pipeline/model name with the given monitoring settings."""

    def make(
        auto_retrain: bool = True,
        cooldown_hours: float = 24.0,
        alias: str = "production",
        metrics: dict[str, float] | None = None,
        quality: dict[str, object] | None = None,
    ) -> Deployed:
        data = trained.spec.model_dump(mode="json")
        data["name"] = f"dm-{uuid.uuid4().hex[:10]}"
        data["monitoring"] = {
            **data["monitoring"],
            "auto_retrain": auto_retrain,
            "cooldown_hours": cooldown_hours,
            **({"quality": quality} if quality is not None else {}),
        }
        data["deployment"] = {"alias": alias}
        spec = PipelineSpec.model_validate(data)
        storage = trained.storage
        pipelines.register_spec(storage, spec)  # as the HTTP starter does: the spec becomes current
        dataset = datasets.validate(storage, spec, datasets.ingest(storage, spec)["version"])
        run_id = f"{spec.name}-run1"
        summary = models.register(
            storage, spec, run_id, dataset, trained.candidate, {"metrics": metrics or {}}
        )
        models.deploy(storage, spec, run_id, summary)
        record = models.champion_of(storage, spec.name, spec.deployment.alias)
        assert record is not None
        return Deployed(storage=storage, spec=spec, record=record, dataset=dataset)

    return make
