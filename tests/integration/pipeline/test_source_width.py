"""A source wider than the spec's expectations.max_columns is refused at submission, from its header."""

from __future__ import annotations

import io

import polars as pl
import pytest

from shared.errors import ValidationError
from shared.pipeline.sections import Source
from shared.pipeline.spec import load_spec
from shared.settings import Settings
from shared.steps import sources
from shared.steps.pipelines import check_submission
from shared.storage.factory import Storage


@pytest.fixture
def storage(settings: Settings) -> Storage:
    store = Storage.from_settings(settings)
    store.ensure_all()
    return store


def _parquet(columns: list[str]) -> bytes:
    buffer = io.BytesIO()
    pl.DataFrame({c: [1.0, 2.0] for c in columns}).write_parquet(buffer)
    return buffer.getvalue()


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_a_header_wider_than_max_columns_is_a_400_naming_both_counts(
    storage: Storage, settings: Settings, unique: str, fmt: str
) -> None:
    names = ["a", "b", "c", "d", "label"]
    body = (",".join(names) + "\n1,2,3,4,0\n").encode() if fmt == "csv" else _parquet(names)
    storage.blobs.put_bytes("data", f"{unique}/wide.{fmt}", body)
    source = Source(kind="blob", location=f"data/{unique}/wide.{fmt}")
    with pytest.raises(ValidationError) as err:
        sources.check_source(storage, source, "label", settings, max_columns=4)
    assert err.value.field == "expectations.max_columns"
    assert "5 columns" in str(err.value) and "max_columns 4" in str(err.value)
    assert sources.check_source(storage, source, "label", settings, max_columns=5) == source


def test_submission_refuses_a_source_wider_than_the_spec_allows(
    storage: Storage, settings: Settings, unique: str
) -> None:
    storage.blobs.put_bytes("data", f"{unique}/w.csv", b"a,b,c,label\n1,2,3,0\n")
    spec = load_spec(
        {
            "name": f"w{unique}",
            "source": f"blob:data/{unique}/w.csv",
            "target": "label",
            "task": "classification",
            "trainer": {"kind": "sklearn", "model": "logistic_regression"},
            "compute": {"kind": "local"},
            "expectations": {"max_columns": 3},
        }
    )
    with pytest.raises(ValidationError) as err:
        check_submission(storage, settings, spec)
    assert err.value.field == "expectations.max_columns" and "4 columns" in str(err.value)
