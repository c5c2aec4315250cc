"""Contract tests: the real azure-ai-ml ``MLClient`` drives our Azure ML adapter, through a
recording HTTP transport that answers like the Azure ML REST API; nothing reaches a network.

The SDK builds and sends its real REST requests (``transport=`` is handed by MLClient to every
service client); we assert on those requests: the job name (idempotent submit), compute,
environment, instance count and priority, input/output URIs in Blob (datastore URIs, never a
local path), cancel, and the resubmission of a preempted low-priority job under its attempt name
with the same inputs and checkpoint prefix.

Facts from the published REST API (Azure/azure-rest-api-specs,
specification/machinelearningservices/resource-manager/Microsoft.MachineLearningServices/
stable/2024-04-01/mfe.json), checked against every PUT body below:
- ``CommandJob`` (``x-ms-discriminator-value: Command`` of ``JobBase.jobType``) requires
  ``command`` (minLength 1, pattern ``[a-zA-Z0-9_]``) and ``environmentId`` (the ARM id of an
  environment version; minLength 1); ``additionalProperties: false``, with the properties
  ``codeId, command, distribution, environmentId, environmentVariables, inputs, limits, outputs,
  parameters (read-only), queueSettings, resources`` plus JobBase's/ResourceBase's.
- ``JobBase`` requires ``jobType``; ``JobType`` is one of AutoML, Command, Sweep, Pipeline, Spark.
- ``JobInputType``: literal, uri_file, uri_folder, mltable, custom_model, mlflow_model,
  triton_model; ``InputDeliveryMode``: ReadOnlyMount, ReadWriteMount, Download, Direct, EvalMount,
  EvalDownload; ``JobOutputType``: uri_file, uri_folder, mltable, custom_model, mlflow_model,
  triton_model; ``OutputDeliveryMode``: ReadWriteMount, Upload, Direct.
- ``QueueSettings.jobTier`` (``JobTier``): Null, Spot, Basic, Standard, Premium.
- ``JobLimits.jobLimitsType``: Command, Sweep; ``timeout`` is an ISO 8601 duration.
- ``IdentityConfiguration.identityType``: Managed, AMLToken, UserIdentity.
- ``JobStatus``: NotStarted, Starting, Provisioning, Preparing, Queued, Running, Finalizing,
  CancelRequested, Completed, Failed, Canceled, NotResponding, Paused, Unknown.
- Cancel is ``POST .../workspaces/{ws}/jobs/{id}/cancel`` (long-running, 202 or 200).
"""

from __future__ import annotations

import json
import re
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from azure.core.credentials import AccessToken
from azure.core.pipeline.transport import HttpTransport
from azure.core.rest import HttpRequest
from azure.core.rest._http_response_impl import HttpResponseImpl

from shared.compute.azureml import COMMAND, STATES, AzureMLCompute, stage_code
from shared.compute.base import job_name_for
from shared.compute.events import AML_STATUS_EVENT, NOTIFY_TAG, parse_event
from shared.compute.handoff import APP_DATASTORE, JobHandoff
from shared.pipeline.spec import PipelineSpec, load_spec
from shared.settings import load_settings
from shared.steps import runs, training
from shared.storage.factory import Storage

pytestmark = [
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
    pytest.mark.filterwarnings("ignore::UserWarning"),
    pytest.mark.filterwarnings("ignore::marshmallow.warnings.ChangedInMarshmallow4Warning"),
    pytest.mark.filterwarnings("ignore::marshmallow.warnings.RemovedInMarshmallow4Warning"),
]

SUB, RG, WS = "00000000-0000-0000-0000-000000000000", "rg-mlops", "mlw-mlops"
WS_ID = (
    f"/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.MachineLearningServices/workspaces/{WS}"
)
HOST = "management.azure.com"
ROOT = Path(__file__).resolve().parents[2]

