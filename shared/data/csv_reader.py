"""Chunked CSV reading with bounded memory: bytes in, String frames and bad records out.

The source is read in blocks; each chunk ends on a record boundary, so polars parses whole
records. Where records end is ``shared.data.csv_records``' rule: a quoted field may span lines
only within bounds, so one stray quote costs one row, never the rest of the file.

A chunk that is not valid UTF-8, that holds a record with more fields than the header, or such a
stray quote, is re-read record by record: those records are reported as bad (with their 1-based
record number, the header not counted) and the rest is parsed as usual. Every record, blank
lines included, gets a number, so the counts of good and bad records add up to the records of the
file.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import BinaryIO

import polars as pl

from shared.data.csv_records import Split, fast_cut, split_records
from shared.data.types import ROW

_BOM = b"\xef\xbb\xbf"
_SHOWN = 200


@dataclass(frozen=True)
class BadRecord:
    """A record that could not be parsed: its number, why, and its text (escaped, truncated)."""

    row: int
    reason: str
    text: str


@dataclass(frozen=True)
class Chunk:
    """One parsed piece of a CSV: String columns plus ``ROW``, and the records that failed."""

    frame: pl.DataFrame
    bad: list[BadRecord]
    #: True when no value can have whitespace to strip (see ``_plain``), so cleaning may skip it.
    plain: bool = False


@dataclass(frozen=True)
class Header:
    """The parsed header line, or why there is none usable."""

    columns: list[str]
    problem: str | None
    size: int


def _blocks(stream: BinaryIO, size: int, on_block: Callable[[bytes], None]) -> Iterator[bytes]:
    while block := stream.read(size):
        on_block(block)
        yield block


def parse_header(line: bytes) -> Header:
    """Column names of a header line: BOM dropped, whitespace stripped, duplicates refused."""
    raw = line.removeprefix(_BOM).rstrip(b"\r\n")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return Header([], f"header line is not valid UTF-8 (byte {exc.start})", len(line))
    names = [name.strip() for name in next(csv.reader([text]), [])]
    names = [name or f"column_{i + 1}" for i, name in enumerate(names)]
    if not any(names):
        return Header([], "header line is empty", len(line))
    counts = Counter(names)  # not names.count per name: that is quadratic in the columns
    duplicates = sorted(n for n, k in counts.items() if k > 1)
    if duplicates:
        return Header(names, f"duplicate column names in header: {duplicates}", len(line))
    if ROW in names:
        return Header(names, f"column name {ROW!r} is reserved", len(line))
    return Header(names, None, len(line))


def _parse(data: bytes, columns: list[str]) -> pl.DataFrame:
    def read(text: bytes) -> pl.DataFrame:
        return pl.read_csv(
            text,
            has_header=False,
            schema=dict.fromkeys(columns, pl.String),
            empty_string_is_null=False,
            raise_if_empty=False,
        )

    try:
        return read(data)
    except pl.exceptions.SchemaError:
        # polars takes the field count from the first line: a chunk starting with a short record
        # (a blank line, missing trailing fields) reads like any other after a full-width line.
        return read(b"," * (len(columns) - 1) + b"\n" + data).slice(1)


def _field_count(text: str) -> int | None:
    """Fields in one record; None when its quoting is broken."""
    if '"' not in text:
        return text.count(",") + 1
    try:
        return len(next(csv.reader(io.StringIO(text, newline=""), strict=True), []))
    except csv.Error:
        return None


def _csv_row(record: bytes, columns: list[str]) -> pl.DataFrame | None:
    """A record polars refuses but strict CSV reads (a quote inside an unquoted field: ``5'10"``)."""
    try:
        fields = next(csv.reader(io.StringIO(record.decode("utf-8").rstrip("\r"), newline=""), strict=True))
    except (UnicodeDecodeError, csv.Error, StopIteration):
        return None
    if len(fields) > len(columns):
        return None
    fields += [""] * (len(columns) - len(fields))
    return pl.DataFrame([pl.Series(c, [v], dtype=pl.String) for c, v in zip(columns, fields, strict=True)])


def _parse_records(
    records: list[bytes], rows: list[int], columns: list[str]
) -> tuple[pl.DataFrame, list[int], list[BadRecord]]:
    """Parse good records together; if polars refuses or miscounts them, one by one, reporting the refused."""
    if not records:
        return _parse(b"", columns), [], []
    try:
        frame = _parse(b"\n".join(records) + b"\n", columns)
        if frame.height == len(records):
            return frame, rows, []
    except pl.exceptions.PolarsError:
        pass
    frames: list[pl.DataFrame] = []
    kept: list[int] = []
    bad: list[BadRecord] = []
    for record, row in zip(records, rows, strict=True):
        shown = record.decode("utf-8", "backslashreplace")[:_SHOWN]
        try:
            one: pl.DataFrame | None = _parse(record + b"\n", columns)
        except pl.exceptions.PolarsError:
            one = _csv_row(record, columns)
        if one is None or one.height != 1:
            bad.append(BadRecord(row, "malformed CSV record", shown))
            continue
        frames.append(one)
        kept.append(row)
    return (pl.concat(frames) if frames else _parse(b"", columns)), kept, bad


def parse_slowly(records: list[Split], columns: list[str], first_row: int) -> Chunk:
    """Record-by-record path for chunks holding undecodable, over-long or unterminated records."""
    good: list[bytes] = []
    rows: list[int] = []
    bad: list[BadRecord] = []
    for offset, (record, broken) in enumerate(records):
        row = first_row + offset
        shown = record.decode("utf-8", errors="backslashreplace")[:_SHOWN]
        if broken is not None:
            bad.append(BadRecord(row, broken, shown))
            continue
        try:
            text = record.decode("utf-8")
        except UnicodeDecodeError as exc:
            bad.append(
                BadRecord(row, f"not valid UTF-8 (byte 0x{record[exc.start]:02x} at {exc.start})", shown)
            )
            continue
        fields = _field_count(text.rstrip("\r"))
        if fields is None:
            bad.append(BadRecord(row, "malformed CSV record (quotes)", shown))
            continue
        if fields > len(columns):
            bad.append(BadRecord(row, f"{fields} fields, header has {len(columns)}", shown))
            continue
        good.append(record)
        rows.append(row)
    frame, rows, refused = _parse_records(good, rows, columns)
    bad = sorted(bad + refused, key=lambda b: b.row)
    return Chunk(frame.with_columns(pl.Series(ROW, rows, dtype=pl.Int64)).select(ROW, *columns), bad)


#: Bytes that are whitespace to ``str.strip_chars`` (or might be, for 0x1c-0x1f), plus the quote:
#: a quoted field can hold a newline, which is whitespace too.
_STRIPPABLE = (b" ", b"\t", b"\r", b"\x0b", b"\x0c", b"\x1c", b"\x1d", b"\x1e", b"\x1f", b'"')


def _plain(data: bytes) -> bool:
    """Whether no field of ``data`` can start or end with whitespace.

    A few memchr scans of the raw bytes (milliseconds per chunk) decide this for every column at
    once; stripping all columns costs far more. Non-ASCII bytes may encode Unicode spaces.
    """
    return data.isascii() and not any(b in data for b in _STRIPPABLE)


def parse_chunk(data: bytes, columns: list[str], first_row: int, expected: int | None) -> Chunk:
    """Parse one chunk of ``expected`` records (the count split_records gives; None: one per line).

    Without quotes polars ends a row at each newline and nowhere else (a lone "\r" makes a line too
    wide, which polars refuses), so quote-free chunks skip counting their newlines.
    """
    try:
        if not data.isascii():  # ASCII is valid UTF-8; isascii is far cheaper than decoding
            data.decode("utf-8")
        frame = _parse(data, columns)
    except (UnicodeDecodeError, pl.exceptions.PolarsError):
        frame = None
    if frame is None or (expected is not None and frame.height != expected):  # refused or miscounted
        return parse_slowly(split_records(data, final=True, width=len(columns))[0], columns, first_row)
    rows = pl.int_range(first_row, first_row + frame.height, dtype=pl.Int64, eager=True).alias(ROW)
    return Chunk(frame.with_columns(rows).select(ROW, *columns), [], _plain(data))


def read_csv_chunks(
    stream: BinaryIO, *, chunk_bytes: int, on_block: Callable[[bytes], None]
) -> tuple[Header | None, Iterator[Chunk]]:
    """Header (None for an empty source) and an iterator of parsed chunks; ``on_block`` sees every byte."""
    blocks = _blocks(stream, chunk_bytes, on_block)
    buffer = b""
    for block in blocks:
        buffer += block
        if b"\n" in buffer:
            break
    if not buffer:
        return None, iter(())
    line_end = buffer.find(b"\n")
    header = parse_header(buffer if line_end < 0 else buffer[: line_end + 1])
    rest = b"" if line_end < 0 else buffer[line_end + 1 :]
    return header, _chunks(rest, blocks, header.columns, chunk_bytes)


def _chunks(buffer: bytes, blocks: Iterator[bytes], columns: list[str], chunk_bytes: int) -> Iterator[Chunk]:
    # The pending bytes are kept as the blocks read, not concatenated: each chunk is then copied
    # once (join, slicing the last block through a memoryview) instead of once per append and
    # once per slice, which cost ~10 ms per 16 MiB chunk. Chunk boundaries are the same as
    # cutting one concatenated buffer: they decide which values each chunk's type evidence sees.
    next_row = 1
    exhausted = False
    pieces = [buffer] if buffer else []
    size = len(buffer)
    while not exhausted or pieces:
        while not exhausted and size < chunk_bytes:
            block = next(blocks, None)
            if block is None:
                exhausted = True
            else:
                pieces.append(block)
                size += len(block)
        if not pieces:
            break
        if any(b'"' in p for p in pieces):
            cut = _cut_quoted(pieces, exhausted, columns, next_row)
        else:
            cut = _cut_plain(pieces, exhausted, columns, next_row)
        if cut is None:  # the last record ends (or is judged) beyond what was read: read on
            block = next(blocks, None)
            if block is None:
                exhausted = True
            else:
                pieces.append(block)
                size += len(block)
            continue
        chunk, rest = cut
        pieces = [rest] if rest else []
        size = len(rest)
        next_row += chunk.frame.height + len(chunk.bad)
        yield chunk


def _cut_plain(
    pieces: list[bytes], exhausted: bool, columns: list[str], first_row: int
) -> tuple[Chunk, bytes] | None:
    """The next chunk of quote-free bytes (records are lines) and the bytes left; None: read on."""
    last = pieces[-1]
    if exhausted:
        data, rest = b"".join(pieces), b""
    else:
        cut = last.rfind(b"\n") + 1
        if cut == 0 and len(pieces) > 1:  # the last line ending lies in an earlier piece
            last = b"".join(pieces)
            pieces = [last]
            cut = last.rfind(b"\n") + 1
        if cut == 0:  # one line longer than a chunk
            return None
        data = b"".join([*pieces[:-1], memoryview(last)[:cut]])
        rest = last[cut:]
    return parse_chunk(data, columns, first_row, None), rest


def _cut_quoted(
    pieces: list[bytes], exhausted: bool, columns: list[str], first_row: int
) -> tuple[Chunk, bytes] | None:
    """The next chunk of bytes holding quotes and the bytes left; None: read on.

    Cut by quote parity when every multi-line record is one the bounded rule accepts (polars
    then parses the chunk at once); otherwise the bounded split decides the records.
    """
    whole = pieces[0] if len(pieces) == 1 else b"".join(pieces)
    width = len(columns)
    fast = fast_cut(whole, final=exhausted, width=width)
    if fast is not None and fast[0] > 0:
        cut, records = fast
        return parse_chunk(whole[:cut], columns, first_row, records), whole[cut:]
    records_split, used = split_records(whole, final=exhausted, width=width)
    if used == 0 and not exhausted:
        return None
    return parse_slowly(records_split, columns, first_row), whole[used:]
