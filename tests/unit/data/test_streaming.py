"""Streaming pieces equal their whole-frame forms: typed parts, batched validation, schema, profile."""

from __future__ import annotations

import functools
import io
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from shared.data.ingest import ingest
from shared.data.ingest_stream import survey, typed_parts
from shared.data.parquet_sink import ParquetSink
from shared.data.schema import SchemaAccumulator, infer_schema
from shared.data.types import ROW
from shared.data.validate import validate_frame
from shared.data.validate_stream import StreamValidator, summarise
from shared.monitoring.reference import DATASET_PROFILE, ReferenceProfile, build_reference_by_columns
from shared.pipeline.sections import ColumnExpectation, Expectations


def _csv(rows: int) -> bytes:
    lines = ["id,x,kind,flag,y"]
    for i in range(1, rows + 1):
        x = "oops" if i % 31 == 0 else ("" if i % 23 == 0 else f" {(i % 13) - 4}.25 ")
        kind = f'"k{i % 4},\n2"' if i % 19 == 0 else f"k{i % 4}"
        lines.append(f"{i - 1 if i % 37 == 0 else i},{x},{kind},{'yes' if i % 3 else 'no'},{i % 2}")
        if i % 29 == 0:
            lines.append("1,2,3,4,5,6,7")
    return ("\n".join(lines) + "\n").encode()


@pytest.mark.parametrize("chunk_bytes", [64, 300, 1 << 20])
def test_typed_parts_are_the_whole_ingest_cut_into_chunks(chunk_bytes: int) -> None:
    data = _csv(400)
    whole = ingest(data, format="csv", chunk_bytes=chunk_bytes)
    found = survey(lambda: io.BytesIO(data), format="csv", chunk_bytes=chunk_bytes)
    assert (found.version, found.size, found.columns, found.dtypes) == (
        whole.dataset_version,
        whole.source_bytes,
        whole.columns,
        whole.dtypes,
    )
    parts = list(typed_parts(lambda: io.BytesIO(data), found, chunk_bytes=chunk_bytes))
    assert sum(p.records for p in parts) == whole.rows_read
    assert pl.concat([p.frame for p in parts]).equals(whole.frame)
    assert pl.concat([p.issues for p in parts]).equals(whole.issues)


def test_typed_parts_of_a_parquet_stream_equal_the_whole_ingest(tmp_path: Path) -> None:
    frame = pl.DataFrame(
        {"a": [str(i) for i in range(500)], "b": np.arange(500) / 4, "y": [i % 2 for i in range(500)]}
    )
    path = tmp_path / "t.parquet"
    frame.write_parquet(path, row_group_size=64)
    whole = ingest(path, format="parquet", chunk_rows=50)
    opener = functools.partial(Path.open, path, "rb")
    found = survey(opener, format="parquet", chunk_rows=50)
    assert found.dtypes == whole.dtypes and found.version == whole.dataset_version
    parts = list(typed_parts(opener, found, chunk_rows=50))
    assert pl.concat([p.frame for p in parts]).equals(whole.frame)


def test_a_too_wide_header_is_refused_by_the_survey_without_parts() -> None:
    data = b"a,b,c,d\n1,2,3,4\n"
    found = survey(lambda: io.BytesIO(data), format="csv", max_columns=3)
    assert found.reasons == ["4 columns, more than max_columns 3"]
    assert list(typed_parts(lambda: io.BytesIO(data), found)) == []


