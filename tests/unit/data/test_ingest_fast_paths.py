"""Ingest's shortcuts give what the plain two-pass read gives: kept chunks, skipped strips, skipped parses."""

from __future__ import annotations

import io

import polars as pl
import pytest

from shared.data.csv_reader import _plain, read_csv_chunks
from shared.data.inference import TypeEvidence, parse_numbers
from shared.data.ingest import ingest
from shared.data.types import ROW, clean_text


def _csv(header: str, rows: list[str]) -> bytes:
    return (header + "\n" + "".join(r + "\n" for r in rows)).encode()


def test_column_kept_as_ints_that_turns_to_text_later_is_read_again_as_text() -> None:
    rows = [f"{i},{i * 0.5}" for i in range(200)] + [f"A{i},1.5" for i in range(200)]
    result = ingest(_csv("id,x", rows), format="csv", chunk_bytes=256)
    assert result.dtypes == {"id": "string", "x": "float"}
    assert result.frame["id"].to_list() == [r.split(",")[0] for r in rows]
    assert result.frame[ROW].to_list() == list(range(1, 401))
    assert result.issues.height == 0


def test_column_kept_as_ints_that_the_file_decides_float_keeps_float_text() -> None:
    # The first chunks hold only ints (-0 included, which parses as float -0.0, not int 0).
    rows = ["-0"] + [str(i) for i in range(300)] + [f"{i}.25" for i in range(300)]
    result = ingest(_csv("x", rows), format="csv", chunk_bytes=128)
    assert result.dtypes == {"x": "float"}
    expected = pl.Series("x", rows).cast(pl.Float64)
    assert result.frame["x"].to_list() == expected.to_list()
    assert str(result.frame["x"][0]) == "-0.0"


def test_few_bad_values_in_kept_numbers_become_issues_with_their_rows() -> None:
    rows = [f"{i}.5,{i}" for i in range(500)]
    rows[10] = "bad,10"
    rows[400] = "worse,oops"
    result = ingest(_csv("f,i", rows), format="csv", chunk_bytes=512)
    assert result.dtypes == {"f": "float", "i": "int"}
    assert result.issues.select("row", "column", "reason", "value").rows() == [
        (11, "f", "type: not a valid float", "bad"),
        (401, "f", "type: not a valid float", "worse"),
        (401, "i", "type: not a valid int", "oops"),
    ]
    assert result.frame["f"].null_count() == 2
    assert result.rows_read == 500


@pytest.mark.parametrize("chunk_bytes", [16, 64, 1 << 20])
def test_whitespace_and_null_tokens_are_cleaned_whatever_the_chunk(chunk_bytes: int) -> None:
    rows = ["1,a", " 2 ,b", "NA,c", '3,"d\n"', "4,\te", "N/A, ", "5,\u00a0f"]
    result = ingest(_csv("n,s", rows), format="csv", chunk_bytes=chunk_bytes)
    assert result.dtypes == {"n": "int", "s": "string"}
    assert result.frame["n"].to_list() == [1, 2, None, 3, 4, None, 5]
    assert result.frame["s"].to_list() == ["a", "b", "c", "d", "e", None, "f"]


def test_declared_type_for_a_column_not_in_the_file_is_ignored() -> None:
    result = ingest(_csv("a,b", ["1,x", "2,y"]), format="csv", overrides={"b": "string", "zz": "int"})
    assert result.dtypes == {"a": "int", "b": "string"}
    assert result.frame.columns == [ROW, "a", "b"]


def test_plain_needs_ascii_without_whitespace_or_quotes() -> None:
    assert _plain(b"1,2\n3,4\n")
    assert not _plain(b"1, 2\n")
    assert not _plain(b'1,"2"\n')
    assert not _plain(b"1,2\r\n")
    assert not _plain("1,\u00e9\n".encode())


def test_reader_chunks_cover_every_record_once() -> None:
    rows = [f'{i},"v\n{i}"' if i % 7 == 0 else f"{i},v" for i in range(300)]
    data = _csv("i,s", rows)
    for chunk_bytes in (5, 40, 333, 1 << 20):
        header, chunks = read_csv_chunks(io.BytesIO(data), chunk_bytes=chunk_bytes, on_block=lambda _: None)
        assert header is not None
        frame = pl.concat([c.frame for c in chunks])
        assert frame[ROW].to_list() == list(range(1, 301))
        assert frame["i"].to_list() == [str(i) for i in range(300)]


def test_skipping_the_int_parse_never_changes_a_decision() -> None:
    frame = pl.DataFrame({"a": ["1", "2.5", "nan"], "b": ["1", "2", None], "c": ["1.0", "2", "x"]})
    cleaned = frame.select(clean_text(c) for c in frame.columns)
    parsed = parse_numbers(cleaned, ["a", "b", "c"])
    assert "a\x00int" not in parsed.columns  # a fraction: cannot be all ints
    assert parsed["b\x00int"].to_list() == [1, 2, None]
    evidence = TypeEvidence()
    evidence.add(cleaned, ["a", "b", "c"])
    assert [evidence.decide(c, 0.5) for c in "abc"] == ["float", "int", "float"]
