"""Bad input through the storage-wired steps: clear reasons, counts that add up, nothing partial."""

from __future__ import annotations

import hashlib
import pickle
from pathlib import Path

import pytest

from shared.errors import ValidationError
from shared.models.onnx_io import ModelCache
from shared.pipeline.spec import PipelineSpec, load_spec
from shared.settings import load_settings
from shared.steps import datasets
from shared.storage.factory import Storage
from shared.storage.records import AliasRecord, ModelRecord
from tests.scoring_support import score_rows

HEADER = "a,b,label\n"


@pytest.fixture
def storage(azurite_connection_string: str) -> Storage:
    built = Storage.from_settings(load_settings(environ={"AzureWebJobsStorage": azurite_connection_string}))
    built.ensure_all()
    return built


def _spec(name: str, location: str) -> PipelineSpec:
    return load_spec(
        {
            "name": name,
            "source": location,
            "target": "label",
            "task": "classification",
            "trainer": {"kind": "sklearn", "model": "logistic_regression"},
            "compute": {"kind": "local"},
            "reject_threshold": 0.05,
        }
    )


def _upload(storage: Storage, name: str, body: bytes) -> str:
    storage.blobs.put_bytes("data", f"uploads/{name}.csv", body)
    return f"blob:data/uploads/{name}.csv"


def test_mostly_bad_csv_is_rejected_with_reasons_and_leaves_no_splits_or_baseline(
    storage: Storage, unique: str
) -> None:
    good = "".join(f"{i},{i * 2},{i % 2}\n" for i in range(40))
    bad = "".join(f"x{i},{i},\n" for i in range(20))  # wrong type in a, missing target
    spec = _spec(f"bad-{unique}", _upload(storage, unique, (HEADER + good + bad).encode()))
    ingested = datasets.ingest(storage, spec)
    result = datasets.validate(storage, spec, ingested["version"])
    assert result["rejected"] and result["status"] == "rejected"
    assert result["rows_read"] == 60
    assert result["rows_accepted"] + result["rows_quarantined"] == result["rows_read"]
    assert result["rows_quarantined"] == 20 and result["reasons"]
    quarantine = storage.blobs.get_bytes("quarantine", result["quarantine_blob"]).decode()
    assert "label" in quarantine and "a" in quarantine
    assert result["splits"] == {}
    assert not any(
        n.endswith(("train.parquet", "holdout.parquet"))
        for n in storage.blobs.list_names("datasets", f"{spec.name}/")
    )
    assert datasets.load_baseline(storage, spec.name) is None


@pytest.mark.parametrize(
    ("case", "body"),
    [
        ("empty file", b""),
        ("header only", HEADER.encode()),
    ],
)
def test_unusable_files_are_rejected_with_a_reason(
    storage: Storage, unique: str, case: str, body: bytes
) -> None:
    spec = _spec(f"bad-{unique}", _upload(storage, unique, body))
    result = datasets.validate(storage, spec, datasets.ingest(storage, spec)["version"])
    assert result["rejected"], case
    assert result["reasons"], case
    assert result["rows_accepted"] + result["rows_quarantined"] == result["rows_read"]


def test_a_later_file_missing_a_baseline_column_is_rejected_naming_it(storage: Storage, unique: str) -> None:
    good = HEADER + "".join(f"{i},{i * 2},{i % 2}\n" for i in range(50))
    first = _spec(f"bad-{unique}", _upload(storage, f"{unique}-1", good.encode()))
    assert not datasets.validate(storage, first, datasets.ingest(storage, first)["version"])["rejected"]
    assert datasets.load_baseline(storage, first.name) is not None
    later = _spec(f"bad-{unique}", _upload(storage, f"{unique}-2", b"a,label\n1,0\n2,1\n"))
    result = datasets.validate(storage, later, datasets.ingest(storage, later)["version"])
    assert result["rejected"]
    assert any("b" in reason and "missing" in reason.lower() for reason in result["reasons"]), result[
        "reasons"
    ]


def test_non_utf8_rows_are_quarantined_with_their_row_number(storage: Storage, unique: str) -> None:
    rows = "".join(f"{i},{i},{i % 2}\n" for i in range(100)).encode()
    body = HEADER.encode() + rows + b"\xff\xfe,1,0\n"
    spec = _spec(f"bad-{unique}", _upload(storage, unique, body))
    result = datasets.validate(storage, spec, datasets.ingest(storage, spec)["version"])
    assert not result["rejected"]
    assert (result["rows_read"], result["rows_quarantined"]) == (101, 1)
    quarantine = storage.blobs.get_bytes("quarantine", result["quarantine_blob"]).decode()
    assert "101" in quarantine


class _Boom:
    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (Path.touch, (str(Path("/tmp") / "mlops-pickle-was-loaded"),))


def test_a_pickle_registered_as_a_model_is_refused_and_never_loaded(storage: Storage, unique: str) -> None:
    marker = Path("/tmp") / "mlops-pickle-was-loaded"
    marker.unlink(missing_ok=True)
    payload = pickle.dumps(_Boom())
    name = f"pk-{unique}"
    ref = storage.blobs.put_bytes("models", f"{name}/000001/model.onnx", payload)
    storage.models.insert(
        ModelRecord(
            model=name, version="000001", onnx_blob=ref.name, sha256=hashlib.sha256(payload).hexdigest()
        )
    )
    storage.aliases.upsert(AliasRecord(model=name, alias="production", version="000001"))
    with pytest.raises(ValidationError, match=r"(?i)refused"):
        score_rows(storage, ModelCache(), name, {"rows": [{"a": 1.0}]})
    assert not marker.exists()