COMMAND_JOB_PROPERTIES = {
    "codeId", "command", "distribution", "environmentId", "environmentVariables", "inputs", "limits",
    "outputs", "parameters", "queueSettings", "resources",
}  # fmt: skip
JOB_BASE_PROPERTIES = {
    "componentId", "computeId", "displayName", "experimentName", "identity", "isArchived", "jobType",
    "notificationSetting", "services", "status", "description", "properties", "tags",
}  # fmt: skip
JOB_TYPES = {"AutoML", "Command", "Sweep", "Pipeline", "Spark"}
JOB_INPUT_TYPES = {
    "literal",
    "uri_file",
    "uri_folder",
    "mltable",
    "custom_model",
    "mlflow_model",
    "triton_model",
}
INPUT_MODES = {"ReadOnlyMount", "ReadWriteMount", "Download", "Direct", "EvalMount", "EvalDownload"}
JOB_OUTPUT_TYPES = {"uri_file", "uri_folder", "mltable", "custom_model", "mlflow_model", "triton_model"}
OUTPUT_MODES = {"ReadWriteMount", "Upload", "Direct"}
JOB_TIERS = {"Null", "Spot", "Basic", "Standard", "Premium"}
JOB_STATUSES = {
    "NotStarted", "Starting", "Provisioning", "Preparing", "Queued", "Running", "Finalizing",
    "CancelRequested", "Completed", "Failed", "Canceled", "NotResponding", "Paused", "Unknown",
}  # fmt: skip


class FakeCredential:
    """A TokenCredential that never talks to Entra ID."""

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        return AccessToken("contract-test-token", int(time.time()) + 3600)


@dataclass
class Sent:
    """One request the SDK sent."""

    method: str
    path: str
    api_version: str
    body: Any


@dataclass
class FakeWorkspace(HttpTransport):  # type: ignore[misc]
    """Answers the Azure ML jobs REST API from memory and records every request."""

    jobs: dict[str, dict[str, Any]] = field(default_factory=dict)
    sent: list[Sent] = field(default_factory=list)

    def __enter__(self) -> FakeWorkspace:
        return self

    def __exit__(self, *args: Any) -> None:
        return None

    def open(self) -> None:
        return None

    def close(self) -> None:
        return None

    def send(self, request: HttpRequest, **kwargs: Any) -> HttpResponseImpl:  # type: ignore[override]
        url = request.url
        assert url.startswith(f"https://{HOST}/"), f"the SDK tried to reach {url}"
        path, _, query = url[len(f"https://{HOST}") :].partition("?")
        assert request.headers.get("Authorization") == "Bearer contract-test-token"
        body = json.loads(request.content) if request.content else None
        version = dict(p.split("=", 1) for p in query.split("&") if "=" in p).get("api-version", "")
        self.sent.append(Sent(request.method, path, version, body))
        match = re.fullmatch(re.escape(WS_ID) + r"/jobs/([^/]+)(/cancel)?", path)
        assert match, f"unexpected request {request.method} {path}"
        name, cancel = match.group(1), match.group(2)
        if request.method == "GET" and not cancel:
            if name not in self.jobs:
                return _response(
                    request, 404, {"error": {"code": "UserError", "message": f"{name} not found"}}
                )
            return _response(request, 200, self.jobs[name])
        if request.method == "PUT" and not cancel:
            stored = json.loads(json.dumps(body))
            stored.update(id=path, name=name, type="Microsoft.MachineLearningServices/workspaces/jobs")
            stored["properties"]["status"] = "Queued"
            stored["properties"]["services"] = {
                "Studio": {"jobServiceType": "Studio", "endpoint": f"https://ml.azure.com/runs/{name}"}
            }
            self.jobs[name] = stored
            return _response(request, 201, stored)
        if request.method == "POST" and cancel:
            self.jobs[name]["properties"]["status"] = "CancelRequested"
            return _response(request, 202, None)
        raise AssertionError(f"unexpected request {request.method} {path}")

    def set_status(self, name: str, status: str) -> None:
        """What the service would report next for job ``name``."""
        assert status in JOB_STATUSES
        self.jobs[name]["properties"]["status"] = status

    def puts(self) -> list[Sent]:
        """The create_or_update requests, in order."""
        return [s for s in self.sent if s.method == "PUT"]


