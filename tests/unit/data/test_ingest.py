"""Ingest: versions from bytes, type normalisation, chunking, and awkward inputs."""

from __future__ import annotations

import hashlib
import io
from datetime import datetime
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from shared.data.bundled import bundled_csv_bytes
from shared.data.ingest import ingest, ingest_bundled
from shared.data.types import ROW

MIXED = (
    b" id , price ,flag, when ,name\n"
    b"1,1.5,true,2024-01-02,alpha\n"
    b'2,,false,2024-01-03,"be, ta"\n'
    b'3,2.25,TRUE,2024-01-04,"multi\nline"\n'
    b"4,3,no,2024-01-05,  padded  \n"
    b"5,4.5,yes,,\n"
)


def test_same_bytes_same_version_and_it_is_the_sha256() -> None:
    first = ingest(MIXED, format="csv")
    second = ingest(bytes(MIXED), format="csv", chunk_bytes=16)
    assert first.dataset_version == second.dataset_version == hashlib.sha256(MIXED).hexdigest()
    assert first.source_bytes == len(MIXED)


def test_one_changed_byte_gives_a_new_version() -> None:
    changed = MIXED.replace(b"1.5", b"1.6")
    assert ingest(changed, format="csv").dataset_version != ingest(MIXED, format="csv").dataset_version


def test_bundled_dataset_version_is_stable_and_hashes_its_canonical_csv() -> None:
    a, b = ingest_bundled("breast_cancer"), ingest_bundled("breast_cancer")
    assert a.dataset_version == b.dataset_version
    assert a.dataset_version == hashlib.sha256(bundled_csv_bytes("breast_cancer")).hexdigest()
    assert a.rows_read == 569 and a.frame.height == 569 and a.issues.height == 0
    assert a.dtypes["target"] == "int" and a.dtypes["mean radius"] == "float"
    diabetes = ingest_bundled("diabetes")
    assert diabetes.rows_read == 442 and diabetes.dtypes["target"] == "float"


def test_types_are_normalised_and_headers_stripped() -> None:
    result = ingest(MIXED, format="csv")
    assert result.columns == ["id", "price", "flag", "when", "name"]
    assert result.dtypes == {
        "id": "int",
        "price": "float",
        "flag": "bool",
        "when": "datetime",
        "name": "string",
    }
    frame = result.frame
    assert frame.schema["id"] == pl.Int64 and frame.schema["when"] == pl.Datetime("us")
    assert frame["flag"].to_list() == [True, False, True, False, True]
    assert frame["price"].to_list() == [1.5, None, 2.25, 3.0, 4.5]
    assert frame["name"].to_list() == ["alpha", "be, ta", "multi\nline", "padded", None]
    assert frame["when"][0] == datetime(2024, 1, 2)
    assert frame[ROW].to_list() == [1, 2, 3, 4, 5]


def test_overrides_win_over_inference() -> None:
    result = ingest(MIXED, format="csv", overrides={"id": "string", "price": "float"})
    assert result.dtypes["id"] == "string"
    assert result.frame["id"].to_list() == ["1", "2", "3", "4", "5"]


@pytest.mark.parametrize("chunk_bytes", [1, 7, 32, 100, 1 << 20])
def test_chunked_read_equals_whole_read(chunk_bytes: int) -> None:
    whole = ingest(MIXED, format="csv")
    chunked = ingest(MIXED, format="csv", chunk_bytes=chunk_bytes)
    assert_frame_equal(chunked.frame, whole.frame)
    assert chunked.dtypes == whole.dtypes and chunked.rows_read == whole.rows_read


