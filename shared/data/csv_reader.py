"""Chunked CSV reading with bounded memory: bytes in, String frames and bad records out.

The source is read in blocks; each chunk ends on a record boundary (a newline outside quotes),
so polars parses whole records. A chunk that is not valid UTF-8, or that holds a record with more
fields than the header, is re-read record by record: those records are reported as bad (with
their 1-based record number, the header not counted) and the rest is parsed as usual. Every
record, blank lines included, gets a number, so the counts of good and bad records add up.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import BinaryIO

import polars as pl

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


def _cut(buffer: bytes, quotes_before: int = 0) -> int:
    """Index just past the last newline of ``buffer`` that lies outside quotes; 0 if none.

    ``quotes_before`` counts the quotes in the bytes that precede ``buffer`` in the same chunk.
    """
    end = buffer.rfind(b"\n")
    if end >= 0 and quotes_before % 2 == 0 and b'"' not in buffer:
        return end + 1  # no quotes at all (the common case): a memchr instead of a count
    while end >= 0:
        # Quotes come in pairs outside fields and are doubled inside them, so an even count
        # before a newline means the newline ends a record.
        if (quotes_before + buffer.count(b'"', 0, end)) % 2 == 0:
            return end + 1
        end = buffer.rfind(b"\n", 0, end)
    return 0


def _records(chunk: bytes) -> list[bytes]:
    """Split a chunk into records the way the fast path numbers them (quote-aware)."""
    lines = chunk.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    records: list[bytes] = []
    pending: bytes | None = None
    for line in lines:
        pending = line if pending is None else pending + b"\n" + line
        if pending.count(b'"') % 2 == 0:
            records.append(pending)
            pending = None
    if pending is not None:
        records.append(pending)
    return records


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
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        return Header(names, f"duplicate column names in header: {duplicates}", len(line))
    if ROW in names:
        return Header(names, f"column name {ROW!r} is reserved", len(line))
    return Header(names, None, len(line))


def _parse(data: bytes, columns: list[str]) -> pl.DataFrame:
    return pl.read_csv(
        data,
        has_header=False,
        schema=dict.fromkeys(columns, pl.String),
        empty_string_is_null=False,
        raise_if_empty=False,
    )


def _field_count(text: str) -> int | None:
    """Fields in one record; None when its quoting is broken."""
    if '"' not in text:
        return text.count(",") + 1
    try:
        return len(next(csv.reader(io.StringIO(text, newline=""), strict=True), []))
    except csv.Error:
        return None


def _parse_records(
    records: list[bytes], rows: list[int], columns: list[str]
) -> tuple[pl.DataFrame, list[int], list[BadRecord]]:
    """Parse good records together; if polars still refuses, one by one, reporting the ones it refuses."""
    if not records:
        return _parse(b"", columns), [], []
    try:
        return _parse(b"\n".join(records) + b"\n", columns), rows, []
    except pl.exceptions.PolarsError:
        pass
    frames: list[pl.DataFrame] = []
    kept: list[int] = []
    bad: list[BadRecord] = []
    for record, row in zip(records, rows, strict=True):
        try:
            frames.append(_parse(record + b"\n", columns))
            kept.append(row)
        except pl.exceptions.PolarsError:
            bad.append(
                BadRecord(row, "malformed CSV record", record.decode("utf-8", "backslashreplace")[:_SHOWN])
            )
    return (pl.concat(frames) if frames else _parse(b"", columns)), kept, bad


def _slow(data: bytes, columns: list[str], first_row: int) -> Chunk:
    """Record-by-record path for chunks holding undecodable or over-long records."""
    good: list[bytes] = []
    rows: list[int] = []
    bad: list[BadRecord] = []
    for offset, record in enumerate(_records(data)):
        row = first_row + offset
        shown = record.decode("utf-8", errors="backslashreplace")[:_SHOWN]
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
    if frame.height != len(rows):  # pragma: no cover - polars and _records disagree on a record
        rows = list(range(first_row, first_row + frame.height))
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


def _chunk(data: bytes, columns: list[str], first_row: int) -> tuple[Chunk, int]:
    """Parse one chunk; return it and the number of records it held."""
    try:
        if not data.isascii():  # ASCII is valid UTF-8; isascii is far cheaper than decoding
            data.decode("utf-8")
        frame = _parse(data, columns)
    except (UnicodeDecodeError, pl.exceptions.PolarsError):
        chunk = _slow(data, columns, first_row)
        return chunk, chunk.frame.height + len(chunk.bad)
    rows = pl.int_range(first_row, first_row + frame.height, dtype=pl.Int64, eager=True).alias(ROW)
    return Chunk(frame.with_columns(rows).select(ROW, *columns), [], _plain(data)), frame.height


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
        last = pieces[-1]
        if exhausted:
            data, rest = b"".join(pieces), b""
        else:
            cut = _cut(last, sum(p.count(b'"') for p in pieces[:-1]))
            if cut == 0 and len(pieces) > 1:  # the last record ending lies in an earlier piece
                last = b"".join(pieces)
                pieces = [last]
                cut = _cut(last)
            if cut == 0:  # one record longer than a chunk: read on until it ends
                block = next(blocks, None)
                if block is None:
                    exhausted = True
                else:
                    pieces.append(block)
                    size += len(block)
                continue
            data = b"".join([*pieces[:-1], memoryview(last)[:cut]])
            rest = last[cut:]
        pieces = [rest] if rest else []
        size = len(rest)
        chunk, count = _chunk(data, columns, next_row)
        next_row += count
        yield chunk
