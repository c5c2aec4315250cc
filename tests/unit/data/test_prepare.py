"""The data steps end to end on the bundled examples: ingest_source -> prepare_dataset."""

from __future__ import annotations

import io
from pathlib import Path

import polars as pl
import pytest

from shared.data.ingest import ingest, ingest_source
from shared.data.prepare import ingest_overrides, prepare_dataset
from shared.data.schema import BaselineSchema
from shared.errors import DataRejectedError, NotFoundError, ValidationError
from shared.monitoring.reference import ReferenceProfile
from shared.pipeline.sections import Source
from shared.pipeline.spec import load_spec_file

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"


@pytest.mark.parametrize("example", ["breast_cancer.yaml", "diabetes.yaml"])
def test_examples_prepare_end_to_end_and_rerun_the_same(example: str) -> None:
    spec = load_spec_file(EXAMPLES / example)
    first = prepare_dataset(ingest_source(spec.source, overrides=ingest_overrides(spec, None)), spec)
    assert not first.validation.rejected and first.validation.baseline_inferred
    assert first.profile is not None and spec.target in first.profile.columns
    assert sum(first.split_rows.values()) == first.validation.rows_accepted == first.validation.rows_read
    back = {name: pl.read_parquet(io.BytesIO(data)) for name, data in first.splits.items()}
    assert {name: f.height for name, f in back.items()} == first.split_rows
    assert abs(first.split_rows["train"] / first.validation.rows_read - spec.split.train) < 0.06

    baseline = BaselineSchema.from_json(first.validation.baseline.to_json())
    again = prepare_dataset(
        ingest_source(spec.source, overrides=ingest_overrides(spec, baseline)), spec, baseline
    )
    assert again.dataset_version == first.dataset_version
    assert again.splits == first.splits
    assert again.profile == first.profile
    assert ReferenceProfile.from_json(first.profile.to_json()) == first.profile
    assert again.summary()["rows_accepted"] == first.validation.rows_accepted


def test_rejected_dataset_has_no_splits_and_raises_when_asked() -> None:
    spec = load_spec_file(EXAMPLES / "diabetes.yaml")
    prepared = prepare_dataset(ingest(b"age,target\n", format="csv"), spec)
    assert prepared.validation.rejected and prepared.splits == {} and prepared.profile is None
    with pytest.raises(DataRejectedError, match="header only"):
        prepared.validation.raise_if_rejected()


def test_ingest_source_reads_files_and_needs_bytes_for_blobs(tmp_path: Path) -> None:
    (tmp_path / "d.csv").write_bytes(b"a,y\n1,0\n")
    local = Source(kind="file", location="d.csv")
    assert ingest_source(local, base_dir=tmp_path).rows_read == 1
    with pytest.raises(NotFoundError):
        ingest_source(Source(kind="file", location="nope.csv"), base_dir=tmp_path)
    blob = Source(kind="blob", location="raw/d.csv")
    with pytest.raises(ValidationError):
        ingest_source(blob)
    assert ingest_source(blob, data=b"a,y\n1,0\n2,1\n").rows_read == 2