def _response(request: HttpRequest, status: int, body: Any) -> HttpResponseImpl:
    response = HttpResponseImpl(
        request=request,
        internal_response=None,
        status_code=status,
        reason="OK" if status < 400 else "Not Found",
        content_type="application/json",
        headers={"Content-Type": "application/json", "x-ms-request-id": "contract"},
        stream_download_generator=None,
    )
    response._content = b"" if body is None else json.dumps(body).encode()
    response._is_closed = True
    return response


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Any]]:
    """Any socket connection other than to loopback (Azurite) is refused and recorded."""
    attempts: list[Any] = []
    real_connect = socket.socket.connect

    def guarded(sock: socket.socket, address: Any) -> Any:
        host = address[0] if isinstance(address, tuple) else address
        if host not in ("127.0.0.1", "::1", "localhost"):
            attempts.append(address)
            raise OSError(f"contract tests never reach the network (tried {address})")
        return real_connect(sock, address)

    monkeypatch.setattr(socket.socket, "connect", guarded)
    yield attempts
    assert attempts == [], f"something tried to reach the network: {attempts}"


@pytest.fixture
def workspace() -> FakeWorkspace:
    return FakeWorkspace()


def _compute(workspace: FakeWorkspace, code_prefix: str = "code/0123abcd/") -> AzureMLCompute:
    from azure.ai.ml import MLClient

    client = MLClient(FakeCredential(), SUB, RG, WS, transport=workspace)
    return AzureMLCompute(client, code_prefix=code_prefix)


SECTION = {
    "kind": "azureml",
    "cluster": "gpu-cluster",
    "instance_type": "Standard_NC4as_T4_v3",
    "instance_count": 2,
    "environment": "azureml:mlops-train:1",
    "low_priority": True,
    "max_preemption_retries": 2,
    "timeout_s": 7200,
}


def _check_command_job(body: dict[str, Any]) -> dict[str, Any]:
    """The body is a CommandJob as the published API defines it; returns its properties."""
    props = body["properties"]
    assert set(props) <= COMMAND_JOB_PROPERTIES | JOB_BASE_PROPERTIES, set(props) - COMMAND_JOB_PROPERTIES
    assert props["jobType"] in JOB_TYPES and props["jobType"] == "Command"
    assert props["command"] and re.search(r"[a-zA-Z0-9_]", props["command"])
    assert props["environmentId"] and re.search(r"[a-zA-Z0-9_]", props["environmentId"])
    for binding in props["inputs"].values():
        assert binding["jobInputType"] in JOB_INPUT_TYPES and binding["mode"] in INPUT_MODES
    for binding in props["outputs"].values():
        assert binding["jobOutputType"] in JOB_OUTPUT_TYPES and binding["mode"] in OUTPUT_MODES
    assert props["limits"]["jobLimitsType"] in {"Command", "Sweep"}
    assert re.fullmatch(r"P(T(\d+H)?(\d+M)?(\d+S)?)", props["limits"]["timeout"])
    if "queueSettings" in props:
        assert props["queueSettings"]["jobTier"] in JOB_TIERS
    if "identity" in props:
        assert props["identity"]["identityType"] in {"Managed", "AMLToken", "UserIdentity"}
    return dict(props)


def _no_local_paths(body: Any) -> None:
    text = json.dumps(body)
    for local in (str(ROOT), "/tmp/", "/work/", "file://", "mlops-work", str(Path.home())):
        assert local not in text, f"a local path ({local}) reached the REST request"