@pytest.mark.parametrize("batch", [1, 7, 50, 10_000])
def test_validation_in_batches_equals_the_whole_frame(batch: int) -> None:
    whole = ingest(_csv(300), format="csv", chunk_bytes=128)
    expectations = Expectations(
        columns={"id": ColumnExpectation(unique=True), "x": ColumnExpectation(min=-3, not_null=True)}
    )
    kwargs = {"target": "y", "expectations": expectations, "reject_threshold": 0.9}
    expected = validate_frame(whole.frame, issues=whole.issues, rows_read=whole.rows_read, **kwargs)  # type: ignore[arg-type]
    checker = StreamValidator(whole.frame.schema, rows_read=whole.rows_read, **kwargs)  # type: ignore[arg-type]
    accepted, failed = [], []
    issues = whole.issues
    for start in range(0, whole.frame.height, batch):
        part = whole.frame.slice(start, batch)
        last = int(part[ROW][-1])
        mine, issues = issues.filter(pl.col("row") <= last), issues.filter(pl.col("row") > last)
        a, f = checker.add(part, mine)
        accepted.append(a)
        failed.append(f)
    a, f = checker.add(whole.frame.clear(), issues)
    accepted.append(a)
    failed.append(f)
    totals = checker.finish()
    assert pl.concat(accepted).equals(expected.accepted)
    assert pl.concat(failed).equals(expected.quarantine)
    assert summarise(pl.concat(failed)).equals(expected.quarantine_rows)
    assert totals.failure_counts == expected.failure_counts
    assert list(totals.failure_counts) == list(expected.failure_counts)
    assert totals.baseline == expected.baseline
    assert (totals.rows_accepted, totals.rows_quarantined) == (
        expected.rows_accepted,
        expected.rows_quarantined,
    )
    assert any("unique" in k for k in totals.failure_counts)


def test_schema_accumulated_in_batches_equals_the_inferred_one() -> None:
    rng = np.random.default_rng(1)
    frame = pl.DataFrame(
        {
            "n": rng.normal(size=200),
            "t": [f"v{i % 60}" if i % 9 else None for i in range(200)],
            "c": [f"c{i % 3}" for i in range(200)],
        }
    ).with_columns(pl.when(pl.int_range(pl.len()) == 5).then(float("inf")).otherwise(pl.col("n")).alias("n"))
    acc = SchemaAccumulator(frame.schema, dtypes={"c": "category"}, max_categories=50)
    for start in range(0, 200, 33):
        acc.add(frame.slice(start, 33))
    assert acc.finish(target="c") == infer_schema(frame, dtypes={"c": "category"}, target="c")
    assert acc.finish().columns["t"].categories is None  # 60 distinct: open


def test_profile_read_in_column_groups_equals_the_frame_profile() -> None:
    rng = np.random.default_rng(2)
    frame = pl.DataFrame(
        {
            "a": rng.normal(size=300),
            "b": rng.integers(0, 3, 300),
            "c": [f"x{i % 7}" for i in range(300)],
            "d": rng.random(300) < 0.5,
        }
    )
    shuffled = frame.sample(fraction=1.0, shuffle=True, seed=3)  # row order must not matter
    expected = ReferenceProfile.from_frame(frame, DATASET_PROFILE)
    for group in (1, 3, None):
        got = build_reference_by_columns(
            frame.columns, lambda names: shuffled.select(names), rows=300, group=group, config=DATASET_PROFILE
        )
        assert got == expected


class _Target(io.BytesIO):
    def __init__(self) -> None:
        super().__init__()
        self.published: bytes | None = None
        self.aborted = False

    def close(self) -> None:
        self.published = self.getvalue()

    def abort(self) -> None:
        self.aborted = True


def test_parquet_sink_publishes_one_file_of_every_chunk_or_nothing() -> None:
    target = _Target()
    frame = pl.DataFrame({"a": [1, 2, 3], "s": ["x", None, "z"]})
    with ParquetSink(target) as sink:
        sink.write(frame)
        sink.write(frame.clear())
        sink.write(frame)
    assert target.published is not None
    assert pl.read_parquet(io.BytesIO(target.published)).equals(pl.concat([frame, frame]))
    failing = _Target()
    with pytest.raises(RuntimeError), ParquetSink(failing, {"a": pl.Int64()}) as sink:
        sink.write(pl.DataFrame({"a": [1]}))
        raise RuntimeError("boom")
    assert failing.aborted and failing.published is None
