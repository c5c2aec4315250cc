"""AzureMLCompute against a fake MLClient: idempotent submit, the job it builds, status mapping."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from azure.core.exceptions import ResourceNotFoundError

from shared.compute.azureml import AzureMLCompute
from shared.errors import NotFoundError, ValidationError

# azure-ai-ml's schemas trip marshmallow deprecation warnings on import: third-party noise.
pytestmark = [
    pytest.mark.filterwarnings("ignore::marshmallow.warnings.ChangedInMarshmallow4Warning"),
    pytest.mark.filterwarnings("ignore::marshmallow.warnings.RemovedInMarshmallow4Warning"),
]
CONFIG = {"type": "azureml", "cluster": "gpu-cluster", "environment": "azureml:mlops-train:1"}


class FakeJobs:
    """The slice of ``MLClient.jobs`` the adapter uses, in memory."""

    def __init__(self) -> None:
        self.jobs: dict[str, Any] = {}
        self.created: list[Any] = []
        self.cancelled: list[str] = []

    def get(self, name: str) -> Any:
        if name not in self.jobs:
            raise ResourceNotFoundError(f"job {name} not found")
        return self.jobs[name]

    def create_or_update(self, job: Any) -> Any:
        self.created.append(job)
        stored = SimpleNamespace(
            name=job.name, status="Queued", studio_url=f"https://ml.azure.com/runs/{job.name}"
        )
        self.jobs[job.name] = stored
        return stored

    def begin_cancel(self, name: str) -> None:
        self.cancelled.append(name)
        self.jobs[name].status = "CancelRequested"


@pytest.fixture
def fake() -> FakeJobs:
    return FakeJobs()


def test_submit_is_idempotent_and_builds_the_command_job(fake: FakeJobs) -> None:
    compute = AzureMLCompute(SimpleNamespace(jobs=fake))
    data = "azureml://datastores/workspaceblobstore/paths/datasets/bc/v1/"
    out = "azureml://datastores/workspaceblobstore/paths/models/bc/run-1/"
    first = compute.submit("train-run-1", data, out, CONFIG)
    second = compute.submit("train-run-1", data, out, CONFIG)
    assert first.created and not second.created and len(fake.created) == 1
    job = fake.created[0]
    assert job.name == "train-run-1" and job.compute == "gpu-cluster"
    assert job.command.startswith("python -m shared.training.job --data ${{inputs.data}}")
    assert job.inputs["data"].path == data
    assert job.outputs["checkpoints"].path.endswith("/checkpoints/train-run-1/")


@pytest.mark.parametrize(
    ("raw", "state"),
    [
        ("Preparing", "queued"),
        ("Running", "running"),
        ("Completed", "succeeded"),
        ("Failed", "failed"),
        ("Canceled", "cancelled"),
        ("SomethingNew", "running"),
    ],
)
def test_status_mapping(fake: FakeJobs, raw: str, state: str) -> None:
    fake.jobs["train-x"] = SimpleNamespace(name="train-x", status=raw, studio_url="u")
    status = AzureMLCompute(SimpleNamespace(jobs=fake)).status("train-x")
    assert status.state == state and raw in (status.message or "")


def test_cancel_unknown_and_bad_config(fake: FakeJobs) -> None:
    compute = AzureMLCompute(SimpleNamespace(jobs=fake))
    compute.submit("train-y", "azureml://d/", "azureml://o/", CONFIG)
    assert compute.cancel("train-y").state == "running" and fake.cancelled == ["train-y"]
    with pytest.raises(NotFoundError):
        compute.status("train-missing")
    with pytest.raises(ValidationError) as err:
        compute.submit("train-z", "d", "o", {"type": "azureml"})
    assert err.value.field == "compute.cluster"
