"""The streaming ingest and validate steps (Blob to Blob, chunk by chunk) equal the in-memory path.

Tiny chunks (each a row group of the typed rows, and a batch of validation) make a 300-row CSV
cross dozens of chunk and batch boundaries, with the problems placed on and around them:
unreadable records, bad numbers, repeats of a unique column in different batches, quoted fields
with newlines.
"""

from __future__ import annotations

import json
from typing import Any

import polars as pl
import pytest

from shared.data.ingest import ingest
from shared.data.prepare import prepare_dataset
from shared.data.schema import BaselineSchema
from shared.monitoring.reference import ReferenceProfile
from shared.pipeline.spec import PipelineSpec, load_spec
from shared.settings import load_settings
from shared.steps import datasets
from shared.storage.factory import Storage


@pytest.fixture
def storage(azurite_connection_string: str) -> Storage:
    built = Storage.from_settings(load_settings(environ={"AzureWebJobsStorage": azurite_connection_string}))
    built.ensure_all()
    return built


def _csv(rows: int) -> bytes:
    lines = ["id,x,name,label"]
    for i in range(1, rows + 1):
        x = "bad" if i % 37 == 0 else ("" if i % 41 == 0 else f"{(i % 17) - 3}.5")
        name = f'"n{i % 5},\nline"' if i % 29 == 0 else f"n{i % 5}"
        ident = i - 1 if i % 53 == 0 else i  # a repeat of the previous row's id
        label = "" if i % 61 == 0 else str(i % 2)
        lines.append(f"{ident},{x},{name},{label}")
        if i % 43 == 0:
            lines.append("1,2,3,4,5,6")  # too many fields: unreadable
        if i % 71 == 0:
            lines.append("\xff\xfe,1,2,3")  # replaced below by undecodable bytes
    return "\n".join(lines).encode().replace("\xff\xfe".encode(), b"\xff\xfe") + b"\n"


def _spec(storage: Storage, name: str, body: bytes) -> PipelineSpec:
    storage.blobs.put_bytes("data", f"uploads/{name}.csv", body)
    return load_spec(
        {
            "name": name,
            "source": f"blob:data/uploads/{name}.csv",
            "target": "label",
            "task": "classification",
            "trainer": {"kind": "sklearn", "model": "logistic_regression"},
            "compute": {"kind": "local"},
            "reject_threshold": 0.5,
            "expectations": {"columns": {"id": {"unique": True}, "x": {"min": -2}}},
        }
    )


def _run(storage: Storage, spec: PipelineSpec) -> dict[str, Any]:
    result = datasets.validate(storage, spec, datasets.ingest(storage, spec)["version"])
    assert result["rows_accepted"] + result["rows_quarantined"] == result["rows_read"]
    return result


def test_streamed_steps_equal_the_in_memory_path(
    storage: Storage, unique: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    body = _csv(300)
    spec = _spec(storage, f"stream-{unique}", body)
    monkeypatch.setattr(datasets, "CHUNK_BYTES", 512)  # ~30 chunks: as many row groups and batches
    result = _run(storage, spec)

    memory = prepare_dataset(ingest(body, format="csv"), spec)
    v = memory.validation
    assert (result["rows_read"], result["rows_accepted"], result["rows_quarantined"]) == (
        v.rows_read,
        v.rows_accepted,
        v.rows_quarantined,
    )
    assert result["failures"] == v.failure_counts and list(result["failures"]) == list(v.failure_counts)
    assert any("unique" in k for k in v.failure_counts), "repeats must span batches"
    assert any(k.startswith("*: unreadable") for k in v.failure_counts)
    quarantine = storage.blobs.get_bytes("quarantine", result["quarantine_blob"])
    assert quarantine == v.quarantine_csv()
    for name, rows in result["split_rows"].items():
        part = datasets.read_frame(storage, result["splits"][name])
        expected = pl.read_parquet(memory.splits[name])
        assert part.height == rows
        assert part.equals(expected), name
    stored = ReferenceProfile.from_json(storage.blobs.get_bytes("profiles", result["profile_blob"]))
    assert stored == memory.profile
    baseline = datasets.load_baseline(storage, spec.name)
    assert baseline == v.baseline and isinstance(baseline, BaselineSchema)
    record = storage.datasets.try_get(spec.name, result["version"])
    assert record is not None and record.ingested_blob is not None
    meta_blob = record.ingested_blob.replace("ingested.parquet", "ingest.json")
    meta = json.loads(storage.blobs.get_bytes("datasets", meta_blob))
    assert meta["rows_read"] == v.rows_read


def test_a_rejected_stream_commits_no_split(
    storage: Storage, unique: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    body = b"id,x,name,label\n" + b"".join(f"{i},1.5,n,\n".encode() for i in range(50))
    spec = _spec(storage, f"streamrej-{unique}", body)
    monkeypatch.setattr(datasets, "CHUNK_BYTES", 128)
    result = _run(storage, spec)
    assert result["rejected"] and result["splits"] == {} and result["rows_quarantined"] == 50
    version_prefix = f"{spec.name}/{result['version']}/"
    names = list(storage.blobs.list_names("datasets", version_prefix))
    assert not [n for n in names if n.endswith(("train.parquet", "validation.parquet", "holdout.parquet"))]
    assert storage.blobs.get_bytes("quarantine", result["quarantine_blob"]).count(b"\n") == 51
