"""Concurrent registrations of one model never overwrite each other's bytes (issue 15 item 3).

Ten threads run the real register and deploy steps against real Azurite at once, each with its own
ONNX bytes: every thread must end with its own version whose blob verifies by sha256, no two
threads may share a version, and production must end on one of them and score.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import pytest
import yaml
from onnx import TensorProto, helper, numpy_helper

from cli.client import ApiClient
from cli.local import ROOT, LocalStack
from shared.errors import IntegrityError
from shared.models.onnx_io import ModelCache
from shared.models.signature import metadata_for
from shared.pipeline.spec import PipelineSpec, load_spec
from shared.settings import Settings, load_settings
from shared.steps import models
from shared.storage.factory import Storage
from tests.scoring_support import score_rows

RACERS = 10
FEATURES = ["a", "b"]
TERMINAL = {"Succeeded", "Failed", "DataRejected", "GateRejected", "ApprovalRejected"}


def tiny_classifier(weight: float) -> bytes:
    """A two-feature softmax classifier whose bytes differ with ``weight``."""
    w = numpy_helper.from_array(np.array([[weight, -weight], [1.0, -1.0]], dtype=np.float32), "w")
    graph = helper.make_graph(
        [
            helper.make_node("MatMul", ["input", "w"], ["z"]),
            helper.make_node("Softmax", ["z"], ["probabilities"]),
        ],
        "tiny",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [None, 2])],
        [helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, [None, 2])],
        [w],
    )
    proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=9)
    meta = metadata_for(features=FEATURES, task="classification", target="y", classes=[0, 1], trainer="test")
    for key, value in meta.items():
        proto.metadata_props.add(key=key, value=value)
    return bytes(proto.SerializeToString())


@pytest.fixture
def storage(settings: Settings) -> Storage:
    store = Storage.from_settings(settings)
    store.ensure_all()
    return store


def _spec(name: str) -> PipelineSpec:
    return load_spec(
        {
            "name": name,
            "source": "sklearn:breast_cancer",
            "target": "y",
            "task": "classification",
            "trainer": {"kind": "sklearn", "model": "gradient_boosting"},
        }
    )


def _candidate(storage: Storage, run_id: str, data: bytes) -> dict[str, Any]:
    ref = storage.blobs.put_bytes("models", f"candidates/{run_id}/model.onnx", data)
    return {"blob": ref.name, "sha256": ref.sha256, "signature": {"features": FEATURES}}


def _race(fn: Callable[[int], Any]) -> list[Any]:
    barrier = threading.Barrier(RACERS)

    def go(i: int) -> Any:
        barrier.wait()  # all threads leave together: the read-then-insert windows overlap
        return fn(i)

    with ThreadPoolExecutor(RACERS) as pool:
        return list(pool.map(go, range(RACERS)))


def test_ten_concurrent_registrations_get_ten_distinct_versions_that_verify(
    storage: Storage, unique: str
) -> None:
    spec = _spec(f"race-{unique}")
    payloads = [tiny_classifier(1.0 + i) for i in range(RACERS)]
    candidates = [_candidate(storage, f"run-{i}", payloads[i]) for i in range(RACERS)]
    dataset = {"version": "d" * 64}

    registered = _race(
        lambda i: models.register(storage, spec, f"run-{i}", dataset, candidates[i], {"metrics": {}})
    )

    versions = [r["version"] for r in registered]
    assert len(set(versions)) == RACERS, f"two runs share a version: {sorted(versions)}"
    for i, summary in enumerate(registered):
        record = storage.models.get(spec.name, summary["version"])[0]
        assert record.run_id == f"run-{i}"
        assert record.sha256 == hashlib.sha256(payloads[i]).hexdigest()
        data = storage.blobs.get_bytes("models", record.onnx_blob, expected_sha256=record.sha256)
        assert data == payloads[i], f"version {record.version} holds another run's bytes"
    assert len(list(storage.models.query(pk=spec.name))) == RACERS, "a lost race left a stray row"

    # A retried activity with the same bytes is idempotent; the same run with other bytes is a new version.
    again = models.register(storage, spec, "run-3", dataset, candidates[3], {"metrics": {}})
    assert again == registered[3]
    other = _candidate(storage, "run-3b", tiny_classifier(99.0))
    moved = models.register(storage, spec, "run-3", dataset, other, {"metrics": {}})
    assert moved["version"] not in versions

    deployed = _race(lambda i: models.deploy(storage, spec, f"run-{i}", registered[i]))
    production = storage.aliases.get(spec.name, "production")[0].version
    assert production in versions and {d["version"] for d in deployed} == set(versions)
    result = score_rows(storage, ModelCache(), spec.name, {"rows": [{"a": 1.0, "b": 2.0}]})
    assert result["version"] == production and len(result["predictions"]) == 1


def test_deploy_refuses_a_version_whose_blob_does_not_verify(storage: Storage, unique: str) -> None:
    spec = _spec(f"tamper-{unique}")
    candidate = _candidate(storage, "run-1", tiny_classifier(2.0))
    summary = models.register(storage, spec, "run-1", {"version": "d" * 64}, candidate, {"metrics": {}})
    record = storage.models.get(spec.name, summary["version"])[0]
    # Someone with account access rewrites the bytes (bypassing the create-only write).
    storage.clients.blob.get_blob_client("models", record.onnx_blob).upload_blob(
        tiny_classifier(3.0), overwrite=True
    )
    with pytest.raises(IntegrityError):
        models.deploy(storage, spec, "run-1", summary)
    assert storage.aliases.try_get(spec.name, "production") is None, "a bad version took the alias"


def test_ten_concurrent_http_runs_of_one_pipeline_register_ten_versions_and_production_scores(
    stack: LocalStack, unique: str
) -> None:
    """The same race end to end: 10 runs through devhost's HTTP API with different trainer params."""
    api = ApiClient(stack.url, stack.master_key)
    name = f"race-http-{unique}"
    data: dict[str, Any] = yaml.safe_load((ROOT / "examples" / "breast_cancer.yaml").read_text())
    data.update(
        name=name, compute={"kind": "local", "poll_seconds": 1}, gates={"absolute": {"auc": {"min": 0.9}}}
    )
    specs = [
        {**data, "trainer": {**data["trainer"], "params": {"n_estimators": 10 + i, "max_depth": 2}}}
        for i in range(RACERS)
    ]
    started = _race(lambda i: api.post(f"/api/pipelines/{name}/runs", {"spec": specs[i]})["run_id"])

    def finished() -> list[dict[str, Any]] | None:
        records = [api.get(f"/api/runs/{run_id}") for run_id in started]
        return records if all(r["status"] in TERMINAL for r in records) else None

    deadline = time.monotonic() + 600
    while (records := finished()) is None:
        assert time.monotonic() < deadline, "the 10 runs did not finish in 600 s"
        time.sleep(1)
    assert all(r["status"] == "Succeeded" for r in records), [(r["run_id"], r.get("error")) for r in records]
    versions = {r["model_version"] for r in records}
    assert len(versions) == RACERS, f"runs share versions: {sorted(versions)}"

    storage = Storage.from_settings(
        load_settings(environ={"AzureWebJobsStorage": str(stack.connection_string)})
    )
    for record in storage.models.query(pk=name):
        storage.blobs.get_bytes("models", record.onnx_blob, expected_sha256=record.sha256)  # verifies
    model = api.get(f"/api/models/{name}")
    assert model["aliases"]["production"] in versions
    features = model["versions"][0]["input_schema"]["features"]
    scored = api.post(f"/api/models/{name}/score", {"rows": [{f: 1.0 for f in features}]})
    assert scored["version"] == model["aliases"]["production"] and len(scored["predictions"]) == 1


def test_a_retry_after_a_crash_between_row_and_blob_finishes_the_same_version(
    storage: Storage, unique: str
) -> None:
    spec = _spec(f"crash-{unique}")
    payload = tiny_classifier(4.0)
    candidate = _candidate(storage, "run-1", payload)
    first = models.register(storage, spec, "run-1", {"version": "d" * 64}, candidate, {"metrics": {}})
    storage.blobs.delete("models", first["onnx_blob"])  # as if the activity died after its row insert
    again = models.register(storage, spec, "run-1", {"version": "d" * 64}, candidate, {"metrics": {}})
    assert again == first
    assert storage.blobs.get_bytes("models", first["onnx_blob"], expected_sha256=first["sha256"]) == payload
    # A blob at the version's name that holds other bytes is never taken over or overwritten.
    storage.clients.blob.get_blob_client("models", first["onnx_blob"]).upload_blob(b"junk", overwrite=True)
    with pytest.raises(IntegrityError):
        models.register(storage, spec, "run-1", {"version": "d" * 64}, candidate, {"metrics": {}})
    assert storage.blobs.get_bytes("models", first["onnx_blob"], verify=False) == b"junk"
