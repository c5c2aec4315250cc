"""Fixtures for rollout tests on Azurite: a good and a degenerate (constant) model of one dataset."""

from __future__ import annotations

import io
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from shared.pipeline.spec import PipelineSpec, load_spec_file
from shared.settings import load_settings
from shared.steps import datasets, models, pipelines
from shared.storage.factory import Storage
from shared.training.folder import write_job_folder
from shared.training.job import run_job
from shared.training.spec import JobSpec
from tests.integration.rollout.support import Models

ROOT = Path(__file__).resolve().parents[3]
#: A degenerate model: the prior plus one stage that barely moves it, so every row gets one class.
CONSTANT_TRAINER = {"model": "gradient_boosting", "n_estimators": 1, "max_depth": 1, "learning_rate": 1e-9}


@pytest.fixture(scope="module")
def trained(azurite_connection_string: str, tmp_path_factory: pytest.TempPathFactory) -> Models:
    """Breast cancer: logistic regression at C=1 (good) and C=0.5 (good, other bytes), and a one-stage
    boosting model with a vanishing learning rate that answers the prior's class for every row (constant)."""
    work = tmp_path_factory.mktemp("rollout")
    settings = load_settings(
        environ={"AzureWebJobsStorage": azurite_connection_string, "MLOPS_WORK_DIR": str(work)}
    )
    storage = Storage.from_settings(settings)
    storage.ensure_all()
    data = load_spec_file(ROOT / "examples" / "breast_cancer.yaml").model_dump(mode="json")
    data["name"] = f"ro-base-{uuid.uuid4().hex[:8]}"
    spec = PipelineSpec.model_validate(data)
    validation = datasets.validate(storage, spec, datasets.ingest(storage, spec)["version"])
    frames = {
        split: pl.read_parquet(io.BytesIO(storage.blobs.get_bytes("datasets", blob)))
        for split, blob in validation["splits"].items()
    }
    features = [c for c in frames["train"].columns if c != spec.target]
    candidates: dict[str, dict[str, Any]] = {}
    trainers = {
        "good": {"model": "logistic_regression", "C": 1.0},
        "other": {"model": "logistic_regression", "C": 0.5},
        "constant": CONSTANT_TRAINER,
    }
    for label, trainer in trainers.items():
        job = JobSpec(
            target=spec.target,
            task=spec.task,
            features=features,
            trainer={"type": "sklearn", **trainer},
            seed=spec.split.seed,
        )
        folder = work / label
        write_job_folder(folder / "data", job, frames["train"], frames["validation"])
        result = run_job(folder / "data", folder / "out")
        ref = storage.blobs.put_file(
            "models", f"candidates/{spec.name}/{label}.onnx", folder / "out" / "model.onnx"
        )
        signature = {"sha256": result.sha256, **result.signature.model_dump(mode="json")}
        candidates[label] = {"blob": ref.name, "sha256": ref.sha256, "signature": signature, "metrics": {}}
    rows = frames["holdout"].drop(spec.target).to_dicts() + frames["validation"].drop(spec.target).to_dicts()
    return Models(storage=storage, spec=spec, candidates=candidates, rows=rows)


@pytest.fixture
def registered(trained: Models) -> Iterator[Callable[..., tuple[PipelineSpec, dict[str, str]]]]:
    """A fresh model name with versions registered for the given labels; the first is deployed."""

    def make(*labels: str, deployment: dict[str, Any] | None = None) -> tuple[PipelineSpec, dict[str, str]]:
        data = trained.spec.model_dump(mode="json")
        data["name"] = f"ro-{uuid.uuid4().hex[:10]}"
        data["deployment"] = deployment or {"alias": "production"}
        spec = PipelineSpec.model_validate(data)
        storage = trained.storage
        pipelines.register_spec(storage, spec)
        dataset = datasets.validate(storage, spec, datasets.ingest(storage, spec)["version"])
        versions: dict[str, str] = {}
        for i, label in enumerate(labels):
            summary = models.register(
                storage, spec, f"{spec.name}-run{i}", dataset, trained.candidates[label], {}
            )
            versions[label] = summary["version"]
            if i == 0:
                models.deploy(storage, spec, f"{spec.name}-run0", summary)
        return spec, versions

    yield make
