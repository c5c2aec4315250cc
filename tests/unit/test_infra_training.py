"""Infra provisions what the Azure ML training path needs (issue 14): the datastore and container
the code hands jobs, the environment the spec defaults to, cluster identities and their storage
roles, the workspace's storage role, and Monitoring Metrics Publisher for the app identity."""

from __future__ import annotations

import re
from pathlib import Path

from shared.compute.handoff import APP_DATASTORE, CONTAINER
from shared.pipeline.sections import DEFAULT_TRAINING_ENVIRONMENT

ROOT = Path(__file__).resolve().parents[2]
INFRA = ROOT / "infra"
MONITORING_METRICS_PUBLISHER = "3913510d-42f4-4e42-8a64-420c390055eb"
STORAGE_BLOB_DATA_CONTRIBUTOR = "ba92f5b4-2d11-453d-a403-e96b0029c9fe"


def _read(name: str) -> str:
    return (INFRA / name).read_text()


def _resource(text: str, symbol: str) -> str:
    """The body of ``resource <symbol> ...`` up to the next top-level declaration."""
    match = re.search(rf"^resource {symbol} .*?(?=^\S)", text + "\nEND", re.S | re.M)
    assert match, f"no resource {symbol}"
    return match.group(0)


def test_the_datastore_and_container_are_the_ones_the_code_uses() -> None:
    ml, storage = _read("app/ml.bicep"), _read("app/storage.bicep")
    assert f"var datastoreName = '{APP_DATASTORE}'" in ml and f"var trainingContainer = '{CONTAINER}'" in ml
    datastore = _resource(ml, "trainingDatastore")
    assert "credentialsType: 'None'" in datastore and "containerName: trainingContainer" in datastore
    assert f"name: '{CONTAINER}'" in storage


def test_the_registered_environment_is_the_spec_default_and_holds_torch() -> None:
    ml = _read("app/ml.bicep")
    name = re.search(r"param environmentName string = '([^']+)'", ml)
    version = re.search(r"param environmentVersion string = '([^']+)'", ml)
    assert name and version
    assert f"azureml:{name.group(1)}:{version.group(1)}" == DEFAULT_TRAINING_ENVIRONMENT
    conda = _read("training-environment.yml")
    for package in ("torch==", "onnx>=", "onnxruntime>=", "polars>=", "pydantic-settings>=", "skl2onnx>="):
        assert f"- {package}" in conda, package


def test_clusters_have_managed_identities_with_blob_roles() -> None:
    ml, rbac, main = _read("app/ml.bicep"), _read("app/rbac.bicep"), _read("main.bicep")
    for cluster in ("gpuCluster", "gpuLowPriorityCluster"):
        body = _resource(ml, cluster)
        assert "identity: { type: 'SystemAssigned' }" in body and "minNodeCount: 0" in body
    assert "vmPriority: 'LowPriority'" in _resource(ml, "gpuLowPriorityCluster")
    clusters = _resource(rbac, "clusterStorage")
    assert "for principal in clusterPrincipalIds" in clusters and "storageBlobDataContributor" in clusters
    workspace = _resource(rbac, "workspaceStorage")
    assert "workspacePrincipalId" in workspace and "scope: storage" in workspace
    assert f"storageBlobDataContributor: '{STORAGE_BLOB_DATA_CONTRIBUTOR}'" in rbac
    assert "clusterPrincipalIds: ml.outputs.clusterPrincipalIds" in main
    assert "workspacePrincipalId: ml.outputs.workspacePrincipalId" in main


def test_the_app_identity_may_publish_to_application_insights() -> None:
    rbac, main = _read("app/rbac.bicep"), _read("main.bicep")
    assert f"monitoringMetricsPublisher: '{MONITORING_METRICS_PUBLISHER}'" in rbac
    body = _resource(rbac, "appMetrics")
    assert "scope: appInsights" in body and "principalId: appPrincipalId" in body
    assert "DisableLocalAuth: true" in _read("app/monitoring.bicep")
    assert "appInsightsName: monitoring.outputs.appInsightsName" in main


def test_every_required_rbac_parameter_is_passed_and_the_readme_outputs_exist() -> None:
    rbac, main = _read("app/rbac.bicep"), _read("main.bicep")
    required = re.findall(r"^param (\w+) \w+$", rbac, re.M)  # no default value
    module = re.search(r"module rbac .*?^}", main, re.S | re.M)
    assert module
    assert [p for p in required if f"{p}:" not in module.group(0)] == []
    outputs = ("AZURE_ML_COMPUTE", "AZURE_ML_LOW_PRIORITY_COMPUTE", "AZURE_ML_ENVIRONMENT",
               "AZURE_ML_DATASTORE", "AZURE_STORAGE_ACCOUNT", "AZURE_STORAGE_DATA_CONTAINER")  # fmt: skip
    for output in outputs:
        assert f"output {output} string" in main, output


def test_azure_ml_job_ends_reach_the_training_events_queue_with_a_send_only_identity() -> None:
    """Event Grid -> training-events, filtered to final statuses, with the topic's own identity."""
    from shared.compute.events import AML_FINAL, AML_STATUS_EVENT, QUEUE

    ml, events, rbac, storage, main = (
        _read("app/ml.bicep"),
        _read("app/events.bicep"),
        _read("app/rbac.bicep"),
        _read("app/storage.bicep"),
        _read("main.bicep"),
    )
    topic = _resource(ml, "workspaceEvents")
    assert "source: workspace.id" in topic and "'Microsoft.MachineLearningServices.Workspaces'" in topic
    assert "identity: { type: 'SystemAssigned' }" in topic
    assert f"var queueName = '{QUEUE}'" in events and f"var statusEvent = '{AML_STATUS_EVENT}'" in events
    statuses = re.search(r"var finalStatuses = \[([^\]]*)\]", events)
    assert statuses and set(re.findall(r"'([^']+)'", statuses.group(1))) == set(AML_FINAL)
    subscription = _resource(events, "jobEnds")
    assert "deliveryWithResourceIdentity" in subscription and "endpointType: 'StorageQueue'" in subscription
    assert "eventDeliverySchema: 'EventGridSchema'" in subscription
    # The topic identity may only send queue messages (Storage Queue Data Message Sender).
    role = _resource(rbac, "eventsQueue")
    assert "principalId: eventsPrincipalId" in role and "roles.storageQueueDataMessageSender" in role
    assert "storageQueueDataMessageSender: 'c6a89b2d-59bc-44d0-9896-0f6e12d7b80a'" in rbac
    assert f"name: '{QUEUE}'" in _resource(storage, "trainingEventsQueue")
    # Created after the role exists: Event Grid checks delivery access when the subscription is made.
    events_module = re.search(r"module events .*?^}", main, re.S | re.M)
    assert events_module and "dependsOn: [rbac]" in events_module.group(0)
