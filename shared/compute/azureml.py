"""``AzureMLCompute``: the training job as an Azure ML command job on a (GPU) cluster.

UNTESTED AGAINST AZURE: written against azure-ai-ml 1.35 and exercised only with a fake
``MLClient`` in tests. Submit is idempotent by job name (``jobs.get`` first; only a missing job
is created); two submits racing within the same second can both reach ``create_or_update``, and
the service then keeps one job of that name. Checkpoints go to a datastore folder derived from
the job name, mounted read-write, so a job Azure ML retries (node preemption, low-priority
eviction) resumes from its last epoch. Inputs and outputs are datastore/blob URIs, not local paths.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.compute.base import JobHandle, JobState, JobStatus, check_job_name
from shared.training.spec import validate_model

PROJECT_ROOT = Path(__file__).resolve().parent.parent.parent
COMMAND = (
    "python -m shared.training.job --data ${{inputs.data}} --out ${{outputs.out}} "
    "--checkpoints ${{outputs.checkpoints}}"
)
#: Azure ML run states -> ours. Anything unlisted is reported as running with its raw name.
STATES: dict[str, JobState] = {
    "NotStarted": "queued",
    "Queued": "queued",
    "Preparing": "queued",
    "Provisioning": "queued",
    "Starting": "queued",
    "Running": "running",
    "Finalizing": "running",
    "CancelRequested": "running",
    "Paused": "running",
    "Completed": "succeeded",
    "Failed": "failed",
    "NotResponding": "failed",
    "Canceled": "cancelled",
}


class AzureMLConfig(BaseModel):
    """``compute`` block for ``type: azureml``."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["azureml"] = "azureml"
    cluster: str = Field(description="Compute cluster name (min 0 nodes, so idle costs nothing).")
    environment: str = Field(description="Registered environment, e.g. 'azureml:mlops-train:1'.")
    experiment: str = "mlops-training"
    instance_type: str | None = None
    timeout_s: int | None = Field(None, gt=0)
    datastore: str = Field("workspaceblobstore", description="Where checkpoints live.")
    code_dir: str | None = Field(None, description="Folder uploaded as code; default the project root.")


class AzureMLCompute:
    """Submits, polls and cancels Azure ML command jobs through an ``MLClient`` (or a fake)."""

    backend = "azureml"

    def __init__(self, ml_client: Any) -> None:
        self.client = ml_client

    @classmethod
    def for_workspace(cls, subscription_id: str, resource_group: str, workspace: str) -> AzureMLCompute:
        """A compute for one workspace, authenticated with ``DefaultAzureCredential``."""
        from azure.ai.ml import MLClient
        from azure.identity import DefaultAzureCredential

        return cls(MLClient(DefaultAzureCredential(), subscription_id, resource_group, workspace))

    def submit(
        self,
        job_name: str,
        data_dir: str | Path,
        out_dir: str | Path,
        config: Mapping[str, Any] | None = None,
    ) -> JobHandle:
        """Create the command job unless one of that name exists already."""
        from azure.ai.ml import Input, Output, command
        from azure.core.exceptions import ResourceNotFoundError

        check_job_name(job_name)
        parsed: AzureMLConfig = validate_model(AzureMLConfig, dict(config or {}), "compute")
        try:
            existing = self.client.jobs.get(job_name)
            return JobHandle(
                job_name=job_name, backend=self.backend, location=_where(existing), created=False
            )
        except ResourceNotFoundError:
            pass
        checkpoints = f"azureml://datastores/{parsed.datastore}/paths/checkpoints/{job_name}/"
        job = command(
            name=job_name,
            display_name=job_name,
            experiment_name=parsed.experiment,
            command=COMMAND,
            code=parsed.code_dir or str(PROJECT_ROOT),
            environment=parsed.environment,
            compute=parsed.cluster,
            instance_type=parsed.instance_type,
            timeout=parsed.timeout_s,
            inputs={"data": Input(type="uri_folder", path=str(data_dir), mode="ro_mount")},
            outputs={
                "out": Output(type="uri_folder", path=str(out_dir), mode="rw_mount"),
                "checkpoints": Output(type="uri_folder", path=checkpoints, mode="rw_mount"),
            },
        )
        created = self.client.jobs.create_or_update(job)
        return JobHandle(job_name=job_name, backend=self.backend, location=_where(created), created=True)

    def status(self, job_name: str) -> JobStatus:
        """The job's Azure ML status mapped onto ours (NotFoundError when there is no such job)."""
        from azure.core.exceptions import ResourceNotFoundError

        from shared.errors import NotFoundError

        try:
            job = self.client.jobs.get(check_job_name(job_name))
        except ResourceNotFoundError as exc:
            raise NotFoundError(f"no Azure ML job named {job_name!r}", field="job_name") from exc
        raw = str(getattr(job, "status", "Unknown"))
        state = STATES.get(raw, "running")
        exit_code = 0 if state == "succeeded" else None
        return JobStatus(
            job_name=job_name,
            state=state,
            exit_code=exit_code,
            message=f"Azure ML status {raw}; logs: {_where(job)}",
        )

    def cancel(self, job_name: str) -> JobStatus:
        """Request cancellation (Azure ML finishes it asynchronously) and return the current status."""
        current = self.status(job_name)
        if not current.terminal:
            self.client.jobs.begin_cancel(job_name)
        return self.status(job_name)


def _where(job: Any) -> str:
    return str(getattr(job, "studio_url", None) or getattr(job, "name", ""))
