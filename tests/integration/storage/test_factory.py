"""Storage.from_settings wires every component; ensure_all creates everything, twice without harm."""

from __future__ import annotations

from shared.settings import Settings
from shared.storage.factory import CONTAINERS, RETRAIN_QUEUE, Storage
from shared.storage.records import RunRecord


def test_ensure_all_creates_tables_containers_and_queues_idempotently(settings: Settings) -> None:
    storage = Storage.from_settings(settings)
    storage.ensure_all()
    storage.ensure_all()
    tables = {t.name for t in storage.clients.table.list_tables()}
    assert {r.name for r in storage.repositories} <= tables
    assert {
        "pipelines",
        "runs",
        "datasets",
        "models",
        "aliases",
        "deployments",
        "drift",
        "costs",
        "audit",
    } <= tables
    containers = {c.name for c in storage.clients.blob.list_containers()}
    assert set(CONTAINERS) <= containers
    queues = {q.name for q in storage.clients.queue.list_queues()}
    assert {RETRAIN_QUEUE, f"{RETRAIN_QUEUE}-poison"} <= queues


def test_components_share_one_blob_store_and_work(settings: Settings, unique: str) -> None:
    storage = Storage.from_settings(settings)
    assert all(repo._blobs is storage.blobs for repo in storage.repositories)
    record = RunRecord(pipeline=f"factory-{unique}", run_id="r1", status="Running")
    storage.runs.upsert(record)
    assert storage.runs.get(record.pipeline, "r1")[0] == record
    storage.runs.delete(record.pipeline, "r1")