@settings(max_examples=30, deadline=None)
@given(
    rows=st.lists(
        st.tuples(
            st.integers(-1000, 1000),
            st.one_of(st.none(), st.floats(-1e6, 1e6, allow_nan=False)),
            st.text(alphabet='abc ,"\n', max_size=8),
        ),
        min_size=1,
        max_size=40,
    ),
    chunk_bytes=st.integers(1, 300),
)
def test_chunking_never_changes_the_frame(
    rows: list[tuple[int, float | None, str]], chunk_bytes: int
) -> None:
    frame = pl.DataFrame(rows, schema={"n": pl.Int64, "x": pl.Float64, "s": pl.String}, orient="row")
    data = frame.write_csv().encode()
    whole = ingest(data, format="csv")
    chunked = ingest(data, format="csv", chunk_bytes=chunk_bytes)
    assert_frame_equal(chunked.frame, whole.frame)
    assert whole.rows_read == len(rows)


def test_csv_and_parquet_give_the_same_frame() -> None:
    typed = ingest(MIXED, format="csv").frame.drop(ROW)
    buffer = io.BytesIO()
    typed.write_parquet(buffer)
    from_parquet = ingest(buffer.getvalue(), format="parquet", chunk_rows=2)
    from_csv = ingest(typed.write_csv().encode(), format="csv")
    assert_frame_equal(from_parquet.frame, from_csv.frame)
    assert from_parquet.dtypes == from_csv.dtypes


def test_parquet_text_columns_get_the_same_inference_and_normalisation() -> None:
    raw = pl.DataFrame({" a ": ["1", " 2 ", ""], "b": pl.Series([1, 2, 3], dtype=pl.Int16)})
    buffer = io.BytesIO()
    raw.write_parquet(buffer)
    result = ingest(buffer.getvalue(), format="parquet")
    assert result.columns == ["a", "b"]
    assert result.dtypes == {"a": "int", "b": "int"}
    assert result.frame["a"].to_list() == [1, 2, None]
    assert result.frame.schema["b"] == pl.Int64


def test_local_file_equals_bytes(tmp_path: Path) -> None:
    path = tmp_path / "data.csv"
    path.write_bytes(MIXED)
    from_file = ingest(path, format="csv", chunk_bytes=10)
    from_bytes = ingest(MIXED, format="csv")
    assert from_file.dataset_version == from_bytes.dataset_version
    assert_frame_equal(from_file.frame, from_bytes.frame)


def test_non_utf8_line_is_reported_with_its_row_number_and_counts_add_up() -> None:
    data = b"a,b\n1,x\n2,\xff\xfe\n3,z\n"
    for chunk_bytes in (3, 1 << 20):
        result = ingest(data, format="csv", chunk_bytes=chunk_bytes)
        assert result.rows_read == 3
        assert result.frame[ROW].to_list() == [1, 3]
        assert result.issues["row"].to_list() == [2]
        assert result.issues["reason"][0].startswith("unreadable: not valid UTF-8")
        assert result.frame.height + result.issues["row"].n_unique() == result.rows_read


def test_record_with_too_many_fields_is_reported() -> None:
    result = ingest(b"a,b\n1,2\n3,4,5\n6,7\n", format="csv")
    assert result.rows_read == 3
    assert result.issues.select("row", "reason").rows() == [(2, "unreadable: 3 fields, header has 2")]
    assert result.frame["a"].to_list() == [1, 6]


def test_value_that_does_not_parse_is_an_issue_and_null() -> None:
    rows = "\n".join(str(i) for i in range(40))
    data = f"n\n{rows}\nabc\n".encode()
    result = ingest(data, format="csv")
    assert result.dtypes["n"] == "int"
    assert result.issues.select("row", "column", "value").rows() == [(41, "n", "abc")]
    assert result.frame.filter(pl.col(ROW) == 41)["n"].to_list() == [None]


def test_empty_file_gives_a_reason_not_a_crash() -> None:
    result = ingest(b"", format="csv")
    assert result.rows_read == 0 and result.frame.height == 0
    assert result.reasons == ["empty file (0 bytes)"]
    assert ingest(b"", format="parquet").reasons == ["empty file (0 bytes)"]


