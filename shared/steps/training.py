"""Training steps: stage the job's inputs in Blob, submit idempotently, poll, resubmit after a
preemption, collect the outputs from Blob.

Job names derive from the run id (``job_name_for``; attempt n > 1 is ``<name>-a<n>``), so a
re-run submit activity finds the job it started before. Every backend gets the same Blob hand-off
(shared.compute.handoff): the submit step uploads ``job.json`` and the splits to
``training-jobs/<job>/data/``; the job writes ``<job>/out/`` and ``<job>/checkpoints/``;
``collect`` reads the outputs from Blob and verifies the model's sha256. Attempts are recorded on
the run row (``details.training.attempts``: name, backend, instance type and count, priority,
submitted/running/ended times, state), which is what the cost report prices.
"""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl

from shared.compute.azureml import AzureMLCompute, stage_code
from shared.compute.base import TERMINAL, Compute, attempt_name, job_name_for
from shared.compute.events import training_instance
from shared.compute.handoff import JobHandoff, inputs_staged, job_error, read_outputs, stage_inputs
from shared.compute.local import LocalCompute, storage_environment
from shared.errors import ConfigurationError, ValidationError
from shared.pipeline.spec import PipelineSpec
from shared.settings import Settings
from shared.steps import scripts
from shared.steps.datasets import read_frame
from shared.storage.factory import Storage
from shared.training.features import RAW_COLUMN_TRAINERS, Roles, decide_roles
from shared.training.folder import write_job_folder
from shared.training.spec import JobSpec


def work_root(settings: Settings) -> Path:
    """The local folder of jobs (stable across restarts)."""
    return Path(settings.work_dir) if settings.work_dir else Path(tempfile.gettempdir()) / "mlops-work"


