"""A fan-out ingest (one activity per part) merges into exactly the single pass's dataset version.

The steps run here as the activities run them, in order, against Azurite: plan, a survey per part,
the survey merge, typing + validation per part, the final merge. The source has everything that
could make parts disagree: quarantined rows (missing target, a bad number, a record with too many
fields), nulls, a category column, quoted fields with newlines and commas, and a column whose
numbers turn to text late in the file (types are decided over all parts, not per part).
"""

from __future__ import annotations

import io
import json
from typing import Any

import polars as pl
import pytest

from shared.contracts import DatasetPlan, PartOutput, PartSurvey, PartTyping
from shared.data.schema import BaselineSchema
from shared.errors import ValidationError
from shared.monitoring.reference import ReferenceProfile
from shared.pipeline.spec import PipelineSpec, load_spec
from shared.settings import Settings
from shared.steps import dataset_merge, dataset_parts, datasets
from shared.storage.factory import Storage

ROWS = 1200


def _csv() -> bytes:
    lines = ["id,x,colour,note,code,when,label"]
    for i in range(ROWS):
        x = "" if i % 17 == 0 else ("oops" if i % 101 == 0 else f"{(i * 7) % 13 / 3:.3f}")
        note = '"two\nlines, and a comma"' if i % 9 == 0 else ("plain" if i % 2 else "")
        code = str(i) if i < ROWS - 100 else f"C{i}"  # numbers at first, text at the end: a string column
        when = f"2024-01-{1 + i % 28:02d}" if i % 5 else ""
        label = "" if i % 23 == 0 else str(i % 2)
        extra = ",1,2" if i % 211 == 0 else ""
        lines.append(f"{i},{x},{('red', 'green', 'blue')[i % 3]},{note},{code},{when},{label}{extra}")
    return ("\n".join(lines) + "\n").encode()


@pytest.fixture
def storage(settings: Settings) -> Storage:
    built = Storage.from_settings(settings)
    built.ensure_all()
    return built


def _spec(name: str, location: str | dict[str, Any], parts: int | None) -> PipelineSpec:
    body: dict[str, Any] = {
        "name": name,
        "source": location,
        "target": "label",
        "task": "classification",
        "schema_overrides": {"colour": "category"},
        "trainer": {"kind": "sklearn", "model": "logistic_regression"},
        "compute": {"kind": "local"},
        "reject_threshold": 0.3,
    }
    if parts:
        body["ingest"] = {"parts": parts}
    return load_spec(body)


def fan_out(storage: Storage, spec: PipelineSpec, settings: Settings) -> tuple[DatasetPlan, dict[str, Any]]:
    """The fan-out's activities in order (the orchestration runs the per-part ones in parallel)."""
    plan = DatasetPlan.model_validate(dataset_parts.plan(storage, spec, settings))
    assert plan.fan_out, plan.reason
    surveys = [
        PartSurvey.model_validate(dataset_parts.survey_part(storage, spec, plan, i, settings))
        for i in range(len(plan.parts))
    ]
    typing = PartTyping.model_validate(dataset_merge.merge_surveys(storage, spec, plan, surveys))
    if typing.reused is not None:
        return plan, datasets.validate(storage, spec, typing.reused.version)
    outputs = [
        PartOutput.model_validate(dataset_parts.process_part(storage, spec, plan, typing, i, settings))
        for i in range(len(plan.parts))
    ]
    return plan, dataset_merge.merge_parts(storage, spec, plan, typing, outputs)


def profile_splits(storage: Storage, blob: str) -> dict[str, Any]:
    return ReferenceProfile.model_validate_json(storage.blobs.get_bytes("profiles", blob)).model_dump()


def _record(storage: Storage, spec: PipelineSpec, version: str) -> Any:
    return storage.datasets.get(spec.name, version)[0]


