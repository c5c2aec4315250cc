"""``AzureMLCompute``: the training job as an Azure ML command job on a (GPU) cluster.

Written against azure-ai-ml 1.35 and checked offline by tests/contract/test_azureml_rest.py,
which drives the real ``MLClient`` through a recording transport and checks the REST requests it
sends against the published API; never run against a real workspace from this repository.

The job is configured only by the spec's ``compute`` section (shared.pipeline.sections
.AzureMlCompute) and the Blob hand-off (shared.compute.handoff): its inputs (``data`` and the
app's ``code``, both ``ro_mount``) and outputs (``out`` and ``checkpoints``, ``rw_mount``) are
``azureml://datastores/<APP_DATASTORE>/paths/...`` URIs over the app's ``training-jobs``
container, never a local path. Submit is idempotent by job name (``jobs.get`` first; only a
missing job is created). Low priority maps to ``queue_settings.job_tier = spot`` (and the
low-priority cluster infra provisions); Azure ML does
not restart a preempted job, so the training step resubmits it under ``attempt_name`` and the
new attempt resumes from the same checkpoint prefix.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from shared.compute.base import JobHandle, JobState, JobStatus, check_job_name
from shared.compute.events import NOTIFY_TAG
from shared.compute.handoff import APP_DATASTORE, CONTAINER, JobHandoff
from shared.errors import NotFoundError
from shared.pipeline.sections import AzureMlCompute as AzureMlSection
from shared.storage.factory import Storage
from shared.training.spec import validate_model

#: The folder that holds the ``shared`` package: the job's code bundle is ``shared/**/*.py``.
PROJECT_ROOT = Path(__file__).resolve().parent.parent.parent
EXPERIMENT = "mlops-training"
COMMAND = (
    "PYTHONPATH=${{inputs.code}} python -m shared.training.job --data ${{inputs.data}} "
    "--out ${{outputs.out}} --checkpoints ${{outputs.checkpoints}}"
)
#: Azure ML job states -> ours. Anything unlisted is reported as running with its raw name.
STATES: dict[str, JobState] = {
    "NotStarted": "queued",
    "Queued": "queued",
    "Preparing": "queued",
    "Provisioning": "queued",
    "Starting": "queued",
    "Scheduled": "queued",
    "Running": "running",
    "Finalizing": "running",
    "CancelRequested": "running",
    "Paused": "running",
    "Completed": "succeeded",
    "Failed": "failed",
    "NotResponding": "failed",
    "Canceled": "cancelled",
}


def code_bundle(root: Path = PROJECT_ROOT) -> tuple[str, list[Path]]:
    """The job's code (every ``shared/**/*.py``) and a digest of its names and bytes."""
    files = sorted(p for p in (root / "shared").rglob("*.py") if "__pycache__" not in p.parts)
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:32], files


def stage_code(storage: Storage, root: Path = PROJECT_ROOT) -> str:
    """Upload the code bundle content-addressed to ``training-jobs/code/<digest>/`` once; its prefix."""
    digest, files = code_bundle(root)
    prefix = f"code/{digest}/"
    marker = f"{prefix}MANIFEST"
    if storage.blobs.exists(CONTAINER, marker):
        return prefix
    for path in files:
        storage.blobs.put_file(CONTAINER, prefix + path.relative_to(root).as_posix(), path)
    manifest = "\n".join(p.relative_to(root).as_posix() for p in files).encode()
    storage.blobs.put_bytes(CONTAINER, marker, manifest)  # last: the bundle is complete
    return prefix