def compute_for(spec: PipelineSpec, settings: Settings, storage: Storage | None = None) -> Compute:
    """The compute backend the spec asks for (given storage, azureml stages the job's code bundle)."""
    if spec.compute.kind == "local":
        return LocalCompute(work_root(settings) / "jobs", env=storage_environment(settings))
    if not (
        settings.azureml_subscription_id and settings.azureml_resource_group and settings.azureml_workspace
    ):
        raise ConfigurationError(
            "azureml compute needs MLOPS_AZUREML_SUBSCRIPTION_ID/_RESOURCE_GROUP/_WORKSPACE"
        )
    return AzureMLCompute.for_workspace(
        settings.azureml_subscription_id,
        settings.azureml_resource_group,
        settings.azureml_workspace,
        code_prefix=stage_code(storage) if storage is not None else None,
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
    return {"type": "command", "script": t.script, "args": list(t.args), "inputs": t.inputs}


def compute_config(spec: PipelineSpec) -> dict[str, Any]:
    """The backend's config: the spec's azureml section as it is (one shape), nothing for local."""
    return spec.compute.model_dump(mode="json") if spec.compute.kind == "azureml" else {}


def column_roles(spec: PipelineSpec, train: pl.DataFrame) -> Roles:
    """Every column's role for this trainer (a matrix-input command trainer gets numeric columns only)."""
    roles = decide_roles(train, spec.target, spec.features)
    other = roles.non_numeric()
    raw = spec.trainer.kind in RAW_COLUMN_TRAINERS or getattr(spec.trainer, "inputs", "matrix") == "raw"
    if raw or not other:
        return roles
    # The command trainer gets the float matrix: say which columns it does not get, and why.
    features = {n: k for n, k in roles.features.items() if n not in other}
    if not features:
        raise ValidationError("the dataset has no numeric feature columns", field="features")
    reason = "a category or date: this command trainer takes the numeric matrix (inputs: raw takes them)"
    dropped = {**roles.dropped, **dict.fromkeys(other, reason)}
    return Roles(target=roles.target, features=features, dropped=dropped)


def _stage(storage: Storage, spec: PipelineSpec, dataset: dict[str, Any], handoff: JobHandoff) -> Roles:
    """Write the job folder (job.json + splits + staged script) to a scratch folder and upload it."""
    splits = dataset["splits"]
    train = read_frame(storage, splits["train"])
    roles = column_roles(spec, train)
    with tempfile.TemporaryDirectory(prefix="mlops-stage-") as scratch:
        folder = Path(scratch) / "data"
        job = JobSpec(
            target=spec.target,
            task=spec.task,
            features=list(roles.features),
            feature_types=dict(roles.features),
            dropped=dict(roles.dropped),
            numeric_impute=spec.features.numeric_impute,
            trainer=(
                scripts.stage_script(storage, spec.trainer, folder)
                if spec.trainer.kind == "command"
                else trainer_config(spec)
            ),
            seed=spec.split.seed,
        )
        holdout = read_frame(storage, splits["holdout"]) if "holdout" in splits else None
        write_job_folder(folder, job, train, read_frame(storage, splits["validation"]), holdout)
        if spec.trainer.kind == "command":
            from shared.training.trainers.command import write_schema  # onnx: not on the cold path

            write_schema(folder, job, train)
        stage_inputs(storage, handoff, folder)
    return roles


def _now() -> str:
    return datetime.now(UTC).isoformat()


def attempts_of(storage: Storage, pipeline: str, run_id: str) -> list[dict[str, Any]]:
    """The training attempts recorded on the run row, oldest first."""
    record, _ = storage.runs.get(pipeline, run_id)
    training = record.details.get("training")
    return list(training.get("attempts", [])) if isinstance(training, dict) else []


def _update_attempt(storage: Storage, pipeline: str, run_id: str, attempt: dict[str, Any]) -> None:
    """Insert or replace attempt ``attempt['attempt']`` on the run row (ETag-guarded read-modify-write)."""

    def apply(record: Any) -> Any:
        training = dict(record.details.get("training") or {})
        attempts = [a for a in training.get("attempts", []) if a.get("attempt") != attempt["attempt"]]
        attempts = sorted([*attempts, attempt], key=lambda a: int(a["attempt"]))
        training["attempts"] = attempts
        return record.model_copy(update={"details": {**record.details, "training": training}})

    storage.runs.update(pipeline, run_id, apply)


def _next_attempt(attempts: list[dict[str, Any]]) -> int:
    """The attempt submit should (re)find: the last one, or a new one after a preemption."""
    if not attempts:
        return 1
    last = attempts[-1]
    return int(last["attempt"]) + 1 if last.get("state") == "preempted" else int(last["attempt"])


def submit(
    storage: Storage, settings: Settings, spec: PipelineSpec, run_id: str, dataset: dict[str, Any]
) -> dict[str, Any]:
    """Submit the run's training job, or find the one submitted before (same name).

    After a preemption the next call submits attempt n+1 under ``<job>-a<n+1>``, with the same
    inputs and checkpoint prefix, so it resumes where the preempted attempt stopped.
    """
    base = job_name_for(run_id)
    handoff = JobHandoff(job=base, notify=training_instance(run_id))  # its runner says when it ends
    if not inputs_staged(storage, handoff):
        roles = _stage(storage, spec, dataset, handoff)
        # The run shows every column's role: the features with their kinds, the dropped with why.
        update = {"features": {"used": dict(roles.features), "dropped": dict(roles.dropped)}}
        storage.runs.update(
            spec.name, run_id, lambda r: r.model_copy(update={"details": {**r.details, **update}})
        )
    attempt = _next_attempt(attempts_of(storage, spec.name, run_id))
    if attempt > 1 and spec.compute.kind == "azureml" and attempt > spec.compute.max_preemption_retries + 1:
        raise ValidationError(
            f"training job {base} was preempted {attempt - 1} time(s); max_preemption_retries is "
            f"{spec.compute.max_preemption_retries}",
            field="compute.max_preemption_retries",
        )
    name = attempt_name(base, attempt)
    handle = compute_for(spec, settings, storage).submit(name, handoff, compute_config(spec))
    recorded = next((a for a in attempts_of(storage, spec.name, run_id) if a["attempt"] == attempt), None)
    if recorded is None:
        entry: dict[str, Any] = {
            "attempt": attempt,
            "name": name,
            "backend": handle.backend,
            "location": handle.location,
            "instance_type": spec.compute.instance_type if spec.compute.kind == "azureml" else "local",
            "instance_count": spec.compute.instance_count if spec.compute.kind == "azureml" else 1,
            "low_priority": spec.compute.low_priority if spec.compute.kind == "azureml" else False,
            "state": "queued",
            "submitted_at": _now(),
        }
        _update_attempt(storage, spec.name, run_id, entry)
    return {
        "name": name,
        "backend": handle.backend,
        "location": handle.location,
        "created": handle.created,
        "attempt": attempt,
    }


def _preempted(storage: Storage, spec: PipelineSpec, job: dict[str, Any], state: str) -> bool:
    """A low-priority Azure ML job that failed without recording an error of its own lost its node."""
    if spec.compute.kind != "azureml" or not spec.compute.low_priority or state != "failed":
        return False
    return job_error(storage, JobHandoff(job=job_name_for_attempt(job["name"]))) is None


def job_name_for_attempt(name: str) -> str:
    """The base job name of an attempt's name (``<base>-a3`` -> ``<base>``).

    A base name ends in a 10-character digest, so a 1-2 digit tail is always an attempt number.
    """
    head, sep, tail = name.rpartition("-a")
    return head if sep and tail.isdigit() and len(tail) <= 2 and int(tail) >= 2 else name


def attempt_of(name: str) -> int:
    """The attempt number in a job name (``<base>`` is 1, ``<base>-a3`` is 3)."""
    base = job_name_for_attempt(name)
    return 1 if base == name else int(name[len(base) + 2 :])


def status(
    storage: Storage, settings: Settings, spec: PipelineSpec, job: dict[str, Any], run_id: str | None = None
) -> dict[str, Any]:
    """The job's state; ``preempted`` when a low-priority job lost its node and may be resubmitted.

    The attempt on the run row gets ``running_at`` when first seen running and ``ended_at`` with
    its final state when first seen ended: the node time the cost report prices.
    """
    current = compute_for(spec, settings).status(job["name"])
    state: str = current.state
    message = current.message or ""
    if _preempted(storage, spec, job, state):
        state = "preempted"
        message = f"low-priority job {job['name']} was preempted (no error of its own); {message}"
    if run_id is not None:
        attempts = attempts_of(storage, spec.name, run_id)
        entry = next((a for a in attempts if a.get("name") == job["name"]), None)
        if entry is not None and entry.get("state") != state:
            update = {**entry, "state": state}
            if state == "running" and not entry.get("running_at"):
                update["running_at"] = _now()
            if state in TERMINAL or state == "preempted":
                update["ended_at"] = _now()
            _update_attempt(storage, spec.name, run_id, update)
    if state == "preempted" and spec.compute.kind == "azureml":
        attempt = attempt_of(job["name"])
        if attempt > spec.compute.max_preemption_retries:
            state = "failed"
            message = (
                f"preempted {attempt} time(s), no retries left "
                f"(compute.max_preemption_retries={spec.compute.max_preemption_retries})"
            )
    return {
        "state": state,
        "attempt": current.attempt,
        "error": message,
        "log_tail": current.log_tail[-2000:],
    }


def cancel(settings: Settings, spec: PipelineSpec, job: dict[str, Any]) -> dict[str, Any]:
    """Cancel the job (the local process group, or the Azure ML job); its state afterwards."""
    return {"state": compute_for(spec, settings).cancel(job["name"]).state}


def collect(storage: Storage, settings: Settings, run_id: str, job: dict[str, Any]) -> dict[str, Any]:
    """Read the job's outputs from Blob (model sha256 verified) and upload the model as the candidate."""
    outputs = read_outputs(storage, JobHandoff(job=job_name_for_attempt(job["name"])))
    ref = storage.blobs.put_bytes("models", f"candidates/{run_id}/model.onnx", outputs.model)
    return {
        "blob": ref.name,
        "sha256": ref.sha256,
        "size": ref.size,
        "metrics": outputs.metrics,
        "signature": outputs.signature,
        "job": job["name"],
    }
