"""Chunked CSV reading with bounded memory: bytes in, String frames and bad records out.

The source is read in blocks; each chunk ends on a record boundary, so polars parses whole
records. A record is one line, unless a quoted field holds newlines: then it runs on until the
quote closes, but for at most ``MAX_RECORD_LINES`` lines and ``MAX_RECORD_BYTES`` bytes, and only
when the lines so joined parse as exactly one record with as many fields as the header. Otherwise
the line that opened the quote is a bad record on its own ("unterminated quoted field") and
reading goes on at the next line, so one stray quote costs one row, never the rest of the file.

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

import numpy as np
import polars as pl

from shared.data.types import ROW

_BOM = b"\xef\xbb\xbf"
_SHOWN = 200
_QUOTE = ord('"')
_NEWLINE = ord("\n")

#: Most lines one record may span through quoted newlines (legitimate multi-line text fits easily).
MAX_RECORD_LINES = 1000
#: Most bytes one multi-line record may hold; a quote left open is resolved within this many bytes.
MAX_RECORD_BYTES = 1024 * 1024
_UNTERMINATED = "unterminated quoted field"


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


def _opens_quote(line: bytes) -> bool:
    """Whether a line leaves a quoted field open at its end (so its record may go on).

    An even number of quotes closes every field. With an odd number, a quote inside an unquoted
    field (``5'10"``) is still a complete record; only a parse that runs out of data is open.
    """
    if line.count(b'"') % 2 == 0:
        return False
    try:
        next(csv.reader(io.StringIO(line.decode("utf-8", "replace"), newline=""), strict=True), None)
    except csv.Error:
        return True
    return False


def _one_record(text: bytes, width: int) -> bool:
    """Whether lines joined by a quoted newline parse as one record of exactly ``width`` fields."""
    try:
        decoded = text.decode("utf-8")
    except UnicodeDecodeError:
        return False
    try:
        rows = list(csv.reader(io.StringIO(decoded.rstrip("\r"), newline=""), strict=True))
    except csv.Error:
        return False
    return len(rows) == 1 and len(rows[0]) == width


#: What a split record is: its bytes and None, or the line that opened a quote and why it stands alone.
Split = tuple[bytes, str | None]


def split_records(data: bytes, *, final: bool, width: int) -> tuple[list[Split], int]:
    """Records of ``data`` under the bounded-quote rule (module docstring) and the bytes they use.

    Without ``final`` (more data may follow) it stops before the first record whose end, or whose
    verdict, lies beyond ``data``; the bytes used then end on a record boundary.
    """
    records: list[Split] = []
    pos, size = 0, len(data)
    while pos < size:
        end = data.find(b"\n", pos)
        if end < 0:
            if not final:
                break
            end = size
        line = data[pos:end]
        if not _opens_quote(line):
            records.append((line, None))
            pos = end + 1
            continue
        verdict, stop = _quoted_record(data, pos, end, final, width)
        if verdict == "more":
            break
        if verdict == "ok":
            records.append((data[pos:stop], None))
            pos = stop + 1
        else:
            records.append((line, verdict))
            pos = end + 1
    return records, min(pos, size)


def _quoted_record(data: bytes, start: int, end: int, final: bool, width: int) -> tuple[str, int]:
    """Follow a quote opened on the line ``data[start:end]``: ("ok", record end), "more", or why not."""
    quotes, lines, stop, size = data.count(b'"', start, end), 1, end, len(data)
    while quotes % 2:
        if stop >= size:
            if not final:
                return "more", 0
            return f"{_UNTERMINATED}: no closing quote before the end of the file", 0
        if lines >= MAX_RECORD_LINES or stop - start > MAX_RECORD_BYTES:
            limit = f"{MAX_RECORD_LINES} lines or {MAX_RECORD_BYTES} bytes"
            return f"{_UNTERMINATED}: no closing quote within {limit}", 0
        after = data.find(b"\n", stop + 1)
        if after < 0:
            if not final:
                return "more", 0
            after = size
        quotes += data.count(b'"', stop + 1, after)
        lines += 1
        stop = after
    if _one_record(data[start:stop], width):
        return "ok", stop
    return f"{_UNTERMINATED}: the lines up to its closing quote are not one record of {width} fields", 0


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


def _slow(records: list[Split], columns: list[str], first_row: int) -> Chunk:
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


def _chunk(data: bytes, columns: list[str], first_row: int, expected: int) -> Chunk:
    """Parse one chunk of ``expected`` records (the count split_records would give)."""
    try:
        if not data.isascii():  # ASCII is valid UTF-8; isascii is far cheaper than decoding
            data.decode("utf-8")
        frame = _parse(data, columns)
    except (UnicodeDecodeError, pl.exceptions.PolarsError):
        frame = None
    if frame is None or frame.height != expected:  # polars refused, or counted records otherwise
        return _slow(split_records(data, final=True, width=len(columns))[0], columns, first_row)
    rows = pl.int_range(first_row, first_row + frame.height, dtype=pl.Int64, eager=True).alias(ROW)
    return Chunk(frame.with_columns(rows).select(ROW, *columns), [], _plain(data))


def _records_in(data: bytes, newlines: int) -> int:
    """Records in a chunk that ends on a record boundary, given its record-ending newlines."""
    return newlines + (1 if data and not data.endswith(b"\n") else 0)


def fast_cut(data: bytes, *, final: bool, width: int) -> tuple[int, int] | None:
    """Where polars may cut ``data`` by quote parity alone, and the records before it; None if not.

    Newlines after an even number of quotes end records. Where some newline lies inside quotes,
    each record holding one must be one that ``split_records`` accepts as it is (bounded, one
    record of ``width`` fields); else None, and the bounded split decides the records. numpy finds
    the quotes and newlines, so a chunk with many quoted fields costs milliseconds.
    """
    codes = np.frombuffer(data, dtype=np.uint8)
    quotes = np.flatnonzero(codes == _QUOTE)
    newlines = np.flatnonzero(codes == _NEWLINE)
    inside = (np.searchsorted(quotes, newlines) & 1).astype(bool)
    ends = newlines[~inside]
    if final:
        if quotes.size % 2:
            return None  # a quote left open at the end of the file
        cut = len(data)
    else:
        cut = int(ends[-1]) + 1 if ends.size else 0
    opened = newlines[inside & (newlines < cut)]
    if opened.size:
        starts = np.concatenate(([0], ends + 1))
        bounds = np.append(ends, len(data))
        for k in np.unique(np.searchsorted(ends, opened)).tolist():
            start, end = int(starts[k]), int(bounds[k])
            lines = int(np.searchsorted(newlines, end) - np.searchsorted(newlines, start)) + 1
            if end - start > MAX_RECORD_BYTES or lines > MAX_RECORD_LINES:
                return None
            records, _ = split_records(data[start:end], final=True, width=width)
            if len(records) != 1 or records[0][1] is not None:
                return None
    tail = 1 if cut and data[cut - 1] != _NEWLINE else 0  # a last record without its newline
    return cut, int(np.count_nonzero(ends < cut)) + tail


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
    return _chunk(data, columns, first_row, _records_in(data, data.count(b"\n"))), rest


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
        return _chunk(whole[:cut], columns, first_row, records), whole[cut:]
    records_split, used = split_records(whole, final=exhausted, width=width)
    if used == 0 and not exhausted:
        return None
    return _slow(records_split, columns, first_row), whole[used:]
