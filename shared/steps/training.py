"""Training steps: build the job folder, submit idempotently, poll, mirror checkpoints, collect.

The job name derives from the run id, so a re-run submit activity finds the job it started
before instead of starting a second one. ``local`` compute keeps jobs under the settings' work
folder (stable across host restarts); the job itself mirrors its checkpoints to Blob
(``checkpoints/<job>/``) so they outlive the machine. ``azureml`` submits an Azure ML command job.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import polars as pl

from shared.compute.azureml import AzureMLCompute
from shared.compute.base import Compute, job_name_for
from shared.compute.local import LocalCompute
from shared.errors import ConfigurationError, NotFoundError, ValidationError
from shared.pipeline.spec import PipelineSpec
from shared.settings import Settings
from shared.steps import scripts
from shared.steps.datasets import read_frame
from shared.storage.factory import Storage
from shared.training.folder import write_job_folder
from shared.training.spec import JobSpec

NUMERIC = (
    pl.Float32,
    pl.Float64,
    pl.Int8,
    pl.Int16,
    pl.Int32,
    pl.Int64,
    pl.UInt8,
    pl.UInt16,
    pl.UInt32,
    pl.UInt64,
    pl.Boolean,
)


def work_root(settings: Settings) -> Path:
    """The local folder of jobs and their data (stable across restarts)."""
    return Path(settings.work_dir) if settings.work_dir else Path(tempfile.gettempdir()) / "mlops-work"


def compute_for(spec: PipelineSpec, settings: Settings) -> Compute:
    """The compute backend the spec asks for."""
    if spec.compute.kind == "local":
        return LocalCompute(work_root(settings) / "jobs")
    if not (
        settings.azureml_subscription_id and settings.azureml_resource_group and settings.azureml_workspace
    ):
        raise ConfigurationError(
            "azureml compute needs MLOPS_AZUREML_SUBSCRIPTION_ID/_RESOURCE_GROUP/_WORKSPACE"
        )
    return AzureMLCompute.for_workspace(
        settings.azureml_subscription_id, settings.azureml_resource_group, settings.azureml_workspace
    )


def trainer_config(spec: PipelineSpec) -> dict[str, Any]:
    """The training job's trainer dict from the spec's trainer section."""
    t = spec.trainer
    if t.kind == "sklearn":
        return {"type": "sklearn", "model": t.model, **t.params}
    if t.kind == "torch_mlp":
        return {
            "type": "torch_mlp",
            "hidden": list(t.hidden),
            "epochs": t.epochs,
            "lr": t.lr,
            "batch_size": t.batch_size,
        }
    # The script's sha256 is added when submit stages the verified script (scripts.stage_script).
    return {"type": "command", "script": t.script, "args": list(t.args)}


def _job_dirs(settings: Settings, job_name: str) -> tuple[Path, Path]:
    root = work_root(settings)
    return root / "data" / job_name, root / "out" / job_name


def submit(
    storage: Storage, settings: Settings, spec: PipelineSpec, run_id: str, dataset: dict[str, Any]
) -> dict[str, Any]:
    """Submit the run's training job, or find the one submitted before (same name)."""
    job_name = job_name_for(run_id)
    data_dir, out_dir = _job_dirs(settings, job_name)
    if not (data_dir / "job.json").exists():
        splits = dataset["splits"]
        train = read_frame(storage, splits["train"])
        features = [c for c, dtype in train.schema.items() if c != spec.target and dtype in NUMERIC]
        if not features:
            raise ValidationError("the dataset has no numeric feature columns", field="features")
        job = JobSpec(
            target=spec.target,
            task=spec.task,
            features=features,
            trainer=(
                scripts.stage_script(storage, spec.trainer, data_dir)
                if spec.trainer.kind == "command"
                else trainer_config(spec)
            ),
            seed=spec.split.seed,
        )
        holdout = read_frame(storage, splits["holdout"]) if "holdout" in splits else None
        write_job_folder(data_dir, job, train, read_frame(storage, splits["validation"]), holdout)
    config: dict[str, Any] = {}
    if spec.compute.kind == "azureml":
        config = {"cluster": spec.compute.cluster, "instance_type": spec.compute.instance_type}
    handle = compute_for(spec, settings).submit(job_name, data_dir, out_dir, config)
    return {
        "name": job_name,
        "backend": handle.backend,
        "location": handle.location,
        "created": handle.created,
    }


def status(storage: Storage, settings: Settings, spec: PipelineSpec, job: dict[str, Any]) -> dict[str, Any]:
    """The job's state (a local job mirrors its own checkpoints to Blob every epoch)."""
    current = compute_for(spec, settings).status(job["name"])
    return {
        "state": current.state,
        "attempt": current.attempt,
        "error": current.message or "",
        "log_tail": current.log_tail[-2000:],
    }


def cancel(settings: Settings, spec: PipelineSpec, job: dict[str, Any]) -> dict[str, Any]:
    """Cancel the job."""
    return {"state": compute_for(spec, settings).cancel(job["name"]).state}


def collect(storage: Storage, settings: Settings, run_id: str, job: dict[str, Any]) -> dict[str, Any]:
    """Upload the job's model.onnx as the run's candidate (sha256 recorded) with its metrics."""
    _, out_dir = _job_dirs(settings, job["name"])
    model_path = out_dir / "model.onnx"
    if not model_path.is_file():
        raise NotFoundError(f"training job {job['name']} produced no model.onnx in {out_dir}", field="job")
    metrics = json.loads((out_dir / "metrics.json").read_text())
    signature_path = out_dir / "signature.json"
    signature = json.loads(signature_path.read_text()) if signature_path.is_file() else {}
    ref = storage.blobs.put_file("models", f"candidates/{run_id}/model.onnx", model_path)
    return {
        "blob": ref.name,
        "sha256": ref.sha256,
        "size": ref.size,
        "metrics": metrics,
        "signature": signature,
        "job": job["name"],
    }
