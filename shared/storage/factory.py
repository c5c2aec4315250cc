"""Storage: the one place that wires the blob store, every repository and the queues."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from shared.compute.events import QUEUE as TRAINING_EVENTS_QUEUE
from shared.settings import Settings
from shared.storage.blobs import BlobStore
from shared.storage.clients import StorageClients, build_clients
from shared.storage.queues import MessageQueue
from shared.storage.records import (
    AliasRepository,
    AuditRepository,
    CostRepository,
    DatasetRepository,
    DeploymentRepository,
    DriftRepository,
    ModelRepository,
    PipelineRepository,
    RunRepository,
)
from shared.storage.tables import SPILL_CONTAINER, TableRepository

#: Blob containers of DESIGN section 4, plus the table spill container.
CONTAINERS = (
    "datasets",
    "quarantine",
    "profiles",
    "models",
    "checkpoints",
    "reports",
    "inference-logs",
    "predictions",  # every scored row's id and answer (shared.steps.prediction_log)
    "feedback",  # ground-truth labels by prediction hour (shared.steps.feedback)
    SPILL_CONTAINER,
    "trainer-scripts",  # admin-registered trainer code (shared.steps.scripts)
    "data",  # the default user data container (uploads, blob sources)
)
RETRAIN_QUEUE = "retrain-requests"


@dataclass(frozen=True)
class Storage:
    """Every storage component of the app, built from one Settings object."""

    clients: StorageClients
    blobs: BlobStore
    pipelines: PipelineRepository
    runs: RunRepository
    datasets: DatasetRepository
    models: ModelRepository
    aliases: AliasRepository
    deployments: DeploymentRepository
    drift: DriftRepository
    costs: CostRepository
    audit: AuditRepository
    retrain_requests: MessageQueue
    training_events: MessageQueue  # job-end messages from local job runners (shared.compute.events)

    @classmethod
    def from_settings(cls, settings: Settings) -> Storage:
        """Build clients from ``settings`` and wire every component on them."""
        return cls.from_clients(build_clients(settings))

    @classmethod
    def from_clients(cls, clients: StorageClients) -> Storage:
        """Wire every component on already-built service clients."""
        blobs = BlobStore(clients.blob)
        table = clients.table
        return cls(
            clients=clients,
            blobs=blobs,
            pipelines=PipelineRepository(table, blobs),
            runs=RunRepository(table, blobs),
            datasets=DatasetRepository(table, blobs),
            models=ModelRepository(table, blobs),
            aliases=AliasRepository(table, blobs),
            deployments=DeploymentRepository(table, blobs),
            drift=DriftRepository(table, blobs),
            costs=CostRepository(table, blobs),
            audit=AuditRepository(table, blobs),
            retrain_requests=MessageQueue(clients.queue, RETRAIN_QUEUE),
            training_events=MessageQueue(clients.queue, TRAINING_EVENTS_QUEUE),
        )

    @property
    def repositories(self) -> tuple[TableRepository[Any], ...]:
        """Every table repository."""
        return (
            self.pipelines,
            self.runs,
            self.datasets,
            self.models,
            self.aliases,
            self.deployments,
            self.drift,
            self.costs,
            self.audit,
        )

    @property
    def queues(self) -> tuple[MessageQueue, ...]:
        """Every queue, poison queues included."""
        events = self.training_events
        return (self.retrain_requests, self.retrain_requests.poison(), events, events.poison())

    def ensure_all(self) -> None:
        """Create every table, container and queue (idempotent; safe to call on each start)."""
        for repo in self.repositories:
            repo.ensure_table()
        for container in CONTAINERS:
            self.blobs.ensure_container(container)
        for queue in self.queues:
            queue.ensure()
