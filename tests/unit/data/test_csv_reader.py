"""The CSV reader's record rule: quoted newlines within bounds, stray quotes cost one row, never the file."""

from __future__ import annotations

import io

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.data import csv_records
from shared.data.csv_reader import read_csv_chunks
from shared.data.csv_records import fast_cut, split_records
from shared.data.ingest import ingest
from shared.data.types import ROW

SIZES = (1, 7, 64, 333, 1 << 20)


def _read(data: bytes, chunk_bytes: int) -> tuple[list[tuple[object, ...]], list[tuple[int, str]]]:
    """Rows (with their numbers) and bad records (number, reason) as the reader gives them."""
    header, chunks = read_csv_chunks(io.BytesIO(data), chunk_bytes=chunk_bytes, on_block=lambda _: None)
    assert header is not None and header.problem is None
    parts = list(chunks)
    frame = pl.concat([c.frame for c in parts])
    return frame.rows(), [(b.row, b.reason) for c in parts for b in c.bad]


def _same_for_every_chunk_size(data: bytes) -> tuple[list[tuple[object, ...]], list[tuple[int, str]]]:
    results = [_read(data, size) for size in SIZES]
    for size, result in zip(SIZES, results, strict=True):
        assert result == results[0], f"chunk_bytes={size} reads differently"
    return results[0]


def test_a_quoted_field_spanning_lines_within_the_bound_is_one_record() -> None:
    data = b'id,text,n\n1,"first\nsecond\nthird",10\n2,plain,20\n3,"a ""quoted""\nword",30\n'
    rows, bad = _same_for_every_chunk_size(data)
    assert bad == []
    assert rows == [
        (1, "1", "first\nsecond\nthird", "10"),
        (2, "2", "plain", "20"),
        (3, "3", 'a "quoted"\nword', "30"),
    ]


def test_crlf_line_endings_and_crlf_inside_quotes() -> None:
    data = b'a,b,c\r\n1,"x\r\ny",3\r\n4,5,6\r\n'
    rows, bad = _same_for_every_chunk_size(data)
    assert bad == []
    assert rows == [(1, "1", "x\r\ny", "3"), (2, "4", "5", "6")]


def test_a_quote_left_open_at_the_end_of_the_file_is_one_bad_record() -> None:
    for tail in (b'4,"abc', b'4,"abc\n', b'4,5,"\n'):
        rows, bad = _same_for_every_chunk_size(b"a,b,c\n1,2,3\n" + tail)
        assert rows == [(1, "1", "2", "3")]
        assert [(row, reason.split(":")[0]) for row, reason in bad] == [(2, "unterminated quoted field")]


def test_a_stray_quote_costs_its_own_row_and_the_next_ones_are_read() -> None:
    lines = [f"{i},{i * 2},{i % 2}" for i in range(1, 301)]
    lines[9] = '10,"20,0'
    rows, bad = _same_for_every_chunk_size(("a,b,c\n" + "\n".join(lines) + "\n").encode())
    assert [row for row, _ in bad] == [10]
    assert "unterminated quoted field" in bad[0][1]
    assert [r[0] for r in rows] == [n for n in range(1, 301) if n != 10]
    assert rows[-1] == (300, "300", "600", "0")


def test_a_stray_quote_before_a_legitimate_multi_line_field_leaves_that_field_intact() -> None:
    data = b'a,b,c\n1,"x,3\n4,5,6\n7,"y\nz",9\n10,11,12\n'
    rows, bad = _same_for_every_chunk_size(data)
    assert [row for row, _ in bad] == [1]
    assert rows == [(2, "4", "5", "6"), (3, "7", "y\nz", "9"), (4, "10", "11", "12")]


def test_a_quote_inside_an_unquoted_field_is_a_value() -> None:
    rows, bad = _same_for_every_chunk_size(b"name,height,n\nann,5'10\",1\nbob,6'1\",2\n")
    assert bad == []
    assert rows == [(1, "ann", "5'10\"", "1"), (2, "bob", "6'1\"", "2")]


def test_a_quoted_field_over_the_line_bound_is_not_followed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(csv_records, "MAX_RECORD_LINES", 3)
    inside = '1,"a\nb\nc",2\n'  # three lines: within the bound
    beyond = '3,"a\nb\nc\nd",4\n'  # four lines: over it, so its first line stands alone
    rows, bad = _same_for_every_chunk_size(("x,y,z\n" + inside + beyond).encode())
    assert rows[0] == (1, "1", "a\nb\nc", "2")
    assert bad and bad[0][0] == 2 and "within 3 lines" in bad[0][1]
    # Every record is numbered once: 1 (three lines), 2 (bad), then 'b', 'c' and 'd",4' each alone.
    assert sorted([r[0] for r in rows] + [b[0] for b in bad]) == [1, 2, 3, 4, 5]  # type: ignore[type-var]


def test_a_blank_line_is_a_record_wherever_the_chunk_starts() -> None:
    rows, bad = _same_for_every_chunk_size(b"a,b,c\n1,2,3\n\n4,5,6\n")
    assert bad == []
    assert rows == [(1, "1", "2", "3"), (2, "", "", ""), (3, "4", "5", "6")]


def test_split_records_waits_for_more_data_before_judging_an_open_quote() -> None:
    records, used = split_records(b'1,2\n3,"open\nstill', final=False, width=2)
    assert records == [(b"1,2", None)] and used == 4
    records, used = split_records(b'1,2\n3,"open\nstill",4\n', final=True, width=2)
    assert records[1][1] is not None  # 3 fields, header has 2: the opening line stands alone


def test_fast_cut_agrees_with_split_records_on_good_multi_line_records() -> None:
    data = b'1,"a\nb"\n2,c\n3,"d'
    cut = fast_cut(data, final=False, width=2)
    assert cut == (12, 2)
    assert fast_cut(b'1,"a\nb\n', final=True, width=2) is None  # open at the end of the file


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.sampled_from(["1,2", '"a\nb",3', '4,"x', 'y",5', "", '"q""r",6', "7,8,9", "5'1\",2", "\r"]),
        max_size=30,
    )
)
def test_every_chunk_size_reads_the_same_records_and_counts_them_all(lines: list[str]) -> None:
    data = ("h1,h2\n" + "\n".join(lines) + "\n").encode()
    expected = len(split_records(data[len(b"h1,h2\n") :], final=True, width=2)[0])
    rows, bad = _same_for_every_chunk_size(data)
    numbers = sorted([r[0] for r in rows] + [b[0] for b in bad])  # type: ignore[type-var]
    assert numbers == list(range(1, expected + 1))
    result = ingest(data, format="csv", chunk_bytes=5)
    assert result.rows_read == expected
    assert result.frame.height + result.issues.filter(pl.col("column").is_null()).height == expected
    assert result.frame[ROW].is_sorted()