class AzureMLCompute:
    """Submits, polls and cancels Azure ML command jobs through an ``MLClient``."""

    backend = "azureml"

    def __init__(self, ml_client: Any, code_prefix: str | None = None) -> None:
        self.client = ml_client
        self.code_prefix = code_prefix

    @classmethod
    def for_workspace(
        cls, subscription_id: str, resource_group: str, workspace: str, code_prefix: str | None = None
    ) -> AzureMLCompute:
        """A compute for one workspace, authenticated with ``DefaultAzureCredential``."""
        from azure.ai.ml import MLClient
        from azure.identity import DefaultAzureCredential

        client = MLClient(DefaultAzureCredential(), subscription_id, resource_group, workspace)
        return cls(client, code_prefix)

    def build_job(self, job_name: str, handoff: JobHandoff, section: AzureMlSection) -> Any:
        """The command job for one attempt: Blob URIs only, the spec's compute section as it is."""
        from azure.ai.ml import Input, Output, command
        from azure.ai.ml.entities import ManagedIdentityConfiguration, QueueSettings

        if self.code_prefix is None:
            raise NotFoundError("the job's code bundle was not staged", field="compute")
        code_uri = f"azureml://datastores/{APP_DATASTORE}/paths/{self.code_prefix}"
        return command(
            name=job_name,
            display_name=job_name,
            experiment_name=EXPERIMENT,
            command=COMMAND,
            environment=section.environment,
            compute=section.cluster,
            instance_type=section.instance_type,
            instance_count=section.instance_count,
            timeout=section.timeout_s,
            # Spot tier for low priority; a named cluster's own VM priority applies too (infra
            # provisions a low-priority cluster for such specs: README "Azure ML training").
            queue_settings=QueueSettings(job_tier="spot") if section.low_priority else None,
            # The cluster's managed identity mounts the identity-based datastore (rbac.bicep).
            identity=ManagedIdentityConfiguration(),
            # mlops.notify: Event Grid passes the tags on in RunStatusChanged, which the
            # training-events queue turns into the job_finished wake-up (shared.compute.events).
            tags={
                "mlops.job": handoff.job,
                "mlops.low_priority": str(section.low_priority).lower(),
                **({NOTIFY_TAG: handoff.notify} if handoff.notify else {}),
            },
            # The job's source is the content-addressed code bundle; naming it here also stops the
            # SDK from recording the submitting process's git checkout (its repo URL can be a local
            # path, plus branch, commit and dirty state), which it adds only when no git property is set.
            properties={"mlflow.source.git.repoURL": code_uri},
            inputs={
                "code": Input(type="uri_folder", path=code_uri, mode="ro_mount"),
                "data": Input(type="uri_folder", path=handoff.datastore_uri(handoff.data), mode="ro_mount"),
            },
            outputs={
                "out": Output(type="uri_folder", path=handoff.datastore_uri(handoff.out), mode="rw_mount"),
                "checkpoints": Output(
                    type="uri_folder", path=handoff.datastore_uri(handoff.checkpoints), mode="rw_mount"
                ),
            },
        )

    def submit(
        self,
        job_name: str,
        handoff: JobHandoff,
        config: Mapping[str, Any] | None = None,
    ) -> JobHandle:
        """Create the command job unless one of that name exists already."""
        from azure.core.exceptions import ResourceNotFoundError

        check_job_name(job_name)
        section: AzureMlSection = validate_model(AzureMlSection, dict(config or {}), "compute")
        try:
            existing = self.client.jobs.get(job_name)
            return JobHandle(
                job_name=job_name, backend=self.backend, location=_where(existing), created=False
            )
        except ResourceNotFoundError:
            pass
        created = self.client.jobs.create_or_update(self.build_job(job_name, handoff, section))
        return JobHandle(job_name=job_name, backend=self.backend, location=_where(created), created=True)

    def status(self, job_name: str) -> JobStatus:
        """The job's Azure ML status mapped onto ours (NotFoundError when there is no such job)."""
        from azure.core.exceptions import ResourceNotFoundError

        try:
            job = self.client.jobs.get(check_job_name(job_name))
        except ResourceNotFoundError as exc:
            raise NotFoundError(f"no Azure ML job named {job_name!r}", field="job_name") from exc
        status = getattr(job, "status", None) or "Unknown"
        raw = str(getattr(status, "value", status))  # the SDK hands back a str Enum (JobStatus.QUEUED)
        state = STATES.get(raw, "running")
        return JobStatus(
            job_name=job_name,
            state=state,
            exit_code=0 if state == "succeeded" else None,
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