def test_submit_sends_one_command_job_with_blob_uris_and_the_spec_compute(workspace: FakeWorkspace) -> None:
    handoff = JobHandoff(job="train-run-1-abcdef0123")
    handle = _compute(workspace).submit("train-run-1-abcdef0123", handoff, SECTION)
    assert handle.created and handle.location == "https://ml.azure.com/runs/train-run-1-abcdef0123"

    get, put = workspace.sent  # a GET that finds nothing, then exactly one PUT
    assert (get.method, put.method) == ("GET", "PUT")
    assert put.path == f"{WS_ID}/jobs/train-run-1-abcdef0123"  # the name is ours: idempotent
    props = _check_command_job(put.body)
    _no_local_paths(put.body)
    assert props["computeId"] == f"{WS_ID}/computes/gpu-cluster"
    assert props["environmentId"] == f"{WS_ID}/environments/mlops-train/versions/1"
    assert props["resources"]["instanceCount"] == 2
    assert props["resources"]["instanceType"] == "Standard_NC4as_T4_v3"
    assert props["queueSettings"] == {"jobTier": "Spot"}  # low priority
    assert props["identity"] == {"identityType": "Managed"}  # the cluster's identity, no keys
    assert props["limits"]["timeout"] == "PT2H"
    assert props["command"] == COMMAND and "codeId" not in props  # no code upload by the SDK
    store = f"azureml://datastores/{APP_DATASTORE}/paths/"
    assert props["inputs"] == {
        "code": {"jobInputType": "uri_folder", "mode": "ReadOnlyMount", "uri": f"{store}code/0123abcd/"},
        "data": {"jobInputType": "uri_folder", "mode": "ReadOnlyMount", "uri": f"{store}{handoff.data}"},
    }
    assert {k: (v["uri"], v["mode"]) for k, v in props["outputs"].items()} == {
        "out": (f"{store}{handoff.out}", "ReadWriteMount"),
        "checkpoints": (f"{store}{handoff.checkpoints}", "ReadWriteMount"),
    }
    assert props["experimentName"] == "mlops-training" and props["displayName"] == put.path.rsplit("/", 1)[1]


def test_the_job_names_its_training_instance_in_a_tag_event_grid_passes_on(workspace: FakeWorkspace) -> None:
    """Event Grid's RunStatusChanged carries data.runTags: the tag is how a job end finds its run."""
    handoff = JobHandoff(job="train-run-9-abcdef0123", notify="run-9-train")
    _compute(workspace).submit("train-run-9-abcdef0123", handoff, SECTION)
    _, put = workspace.sent
    assert put.body["properties"]["tags"][NOTIFY_TAG] == "run-9-train"
    # The event the workspace would publish for this job parses to the wake-up of that instance.
    event = {
        "eventType": AML_STATUS_EVENT,
        "data": {
            "runId": put.path.rsplit("/", 1)[1],
            "runStatus": "Completed",
            "runTags": put.body["properties"]["tags"],
        },
    }
    woken = parse_event(json.dumps(event).encode())
    assert (woken.instance, woken.job, woken.state) == ("run-9-train", "train-run-9-abcdef0123", "succeeded")


def test_a_second_submit_finds_the_job_and_sends_no_put(workspace: FakeWorkspace) -> None:
    compute, handoff = _compute(workspace), JobHandoff(job="train-run-2-abcdef0123")
    assert compute.submit("train-run-2-abcdef0123", handoff, SECTION).created
    again = compute.submit("train-run-2-abcdef0123", handoff, SECTION)
    assert not again.created and len(workspace.puts()) == 1
    assert [s.method for s in workspace.sent] == ["GET", "PUT", "GET"]


def test_dedicated_priority_sends_no_spot_tier(workspace: FakeWorkspace) -> None:
    dedicated = {**SECTION, "low_priority": False, "instance_count": 1}
    _compute(workspace).submit("train-run-3-abcdef0123", JobHandoff(job="train-run-3-abcdef0123"), dedicated)
    props = _check_command_job(workspace.puts()[0].body)
    assert props.get("queueSettings") in (None, {}) and props["resources"]["instanceCount"] == 1


