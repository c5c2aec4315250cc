"""Test support for prediction ids and feedback: a quickly trained classifier deployed on Azurite."""

from __future__ import annotations

import io
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from shared.pipeline.spec import PipelineSpec, load_spec_file
from shared.steps import datasets, models, pipelines
from shared.storage.factory import Storage
from shared.storage.records import ModelRecord
from shared.training.folder import write_job_folder
from shared.training.job import run_job
from shared.training.spec import JobSpec

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Deployed:
    """A breast-cancer logistic regression deployed to production under its own name."""

    storage: Storage
    spec: PipelineSpec
    record: ModelRecord
    holdout: pl.DataFrame

    @property
    def name(self) -> str:
        """Model (= pipeline) name."""
        return self.spec.name

    def rows(self, n: int) -> list[dict[str, Any]]:
        """``n`` holdout rows as a scoring client sends them (features only)."""
        return self.holdout.drop(self.spec.target).head(n).to_dicts()


def deploy_classifier(storage: Storage, work: Path, prefix: str = "fb") -> Deployed:
    """Ingest, validate, train (in this process, ~1 s), register and deploy a fresh model name."""
    data = load_spec_file(ROOT / "examples" / "breast_cancer.yaml").model_dump(mode="json")
    data["name"] = f"{prefix}-{uuid.uuid4().hex[:10]}"
    data["trainer"] = {"kind": "sklearn", "model": "logistic_regression", "params": {}}
    spec = PipelineSpec.model_validate(data)
    pipelines.register_spec(storage, spec)
    dataset = datasets.validate(storage, spec, datasets.ingest(storage, spec)["version"])
    frames = {
        split: pl.read_parquet(io.BytesIO(storage.blobs.get_bytes("datasets", blob)))
        for split, blob in dataset["splits"].items()
    }
    job = JobSpec(
        target=spec.target,
        task=spec.task,
        features=[c for c in frames["train"].columns if c != spec.target],
        trainer={"type": "sklearn", "model": "logistic_regression"},
        seed=spec.split.seed,
    )
    write_job_folder(work / "data", job, frames["train"], frames["validation"])
    result = run_job(work / "data", work / "out")
    ref = storage.blobs.put_file("models", f"candidates/{spec.name}/model.onnx", work / "out" / "model.onnx")
    signature = {"sha256": result.sha256, **result.signature.model_dump(mode="json")}
    candidate = {"blob": ref.name, "sha256": ref.sha256, "signature": signature, "metrics": {}}
    run_id = f"{spec.name}-run1"
    summary = models.register(storage, spec, run_id, dataset, candidate, {"metrics": {}})
    models.deploy(storage, spec, run_id, summary)
    record = models.champion_of(storage, spec.name, spec.deployment.alias)
    assert record is not None
    return Deployed(storage=storage, spec=spec, record=record, holdout=frames["holdout"])