@pytest.mark.parametrize("data", [b"a,b\n", b"a,b", b"a,b\r\n"])
def test_header_only_gives_zero_rows_and_a_reason(data: bytes) -> None:
    result = ingest(data, format="csv")
    assert result.rows_read == 0 and result.columns == ["a", "b"]
    assert result.reasons == ["no data rows (header only)"]


def test_bad_headers_give_reasons() -> None:
    assert ingest(b"a,a\n1,2\n", format="csv").reasons == ["duplicate column names in header: ['a']"]
    assert ingest(b"\xff,b\n1,2\n", format="csv").reasons[0].startswith("header line is not valid UTF-8")


def test_corrupt_parquet_gives_a_reason() -> None:
    result = ingest(b"PAR1 definitely not parquet", format="parquet")
    assert result.rows_read == 0
    assert result.reasons[0].startswith("not a readable parquet file")


def test_bom_and_crlf_are_handled() -> None:
    result = ingest(b"\xef\xbb\xbfa,b\r\n1,x\r\n2,y\r\n", format="csv")
    assert result.columns == ["a", "b"]
    assert result.frame["b"].to_list() == ["x", "y"]


def test_single_pass_with_known_types_equals_two_pass_inference() -> None:
    inferred = ingest(MIXED, format="csv")
    known = ingest(MIXED, format="csv", overrides=inferred.dtypes, chunk_bytes=9)
    assert known.dataset_version == inferred.dataset_version
    assert_frame_equal(known.frame, inferred.frame)


@pytest.mark.parametrize(
    "data", [b'a,b\n1,"x\n2,y\n3,z\n', b'a,b\n1,x"y\n2,"q"r\n3,z\n', b'a,b\n1,"x""y"\n0,"a"b,c"\n5,6\n']
)
def test_malformed_quoting_is_reported_not_raised(data: bytes) -> None:
    result = ingest(data, format="csv")
    assert result.issues.height >= 1
    reasons = result.issues["reason"]
    assert reasons.str.contains("^unreadable: (malformed CSV record|unterminated quoted field)").all()
    assert result.frame.height + result.issues["row"].n_unique() == result.rows_read


def test_parquet_categoricals_and_timestamps_are_normalised() -> None:
    raw = pl.DataFrame(
        {
            "cat": pl.Series(["a", "b", "a"], dtype=pl.Categorical),
            "ts": pl.Series([datetime(2024, 1, 1), datetime(2024, 1, 2), None], dtype=pl.Datetime("ns")),
            "f": pl.Series([1.5, 2.5, 3.5], dtype=pl.Float32),
        }
    )
    buffer = io.BytesIO()
    raw.write_parquet(buffer)
    result = ingest(buffer.getvalue(), format="parquet")
    assert result.dtypes == {"cat": "string", "ts": "datetime", "f": "float"}
    assert result.frame.schema["cat"] == pl.String and result.frame.schema["ts"] == pl.Datetime("us")
    assert result.frame["cat"].to_list() == ["a", "b", "a"]


def test_parquet_typed_columns_follow_overrides() -> None:
    raw = pl.DataFrame({"n": [1.0, 2.0, 2.5], "k": [1, 2, 3], "__x": ["a", "b", "c"]})
    buffer = io.BytesIO()
    raw.write_parquet(buffer)
    result = ingest(buffer.getvalue(), format="parquet", overrides={"n": "int", "k": "string"})
    assert result.dtypes == {"n": "int", "k": "string", "__x": "string"}
    assert result.frame["n"].to_list() == [1, 2, None]
    assert result.frame["k"].to_list() == ["1", "2", "3"]
    assert result.issues.select("row", "column", "value").rows() == [(3, "n", "2.5")]


def test_reserved_row_column_name_is_refused() -> None:
    assert ingest(b"__row__,a\n1,2\n", format="csv").reasons == ["column name '__row__' is reserved"]