@pytest.mark.parametrize("raw", sorted(JOB_STATUSES))
def test_get_maps_every_published_status(workspace: FakeWorkspace, raw: str) -> None:
    compute = _compute(workspace)
    compute.submit("train-run-4-abcdef0123", JobHandoff(job="train-run-4-abcdef0123"), SECTION)
    workspace.set_status("train-run-4-abcdef0123", raw)
    status = compute.status("train-run-4-abcdef0123")
    assert status.state == STATES.get(raw, "running") and f"Azure ML status {raw};" in (status.message or "")
    assert workspace.sent[-1].method == "GET"


def test_cancel_posts_the_cancel_action_once(workspace: FakeWorkspace) -> None:
    compute = _compute(workspace)
    compute.submit("train-run-5-abcdef0123", JobHandoff(job="train-run-5-abcdef0123"), SECTION)
    workspace.set_status("train-run-5-abcdef0123", "Running")
    assert compute.cancel("train-run-5-abcdef0123").state == "running"  # CancelRequested, asynchronously
    cancels = [s for s in workspace.sent if s.method == "POST"]
    assert [c.path for c in cancels] == [f"{WS_ID}/jobs/train-run-5-abcdef0123/cancel"]
    workspace.set_status("train-run-5-abcdef0123", "Canceled")
    assert compute.cancel("train-run-5-abcdef0123").state == "cancelled"
    assert len([s for s in workspace.sent if s.method == "POST"]) == 1  # an ended job is not cancelled again


# ---- the training step end to end: Blob hand-off in Azurite, REST through the real SDK -----------


@pytest.fixture
def storage(azurite_connection_string: str) -> Storage:
    return Storage.from_settings(load_settings(environ={"AzureWebJobsStorage": azurite_connection_string}))


def _spec(unique: str) -> PipelineSpec:
    return load_spec(
        {
            "name": f"contract-{unique}",
            "source": "sklearn:breast_cancer",
            "target": "target",
            "task": "classification",
            "trainer": {"kind": "torch_mlp", "epochs": 2},
            "compute": SECTION,
        }
    )


def _dataset(storage: Storage, unique: str) -> dict[str, Any]:
    import numpy as np
    import polars as pl

    rng = np.random.default_rng(0)
    x = rng.normal(size=(30, 3))
    frame = pl.DataFrame(x, schema=["a", "b", "c"]).with_columns(
        pl.Series("target", (x[:, 0] > 0).astype(np.int64))
    )
    splits = {}
    for split, part in (("train", frame[:20]), ("validation", frame[20:25]), ("holdout", frame[25:])):
        name = f"contract/{unique}/{split}.parquet"
        path = Path(f"/tmp/contract-{unique}-{split}.parquet")
        part.write_parquet(path)
        storage.blobs.put_file("datasets", name, path)
        path.unlink()
        splits[split] = name
    return {"splits": splits}


