"""The Blob hand-off between the app and a training job, the same for every backend.

One container (``training-jobs``; on Azure ML it is also the workspace datastore
``APP_DATASTORE``) holds, per job (keyed by the run's base job name, so every attempt of a
run shares them):

- ``<job>/data/``: ``job.json``, the split Parquet files and a staged trainer script: inputs;
- ``<job>/out/``: ``model.onnx``, ``signature.json``, then ``metrics.json`` last (its presence
  means done), or ``error.json`` when the job failed by itself: outputs;
- ``<job>/checkpoints/``: the trainer's checkpoints, so a later attempt resumes.

The app never hands a job a path on its own disk: the local backend's child process downloads
its inputs from here and uploads its outputs here, exactly as an Azure ML job mounts them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from shared.errors import IntegrityError, NotFoundError, ValidationError
from shared.storage.factory import Storage
from shared.training.files import sha256_file

CONTAINER = "training-jobs"
#: The Azure ML datastore infra registers over CONTAINER (identity-based, no keys).
APP_DATASTORE = "mlops_training_jobs"
MODEL_FILE, METRICS_FILE, SIGNATURE_FILE, ERROR_FILE = (
    "model.onnx",
    "metrics.json",
    "signature.json",
    "error.json",
)


class JobHandoff(BaseModel):
    """Where one job's inputs, outputs and checkpoints live in Blob."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    container: str = CONTAINER
    job: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,99}$", description="The run's base job name.")
    notify: str | None = Field(
        default=None,
        max_length=260,
        description="The training sub-orchestration the runner tells when the job ends "
        "(shared.compute.events); None: nobody is told, the orchestration polls.",
    )

    @property
    def data(self) -> str:
        """Blob prefix of the inputs."""
        return f"{self.job}/data/"

    @property
    def out(self) -> str:
        """Blob prefix of the outputs."""
        return f"{self.job}/out/"

    @property
    def checkpoints(self) -> str:
        """Blob prefix of the checkpoints."""
        return f"{self.job}/checkpoints/"

    def datastore_uri(self, prefix: str, datastore: str = APP_DATASTORE) -> str:
        """The Azure ML URI of one of the prefixes above (the datastore points at the container)."""
        return f"azureml://datastores/{datastore}/paths/{prefix}"


def upload_folder(
    storage: Storage, container: str, prefix: str, folder: Path, last: str | None = None
) -> int:
    """Upload every file of ``folder`` (not recursive) under ``prefix``; ``last`` goes up after the rest."""
    files = sorted(p for p in folder.iterdir() if p.is_file() and not p.name.endswith(".tmp"))
    files.sort(key=lambda p: p.name == last)  # stable: the marker file, if any, is uploaded last
    for path in files:
        storage.blobs.put_file(container, f"{prefix}{path.name}", path)
    return len(files)


def download_prefix(storage: Storage, container: str, prefix: str, folder: Path) -> int:
    """Download every blob under ``prefix`` into ``folder`` (sha256-verified where recorded)."""
    folder.mkdir(parents=True, exist_ok=True)
    count = 0
    for name in storage.blobs.list_names(container, prefix):
        rest = name[len(prefix) :]
        if not rest or "/" in rest:
            continue  # only the folder's own files
        storage.blobs.download_to_file(container, name, folder / rest)
        count += 1
    return count


def stage_inputs(storage: Storage, handoff: JobHandoff, folder: Path) -> int:
    """Upload a prepared job folder as the job's inputs, ``job.json`` last (it marks them complete)."""
    return upload_folder(storage, handoff.container, handoff.data, folder, last="job.json")


def inputs_staged(storage: Storage, handoff: JobHandoff) -> bool:
    """True once the inputs are complete in Blob (``job.json`` is uploaded last)."""
    return storage.blobs.exists(handoff.container, f"{handoff.data}job.json")


@dataclass(frozen=True)
class JobOutputs:
    """A finished job's outputs read back from Blob, the model verified against its recorded sha256."""

    model: bytes
    sha256: str
    metrics: dict[str, Any]
    signature: dict[str, Any]


def _json(storage: Storage, handoff: JobHandoff, name: str) -> dict[str, Any]:
    raw = storage.blobs.get_bytes(handoff.container, f"{handoff.out}{name}")
    try:
        value = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ValidationError(f"{name} of job {handoff.job} is not JSON: {exc}", field=name) from exc
    if not isinstance(value, dict):
        raise ValidationError(f"{name} of job {handoff.job} is not a JSON object", field=name)
    return value


def job_error(storage: Storage, handoff: JobHandoff) -> dict[str, Any] | None:
    """The error the job recorded about itself (None when it wrote none: it was killed, or succeeded)."""
    if not storage.blobs.exists(handoff.container, f"{handoff.out}{ERROR_FILE}"):
        return None
    return _json(storage, handoff, ERROR_FILE)


def read_outputs(storage: Storage, handoff: JobHandoff) -> JobOutputs:
    """``model.onnx`` + ``metrics.json`` + ``signature.json`` from Blob; the model's sha256 must be the
    one the job recorded in both JSON files (IntegrityError otherwise)."""
    if not storage.blobs.exists(handoff.container, f"{handoff.out}{METRICS_FILE}"):
        raise NotFoundError(
            f"training job {handoff.job} wrote no {METRICS_FILE} to {handoff.container}/{handoff.out}",
            field="job",
        )
    metrics = _json(storage, handoff, METRICS_FILE)
    signature = _json(storage, handoff, SIGNATURE_FILE)
    expected = metrics.get("sha256")
    if not isinstance(expected, str) or signature.get("sha256") != expected:
        raise IntegrityError(
            f"job {handoff.job}: metrics.json and signature.json disagree on the model's sha256", field="job"
        )
    model = storage.blobs.get_bytes(handoff.container, f"{handoff.out}{MODEL_FILE}", expected_sha256=expected)
    return JobOutputs(model=model, sha256=expected, metrics=metrics, signature=signature)


def file_digests(folder: Path) -> dict[str, str]:
    """sha256 of each file in ``folder`` (for logs and tests)."""
    return {p.name: sha256_file(p) for p in sorted(folder.iterdir()) if p.is_file()}
