"""A validation is reused only for the same data AND the same rules: same CSV, new rules, new outcome."""

from __future__ import annotations

from typing import Any

import polars as pl
import pytest

from shared.pipeline.spec import PipelineSpec, load_spec
from shared.settings import load_settings
from shared.steps import datasets
from shared.storage.factory import Storage

#: 60 rows; ``label`` is missing in a third of them, ``other`` never.
CSV = "a,b,label,other\n" + "".join(
    f"{i},{i * 2},{'' if i % 3 == 0 else i % 2},{(i + 1) % 2}\n" for i in range(60)
)


@pytest.fixture
def storage(azurite_connection_string: str) -> Storage:
    built = Storage.from_settings(load_settings(environ={"AzureWebJobsStorage": azurite_connection_string}))
    built.ensure_all()
    return built


def _spec(name: str, location: str, **changes: Any) -> PipelineSpec:
    data: dict[str, Any] = {
        "name": name,
        "source": location,
        "target": "label",
        "task": "classification",
        "trainer": {"kind": "sklearn", "model": "logistic_regression"},
        "compute": {"kind": "local"},
        "reject_threshold": 0.05,
    }
    return load_spec({**data, **changes})


def _validate(storage: Storage, spec: PipelineSpec) -> dict[str, Any]:
    ingested = datasets.ingest(storage, spec)
    return datasets.validate(storage, spec, ingested["version"])


def test_changing_the_target_or_an_expectation_on_the_same_csv_changes_the_outcome(
    storage: Storage, unique: str
) -> None:
    storage.blobs.put_bytes("data", f"uploads/{unique}.csv", CSV.encode())
    location = f"blob:data/uploads/{unique}.csv"
    name = f"rules-{unique}"

    missing_target = _validate(storage, _spec(name, location))
    assert missing_target["rejected"] and missing_target["rows_quarantined"] == 20
    assert not missing_target["reused"]

    fixed = _validate(storage, _spec(name, location, target="other"))
    assert fixed["version"] == missing_target["version"], "same bytes, same dataset version"
    assert not fixed["rejected"] and not fixed["reused"] and fixed["rows_accepted"] == 60
    assert fixed["reasons"] == [] and set(fixed["splits"]) >= {"train", "holdout"}

    stricter = {"columns": {"a": {"max": 9}}}
    capped = _validate(storage, _spec(name, location, target="other", expectations=stricter))
    assert capped["rejected"] and capped["rows_accepted"] == 10 and not capped["reused"]
    assert capped["reasons"]

    again = _validate(storage, _spec(name, location, target="other", expectations=stricter))
    assert again["reused"] and again["rows_accepted"] == 10 and again["reasons"] == capped["reasons"]

    back = _validate(storage, _spec(name, location, target="other"))
    assert not back["rejected"] and back["split_rows"] == fixed["split_rows"]
    for split, blob in back["splits"].items():  # same rules, same rows: the same splits, in its own folder
        assert datasets.read_frame(storage, blob).equals(datasets.read_frame(storage, fixed["splits"][split]))
    # The accepted validation's splits survived the stricter one: a run still reading them is safe.
    for blob in fixed["splits"].values():
        assert storage.blobs.exists("datasets", blob)


def test_the_rules_key_covers_every_data_rule_and_nothing_else(unique: str) -> None:
    base = _spec(f"k-{unique}", "blob:data/uploads/x.csv")
    key = datasets.rules_key(base)
    for changed in (
        {"target": "other"},
        {"schema_overrides": {"a": "float"}},
        {"expectations": {"min_rows": 5}},
        {"split": {"seed": 7}},
        {"reject_threshold": 0.2},
    ):
        assert datasets.rules_key(_spec(f"k-{unique}", "blob:data/uploads/x.csv", **changed)) != key, changed
    unrelated = _spec(f"k-{unique}", "blob:data/uploads/x.csv", description="x", schedule="0 0 * * * *")
    assert datasets.rules_key(unrelated) == key


def test_a_changed_schema_override_retypes_the_same_csv_before_validating(
    storage: Storage, unique: str
) -> None:
    storage.blobs.put_bytes("data", f"uploads/t-{unique}.csv", CSV.encode())
    location = f"blob:data/uploads/t-{unique}.csv"
    name = f"types-{unique}"
    plain = _spec(name, location, target="other")
    first = _validate(storage, plain)
    assert not first["rejected"]

    as_text = _spec(name, location, target="other", schema_overrides={"b": "string"})
    ingested = datasets.ingest(storage, as_text)
    assert ingested["version"] == first["version"] and not ingested["reused"], "same bytes, new types"
    record = storage.datasets.try_get(name, first["version"])
    assert record is not None and record.ingested_blob is not None
    typed = datasets.read_frame(storage, record.ingested_blob)
    assert typed.schema["b"] == pl.String
    retyped = datasets.validate(storage, as_text, ingested["version"])
    assert not retyped["reused"], retyped

    assert datasets.ingest(storage, as_text)["reused"], "the same types again: reused"