def test_preempted_low_priority_job_is_resubmitted_under_its_attempt_name_and_resumes(
    workspace: FakeWorkspace,
    storage: Storage,
    azurite_connection_string: str,
    monkeypatch: pytest.MonkeyPatch,
    unique: str,
) -> None:
    settings = load_settings(
        environ={
            "AzureWebJobsStorage": azurite_connection_string,
            "MLOPS_AZUREML_SUBSCRIPTION_ID": SUB,
            "MLOPS_AZUREML_RESOURCE_GROUP": RG,
            "MLOPS_AZUREML_WORKSPACE": WS,
        }
    )

    def for_workspace(sub: str, rg: str, ws: str, code_prefix: str | None = None) -> AzureMLCompute:
        assert (sub, rg, ws) == (SUB, RG, WS)
        return _compute(workspace, code_prefix or "code/unset/")

    monkeypatch.setattr(AzureMLCompute, "for_workspace", staticmethod(for_workspace))
    spec, run_id = _spec(unique), f"run-{unique}"
    runs.create_pending(storage, spec.name, run_id, "http")
    dataset = _dataset(storage, unique)

    first = training.submit(storage, settings, spec, run_id, dataset)
    base = job_name_for(run_id)
    assert first["name"] == base and first["attempt"] == 1 and first["created"]
    handoff = JobHandoff(job=base)
    assert storage.blobs.exists(handoff.container, f"{handoff.data}job.json")  # inputs staged in Blob
    assert storage.blobs.exists(handoff.container, f"{stage_code(storage)}MANIFEST")  # and the code
    again = training.submit(storage, settings, spec, run_id, dataset)  # a retried activity
    assert again["name"] == base and not again["created"] and len(workspace.puts()) == 1

    workspace.set_status(base, "Running")
    assert training.status(storage, settings, spec, first, run_id=run_id)["state"] == "running"
    workspace.set_status(base, "Failed")  # the node was taken away: the job wrote no error.json
    polled = training.status(storage, settings, spec, first, run_id=run_id)
    assert polled["state"] == "preempted" and "preempted" in polled["error"]

    second = training.submit(storage, settings, spec, run_id, dataset)
    assert second["name"] == f"{base}-a2" and second["attempt"] == 2 and second["created"]
    put1, put2 = (p.body["properties"] for p in workspace.puts())
    # Same data, same outputs and checkpoint prefix: the new attempt resumes where the first stopped.
    # (The code input names the code deployed now, which may differ after a redeploy.)
    assert put2["inputs"]["data"] == put1["inputs"]["data"] and put2["outputs"] == put1["outputs"]
    assert put2["outputs"]["checkpoints"]["uri"].endswith(f"/paths/{base}/checkpoints/")
    assert put2["queueSettings"] == {"jobTier": "Spot"} and put2["resources"]["instanceCount"] == 2
    _no_local_paths([put1, put2])

    attempts = training.attempts_of(storage, spec.name, run_id)
    assert [(a["name"], a["state"]) for a in attempts] == [(base, "preempted"), (f"{base}-a2", "queued")]
    assert attempts[0]["running_at"] and attempts[0]["ended_at"] and attempts[0]["low_priority"] is True
    assert attempts[0]["instance_type"] == "Standard_NC4as_T4_v3" and attempts[0]["instance_count"] == 2

    # A job that failed by itself (error.json in its outputs) is not a preemption: the run fails.
    workspace.set_status(f"{base}-a2", "Failed")
    storage.blobs.put_bytes(
        handoff.container, f"{handoff.out}error.json", b'{"error": "TrainingFailedError"}'
    )
    assert training.status(storage, settings, spec, second, run_id=run_id)["state"] == "failed"


def test_preemptions_past_the_limit_fail_the_run(
    workspace: FakeWorkspace,
    storage: Storage,
    azurite_connection_string: str,
    monkeypatch: pytest.MonkeyPatch,
    unique: str,
) -> None:
    settings = load_settings(
        environ={
            "AzureWebJobsStorage": azurite_connection_string,
            "MLOPS_AZUREML_SUBSCRIPTION_ID": SUB,
            "MLOPS_AZUREML_RESOURCE_GROUP": RG,
            "MLOPS_AZUREML_WORKSPACE": WS,
        }
    )
    monkeypatch.setattr(
        AzureMLCompute,
        "for_workspace",
        staticmethod(lambda *a, code_prefix=None: _compute(workspace, "code/x/")),
    )
    spec, run_id = _spec(unique), f"run-{unique}"
    runs.create_pending(storage, spec.name, run_id, "http")
    dataset = _dataset(storage, unique)
    job = training.submit(storage, settings, spec, run_id, dataset)
    for attempt in (1, 2, 3):  # max_preemption_retries = 2: attempts 1..3, then the run fails
        assert job["attempt"] == attempt
        workspace.set_status(job["name"], "Failed")
        polled = training.status(storage, settings, spec, job, run_id=run_id)
        if attempt < 3:
            assert polled["state"] == "preempted"
            job = training.submit(storage, settings, spec, run_id, dataset)
    assert polled["state"] == "failed" and "max_preemption_retries=2" in polled["error"]
    assert len(workspace.puts()) == 3