@pytest.mark.parametrize("parts", [3, 4])
def test_fan_out_equals_the_single_pass(
    storage: Storage, settings: Settings, unique: str, monkeypatch: pytest.MonkeyPatch, parts: int
) -> None:
    data = _csv()
    storage.blobs.put_bytes("data", f"uploads/fan-{unique}.csv", data)
    location = f"blob:data/uploads/fan-{unique}.csv"
    monkeypatch.setattr(datasets, "CHUNK_BYTES", 4096)  # ~15 chunks: several per part
    single_spec = _spec(f"fan1-{unique}-{parts}", location, None)
    parts_spec = _spec(f"fanp-{unique}-{parts}", location, parts)

    ingested = datasets.ingest(storage, single_spec, settings)
    single = datasets.validate(storage, single_spec, ingested["version"])
    plan, merged = fan_out(storage, parts_spec, settings)

    assert len(plan.parts) == parts
    assert any(c.kind != "plain" for p in plan.parts for c in p.cuts), "quoted newlines in the cuts"
    # The version is the source's sha256, as in the single pass (not a hash of part hashes).
    assert merged["version"] == single["version"] == plan.version
    assert not merged["rejected"] and not single["rejected"], (merged["reasons"], single["reasons"])
    for key in ("rows_read", "rows_accepted", "rows_quarantined", "split_rows", "failures", "notes"):
        assert merged[key] == single[key], key
    # A quoted note on a too-wide line is not one record: its lines are read as two bad ones.
    assert ROWS < merged["rows_read"] < ROWS + 10
    assert merged["rows_accepted"] + merged["rows_quarantined"] == merged["rows_read"]
    assert merged["rows_quarantined"] > 0 and merged["failures"]
    for split in ("train", "validation", "holdout"):
        a = datasets.read_frame(storage, single["splits"][split])
        b = datasets.read_frame(storage, merged["splits"][split])
        assert a.height > 0 and a.equals(b), split
    assert profile_splits(storage, merged["profile_blob"]) == profile_splits(storage, single["profile_blob"])
    q_single = storage.blobs.get_bytes("quarantine", single["quarantine_blob"])
    q_merged = storage.blobs.get_bytes("quarantine", merged["quarantine_blob"])
    assert q_merged == q_single
    quarantined = pl.read_csv(io.BytesIO(q_merged))
    assert quarantined["row"].n_unique() == merged["rows_quarantined"]
    assert quarantined["reason"].str.starts_with("unreadable").any()  # the too-wide records
    # Typed rows, issues and types: what a later single-path validation of this version reads.
    rec_single, rec_merged = (
        _record(storage, single_spec, single["version"]),
        _record(storage, parts_spec, merged["version"]),
    )
    for blob in ("ingested_blob", "issues_blob"):
        a = datasets.read_frame(storage, getattr(rec_single, blob))
        b = datasets.read_frame(storage, getattr(rec_merged, blob))
        assert a.equals(b), blob
    meta = json.loads(
        storage.blobs.get_bytes(
            "datasets", rec_merged.ingested_blob.replace("ingested.parquet", "ingest.json")
        )
    )
    assert meta["dtypes"]["code"] == "string" and meta["dtypes"]["when"] == "datetime"
    assert rec_merged.schema_ == rec_single.schema_
    baseline = storage.blobs.get_bytes("profiles", f"{parts_spec.name}/baseline.json")
    assert baseline == storage.blobs.get_bytes("profiles", f"{single_spec.name}/baseline.json").replace(
        single_spec.name.encode(), parts_spec.name.encode()
    )
    # The parts' own blobs are gone once merged.
    assert not list(storage.blobs.list_names("datasets", f"{plan.folder}/parts/"))


