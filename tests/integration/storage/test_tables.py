"""TableRepository against real Azurite: CRUD, encoding, limits and spilling, batches, queries."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import BaseModel, ConfigDict

from shared.errors import AlreadyExistsError, IntegrityError, NotFoundError, ValidationError
from shared.storage.blobs import BlobStore
from shared.storage.clients import StorageClients
from shared.storage.records import RunRepository
from shared.storage.tables import TableRepository

from .conftest import run


def _repo(
    clients: StorageClients, blobs: BlobStore, table: str, model: type[Any], spill: str = "table-spill"
) -> TableRepository[Any]:
    """A repository over ``model`` keyed by its ``k``/``r`` fields."""
    return TableRepository(
        clients.table, blobs, table_name=table, model=model,
        partition_key_field="k", row_key_field="r", spill_container=spill,
    )  # fmt: skip


def test_insert_get_upsert_delete(runs: RunRepository) -> None:
    record = run(status="Running", started_at=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC), cost=1.5)
    etag = runs.insert(record)
    got, got_etag = runs.get("p", "r1")
    assert got == record
    assert got_etag == etag
    with pytest.raises(AlreadyExistsError):
        runs.insert(record)
    runs.upsert(run(status="Succeeded"))
    assert runs.get("p", "r1")[0].status == "Succeeded"
    assert runs.get("p", "r1")[0].started_at is None, "upsert replaces: cleared fields stay cleared"
    runs.delete("p", "r1")
    assert runs.try_get("p", "r1") is None
    with pytest.raises(NotFoundError):
        runs.get("p", "r1")
    runs.delete("p", "r1")  # deleting twice is fine


def test_values_round_trip_with_types(runs: RunRepository, clients: StorageClients) -> None:
    record = run(
        step_timings={"ingest": 1.25, "train": 30.0},
        gate_decisions=[{"gate": "auc", "passed": True, "value": 0.91, "reason": "above 0.9"}],
        counters={"rows": 3_000_000_000, "polls": 3},
        model_version="000001",
    )
    runs.upsert(record)
    assert runs.get("p", "r1")[0] == record
    raw = clients.table.get_table_client(runs.name).get_entity("p", "r1")
    # JSON values carry their marker; None values are not stored at all.
    assert "step_timings__json" in raw and "gate_decisions__json" in raw
    assert "dataset_version" not in raw and "error" not in raw
    assert "pipeline" not in raw and "run_id" not in raw, "keys live in PartitionKey/RowKey only"


def test_big_integers_use_int64(clients: StorageClients, blobs: BlobStore, unique: str) -> None:
    class Counter(BaseModel):
        k: str
        r: str
        n: int

    repo = _repo(clients, blobs, f"ints{unique}", Counter)
    repo.upsert(Counter(k="a", r="b", n=2**40))
    assert repo.get("a", "b")[0].n == 2**40


@pytest.mark.parametrize("bad", ["a/b", "a\\b", "a#b", "a?b", "a\x01b", "x" * 513])
def test_bad_keys_are_rejected_naming_the_key(runs: RunRepository, bad: str) -> None:
    with pytest.raises(ValidationError) as caught:
        runs.upsert(run(pipeline=bad))
    assert caught.value.field == "PartitionKey"
    with pytest.raises(ValidationError) as caught:
        runs.upsert(run(run_id=bad))
    assert caught.value.field == "RowKey"
    with pytest.raises(ValidationError):
        runs.get("p", bad)


def _spill_names(blobs: BlobStore, repo: TableRepository[Any]) -> list[str]:
    return list(blobs.list_names(repo._spill_container))


def test_a_100_kib_string_spills_to_a_blob_and_reads_back(
    runs: RunRepository, blobs: BlobStore, clients: StorageClients
) -> None:
    big = "é" * (100 * 1024)  # 100 Ki characters: 200 KiB as UTF-16, far over 64 KiB
    record = run(error=big, status="Failed")
    runs.upsert(record)
    raw = clients.table.get_table_client(runs.name).get_entity("p", "r1")
    assert "error" not in raw
    blob_name, sha = raw["error__blob"], raw["error__sha256"]
    assert sha == hashlib.sha256(big.encode("utf-8")).hexdigest()
    assert blobs.exists(runs._spill_container, blob_name)
    assert blob_name.startswith(f"{runs.name}/k-p/k-r1/error/")
    assert raw["status"] == "Failed"
    assert runs.get("p", "r1")[0] == record


def test_a_string_just_under_64_kib_stays_in_the_row(runs: RunRepository, clients: StorageClients) -> None:
    fits = "a" * (32 * 1024)  # exactly 64 KiB as UTF-16
    runs.upsert(run(error=fits))
    raw = clients.table.get_table_client(runs.name).get_entity("p", "r1")
    assert raw["error"] == fits
    runs.upsert(run(error=fits + "a"))
    raw = clients.table.get_table_client(runs.name).get_entity("p", "r1")
    assert "error" not in raw and "error__blob" in raw


def test_big_json_and_bytes_values_spill_too(clients: StorageClients, blobs: BlobStore, unique: str) -> None:
    class Doc(BaseModel):
        k: str
        r: str
        payload: bytes
        items: list[int]

    repo = _repo(clients, blobs, f"docs{unique}", Doc, spill=f"spill-{unique}")
    doc = Doc(k="a.", r="..", payload=bytes(range(256)) * 300, items=list(range(20_000)))
    repo.upsert(doc)
    raw = clients.table.get_table_client(repo.name).get_entity("a.", "..")
    assert {"payload__blob", "payload__sha256", "items__json__blob", "items__json__sha256"} <= set(raw)
    assert repo.get("a.", "..")[0] == doc
    assert len(_spill_names(blobs, repo)) == 2
    repo.delete("a.", "..")
    assert _spill_names(blobs, repo) == [], "delete removes the spilled blobs"


class Wide(BaseModel):
    """A record with arbitrary extra properties."""

    model_config = ConfigDict(extra="allow")
    k: str
    r: str


def test_300_properties_spill_the_whole_record(
    clients: StorageClients, blobs: BlobStore, unique: str
) -> None:
    repo = _repo(clients, blobs, f"wide{unique}", Wide, spill=f"spill-{unique}")
    values = {f"p{i}": (i if i % 3 else f"v{i}") for i in range(300)}
    wide = Wide(k="a", r="b", **values)
    repo.upsert(wide)
    raw = dict(clients.table.get_table_client(repo.name).get_entity("a", "b"))
    assert set(raw) == {"PartitionKey", "RowKey", "__spill_blob", "__spill_sha256"}
    assert blobs.exists(repo._spill_container, raw["__spill_blob"])
    assert blobs.sha256_of(repo._spill_container, raw["__spill_blob"]) == raw["__spill_sha256"]
    got = repo.get("a", "b")[0]
    assert got == wide
    assert got.model_extra == values


def test_252_properties_fit_in_the_row(clients: StorageClients, blobs: BlobStore, unique: str) -> None:
    repo = _repo(clients, blobs, f"wide{unique}", Wide, spill=f"spill-{unique}")
    wide = Wide(k="a", r="b", **{f"p{i}": i for i in range(252)})
    repo.upsert(wide)
    raw = dict(clients.table.get_table_client(repo.name).get_entity("a", "b"))
    assert len(raw) == 254 and "__spill_blob" not in raw
    assert repo.get("a", "b")[0] == wide


def test_many_mid_sized_strings_stay_under_1_mib(
    clients: StorageClients, blobs: BlobStore, unique: str
) -> None:
    repo = _repo(clients, blobs, f"wide{unique}", Wide, spill=f"spill-{unique}")
    # 20 values of 60 KiB (UTF-16) each: every one fits alone, together they pass 1 MiB.
    wide = Wide(k="a", r="b", **{f"s{i}": chr(65 + i) * 30_000 for i in range(20)})
    repo.upsert(wide)
    raw = dict(clients.table.get_table_client(repo.name).get_entity("a", "b"))
    spilled = [p for p in raw if p.endswith("__blob")]
    assert spilled and len(spilled) < 20, "only as many values as needed move out"
    assert repo.get("a", "b")[0] == wide


def test_a_tampered_spill_blob_fails_the_read(
    runs: RunRepository, blobs: BlobStore, clients: StorageClients
) -> None:
    runs.upsert(run(error="x" * 40_000))
    raw = clients.table.get_table_client(runs.name).get_entity("p", "r1")
    # Rewrite the blob *with a matching metadata sha256*: only the row's sha256 can catch it.
    blobs.put_bytes(runs._spill_container, raw["error__blob"], b"y" * 40_000)
    with pytest.raises(IntegrityError) as caught:
        runs.get("p", "r1")
    assert raw["error__blob"] in str(caught.value)
    assert raw["error__sha256"] in str(caught.value)


def test_a_tampered_whole_record_spill_fails_the_read(
    clients: StorageClients, blobs: BlobStore, unique: str
) -> None:
    repo = _repo(clients, blobs, f"wide{unique}", Wide, spill=f"spill-{unique}")
    repo.upsert(Wide(k="a", r="b", **{f"p{i}": i for i in range(260)}))
    raw = clients.table.get_table_client(repo.name).get_entity("a", "b")
    blob = clients.blob.get_blob_client(repo._spill_container, raw["__spill_blob"])
    data = bytearray(blob.download_blob().readall())
    data[-3] = ord("9") if data[-3] != ord("9") else ord("8")
    # Either way of tampering is caught: keeping the old metadata sha256, or rewriting it too
    # (then only the sha256 kept in the row can tell).
    blob.upload_blob(bytes(data), overwrite=True, metadata=blob.get_blob_properties().metadata)
    with pytest.raises(IntegrityError):
        repo.get("a", "b")
    blobs.put_bytes(repo._spill_container, raw["__spill_blob"], bytes(data))
    with pytest.raises(IntegrityError) as caught:
        repo.get("a", "b")
    assert raw["__spill_sha256"] in str(caught.value)


def test_250_entities_in_one_partition_take_3_transactions(runs: RunRepository) -> None:
    records = [run(run_id=f"r{i:03d}", counters={"i": i}) for i in range(250)]
    assert runs.upsert_many(records) == 3
    back = list(runs.query(pk="p"))
    assert len(back) == 250
    assert sorted(back, key=lambda r: r.run_id) == records


def test_batches_group_by_partition(runs: RunRepository) -> None:
    records = [run(pipeline=f"p{i % 3}", run_id=f"r{i}") for i in range(30)]
    assert runs.insert_many(records) == 3
    assert len(list(runs.query())) == 30
    with pytest.raises(AlreadyExistsError):
        runs.insert_many([run(pipeline="p0", run_id="r0")])


def test_batches_stay_under_4_mib(clients: StorageClients, blobs: BlobStore, unique: str) -> None:
    repo = _repo(clients, blobs, f"wide{unique}", Wide, spill=f"spill-{unique}")
    # 40 entities of ~300 KB each on the wire: 100 per batch would be ~12 MB.
    records = [Wide(k="a", r=f"r{i}", **{f"s{j}": "z" * 30_000 for j in range(10)}) for i in range(40)]
    sent = repo.upsert_many(records)
    assert sent >= 3
    assert len(list(repo.query(pk="a"))) == 40


def test_query_filter_parameters_and_select(runs: RunRepository) -> None:
    runs.upsert_many(
        [run(run_id=f"r{i}", status="Failed" if i % 2 else "Succeeded", cost=float(i)) for i in range(6)]
    )
    runs.upsert(run(pipeline="other", run_id="x", status="Failed"))
    failed = list(runs.query(pk="p", filter="status eq @s", parameters={"s": "Failed"}))
    assert sorted(r.run_id for r in failed) == ["r1", "r3", "r5"]
    everywhere = list(runs.query(filter="status eq 'Failed'"))
    assert len(everywhere) == 4
    slim = list(runs.query(pk="p", select=["status"]))
    assert len(slim) == 6
    assert all(r.cost == 0.0 for r in slim), "unselected fields fall back to their defaults"


def test_reserved_field_names_are_refused(clients: StorageClients, blobs: BlobStore, unique: str) -> None:
    class Bad(BaseModel):
        k: str
        r: str
        x__json: int = 1

    repo = _repo(clients, blobs, f"bad{unique}", Bad)
    with pytest.raises(ValidationError, match="reserved"):
        repo.upsert(Bad(k="a", r="b"))


def test_every_design_record_round_trips(clients: StorageClients, blobs: BlobStore, unique: str) -> None:
    from shared.storage import records as rec

    now = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
    samples: list[tuple[type[TableRepository[Any]], BaseModel]] = [
        (rec.PipelineRepository,
         rec.PipelineRecord(pipeline="p", spec_version="v1", spec={"a": [1]}, registered_at=now)),
        (rec.DatasetRepository,
         rec.DatasetRecord(dataset="d", content_hash="h", rows=3, bytes=10, schema={"c": "int"})),
        (rec.ModelRepository,
         rec.ModelRecord(model="m", version=rec.version_key(1), onnx_blob="m/1.onnx", sha256="0" * 64,
                         metrics={"auc": 0.9}, input_schema={"x": "float"})),
        (rec.AliasRepository,
         rec.AliasRecord(model="m", alias="canary", version="000001", traffic_share=0.1)),
        (rec.DeploymentRepository,
         rec.DeploymentRecord(model="m", deployment_id="d1", version="000001")),
        (rec.DriftRepository,
         rec.DriftRecord(model="m", window="2026-11-21T00", drifted=True, drifted_share=0.5)),
        (rec.CostRepository,
         rec.CostRecord(day="2026-11-21", item="run:1", amount=0.12, quantity=60, unit="s")),
        (rec.AuditRepository,
         rec.AuditRecord(entity="model:m", entry_id="20261121T120000-abc", action="approve", at=now)),
    ]  # fmt: skip
    for repo_cls, record in samples:
        repo = repo_cls(clients.table, blobs, table_name=f"{repo_cls.table_name}{unique}")
        repo.upsert(record)
        pk, rk = repo.keys_of(record)
        assert repo.get(pk, rk)[0] == record, repo_cls.__name__
    assert rec.version_key(42) == "000042"


def test_a_spill_reference_without_its_sha256_is_refused(
    runs: RunRepository, clients: StorageClients
) -> None:
    runs.upsert(run(error="x" * 40_000))
    table = clients.table.get_table_client(runs.name)
    raw = dict(table.get_entity("p", "r1"))
    del raw["error__sha256"]
    table.upsert_entity(raw, mode="replace")
    with pytest.raises(IntegrityError, match="no sha256"):
        runs.get("p", "r1")
