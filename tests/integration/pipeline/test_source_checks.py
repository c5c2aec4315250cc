"""Source confinement and submission checks against real Azurite: roots, containers, headers."""

from __future__ import annotations

import io
from pathlib import Path

import polars as pl
import pytest

from shared.errors import ValidationError
from shared.pipeline.sections import Source
from shared.pipeline.spec import load_spec
from shared.settings import Settings, load_settings
from shared.steps import datasets, sources
from shared.steps.pipelines import check_submission
from shared.storage.factory import Storage

CSV = b"a,b,label\n1,2,0\n3,4,1\n5,6,0\n7,8,1\n"


@pytest.fixture
def storage(settings: Settings) -> Storage:
    store = Storage.from_settings(settings)
    store.ensure_all()
    return store


def _settings(base: Settings, **values: str) -> Settings:
    env = {"AzureWebJobsStorage": str(base.storage_connection_string), **values}
    return load_settings(environ=env)


def _parquet(columns: list[str]) -> bytes:
    buffer = io.BytesIO()
    pl.DataFrame({c: [1.0, 2.0, 3.0] for c in columns}).write_parquet(buffer)
    return buffer.getvalue()


def test_without_data_roots_every_file_is_refused(
    storage: Storage, settings: Settings, tmp_path: Path
) -> None:
    (tmp_path / "d.csv").write_bytes(CSV)
    with pytest.raises(ValidationError) as err:
        sources.check_source(
            storage, Source(kind="file", location=str(tmp_path / "d.csv")), "label", settings
        )
    assert err.value.field == "source.location"


def test_files_under_a_root_pass_and_relative_paths_resolve_in_it(
    storage: Storage, settings: Settings, tmp_path: Path
) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "d.csv").write_bytes(CSV)
    (tmp_path / "d.parquet").write_bytes(_parquet(["x", "label"]))
    confined = _settings(settings, MLOPS_DATA_ROOTS=str(tmp_path))
    checked = sources.check_source(storage, Source(kind="file", location="sub/d.csv"), "label", confined)
    assert checked.location == str((tmp_path / "sub" / "d.csv").resolve())
    sources.check_source(
        storage, Source(kind="file", location=str(tmp_path / "d.parquet")), "label", confined
    )
    with pytest.raises(ValidationError) as err:
        sources.check_source(
            storage, Source(kind="file", location=str(tmp_path / "d.parquet")), "y", confined
        )
    assert err.value.field == "target" and "'y'" in err.value.message


def test_blob_headers_are_read_in_bounded_ranges(storage: Storage, settings: Settings, unique: str) -> None:
    storage.blobs.put_bytes("data", f"{unique}/d.parquet", _parquet(["x", "label"]))
    storage.blobs.put_bytes("data", f"{unique}/d.csv", CSV)
    for name in ("d.parquet", "d.csv"):
        source = Source(kind="blob", location=f"data/{unique}/{name}")
        sources.check_source(storage, source, "label", settings)
        with pytest.raises(ValidationError) as err:
            sources.check_source(storage, source, "outcome", settings)
        assert err.value.field == "target"


def test_a_header_longer_than_the_bound_is_left_to_ingest(
    storage: Storage, settings: Settings, unique: str
) -> None:
    wide = ",".join(f"column_{i:07d}" for i in range(80_000)).encode() + b"\n1\n"
    assert len(wide) > sources.MAX_HEADER_BYTES
    storage.blobs.put_bytes("data", f"{unique}/wide.csv", wide)
    sources.check_source(storage, Source(kind="blob", location=f"data/{unique}/wide.csv"), "nope", settings)


def test_other_data_containers_can_be_allowed(storage: Storage, settings: Settings, unique: str) -> None:
    storage.blobs.put_bytes(f"raw{unique}", "d.csv", CSV)
    source = Source(kind="blob", location=f"raw{unique}/d.csv")
    with pytest.raises(ValidationError):
        sources.check_source(storage, source, "label", settings)
    allowed = _settings(settings, MLOPS_DATA_CONTAINERS=f"data,raw{unique}")
    sources.check_source(storage, source, "label", allowed)


def test_ingest_confines_sources_too(storage: Storage, settings: Settings, tmp_path: Path) -> None:
    """A spec registered before the checks existed (a schedule, a retrain) is still confined."""
    (tmp_path / "d.csv").write_bytes(CSV)
    spec = load_spec(
        {
            "name": "confined-ingest",
            "source": str(tmp_path / "d.csv"),
            "target": "label",
            "task": "classification",
            "trainer": {"kind": "sklearn", "model": "logistic_regression"},
        }
    )
    with pytest.raises(ValidationError) as err:
        datasets.ingest(storage, spec, settings)
    assert err.value.field == "source.location"
    summary = datasets.ingest(storage, spec, _settings(settings, MLOPS_DATA_ROOTS=str(tmp_path)))
    assert summary["rows_read"] == 4


def test_command_with_local_compute_is_refused_on_azure(storage: Storage, settings: Settings) -> None:
    spec = load_spec(
        {
            "name": "azure-command",
            "source": "sklearn:breast_cancer",
            "target": "target",
            "task": "classification",
            "trainer": {"kind": "command", "script": "linear.py"},
        }
    )
    check_submission(storage, settings, spec)  # locally: the shipped script may run here
    with pytest.raises(ValidationError) as err:
        check_submission(storage, _settings(settings, WEBSITE_INSTANCE_ID="abc"), spec)
    assert err.value.field == "compute.kind"


def test_a_file_that_is_not_what_it_claims_is_refused(
    storage: Storage, settings: Settings, unique: str
) -> None:
    storage.blobs.put_bytes("data", f"{unique}/fake.parquet", CSV)
    with pytest.raises(ValidationError) as err:
        sources.check_source(
            storage, Source(kind="blob", location=f"data/{unique}/fake.parquet"), "label", settings
        )
    assert err.value.field == "source.location" and "parquet" in err.value.message