def test_same_bytes_again_reuse_the_version(
    storage: Storage, settings: Settings, unique: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    storage.blobs.put_bytes("data", f"uploads/fanr-{unique}.csv", _csv())
    monkeypatch.setattr(datasets, "CHUNK_BYTES", 4096)
    spec = _spec(f"fanr-{unique}", f"blob:data/uploads/fanr-{unique}.csv", 3)
    _, first = fan_out(storage, spec, settings)
    _, again = fan_out(storage, spec, settings)
    assert again["reused"] and again["splits"] == first["splits"] and again["version"] == first["version"]


def test_sources_not_cut_say_why(
    storage: Storage, settings: Settings, unique: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    storage.blobs.put_bytes("data", f"uploads/small-{unique}.csv", _csv())
    spec = _spec(f"fans-{unique}", f"blob:data/uploads/small-{unique}.csv", 4)
    plan = DatasetPlan.model_validate(dataset_parts.plan(storage, spec, settings))
    assert not plan.fan_out and "one part" in plan.reason  # one 16 MiB chunk cannot be cut
    monkeypatch.setattr(datasets, "CHUNK_BYTES", 4096)
    body = spec.model_dump(mode="json", exclude_none=True)
    body["expectations"]["columns"] = {"id": {"unique": True}}
    plan = DatasetPlan.model_validate(dataset_parts.plan(storage, load_spec(body), settings))
    assert not plan.fan_out and "unique" in plan.reason


def test_a_prefix_of_blobs_in_parts_equals_the_chained_single_pass(
    storage: Storage, settings: Settings, unique: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Three blobs read as one CSV (later headers dropped, a missing last newline added) cut into parts."""
    lines = _csv().split(b"\n")
    header, rows = lines[0], [r for r in lines[1:] if r]
    thirds = [rows[:500], rows[500:900], rows[900:]]
    for k, part in enumerate(thirds):
        body = header + b"\n" + b"\n".join(part) + (b"" if k == 0 else b"\n")  # the first has no last newline
        storage.blobs.put_bytes("data", f"fanm-{unique}/p{k}.csv", body)
    monkeypatch.setattr(datasets, "CHUNK_BYTES", 4096)
    location = {"kind": "blob", "location": f"data/fanm-{unique}/", "format": "csv"}
    single_spec = _spec(f"fanm1-{unique}", location, None)
    parts_spec = _spec(f"fanmp-{unique}", location, 4)

    ingested = datasets.ingest(storage, single_spec, settings)
    single = datasets.validate(storage, single_spec, ingested["version"])
    plan, merged = fan_out(storage, parts_spec, settings)

    assert len(plan.blobs) == 3 and len(plan.parts) == 4
    assert [s[0] for s in plan.segments] == [0, -1, 1, 2], "a newline is added after the first blob"
    assert merged["version"] == single["version"] == ingested["version"]
    for key in ("rows_read", "rows_accepted", "rows_quarantined", "split_rows", "failures"):
        assert merged[key] == single[key], key
    for split in ("train", "validation", "holdout"):
        a = datasets.read_frame(storage, single["splits"][split])
        assert a.equals(datasets.read_frame(storage, merged["splits"][split])), split
    assert profile_splits(storage, merged["profile_blob"]) == profile_splits(storage, single["profile_blob"])
    q = [storage.blobs.get_bytes("quarantine", r["quarantine_blob"]) for r in (single, merged)]
    assert q[0] == q[1]
    record = _record(storage, parts_spec, merged["version"])
    assert [b["name"] for b in record.source_blobs] == [f"fanm-{unique}/p{k}.csv" for k in range(3)]


def test_a_baseline_stored_while_the_parts_ran_fails_the_merge(
    storage: Storage, settings: Settings, unique: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The parts checked without a baseline; one stored meanwhile (a concurrent first run) would mix rules."""
    storage.blobs.put_bytes("data", f"uploads/fanb-{unique}.csv", _csv())
    monkeypatch.setattr(datasets, "CHUNK_BYTES", 4096)
    spec = _spec(f"fanb-{unique}", f"blob:data/uploads/fanb-{unique}.csv", 3)
    plan = DatasetPlan.model_validate(dataset_parts.plan(storage, spec, settings))
    surveys = [
        PartSurvey.model_validate(dataset_parts.survey_part(storage, spec, plan, i, settings))
        for i in range(len(plan.parts))
    ]
    typing = PartTyping.model_validate(dataset_merge.merge_surveys(storage, spec, plan, surveys))
    outputs = [
        PartOutput.model_validate(dataset_parts.process_part(storage, spec, plan, typing, i, settings))
        for i in range(len(plan.parts))
    ]
    baseline = BaselineSchema(columns={}, dataset_version="other", rows=1)
    storage.blobs.put_bytes("profiles", f"{spec.name}/baseline.json", baseline.to_json().encode())
    with pytest.raises(ValidationError, match="baseline schema changed while the parts were validated"):
        dataset_merge.merge_parts(storage, spec, plan, typing, outputs)
    assert storage.datasets.try_get(spec.name, plan.version) is None, "nothing was published"
