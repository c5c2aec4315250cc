"""Where the single-pass CSV reader cuts a source into chunks (found without parsing); one chunk read alone.

A fan-out ingest (``shared.steps.dataset_parts``) hands groups of chunks to separate activities.
For their results to merge into exactly what one pass gives, every part must parse the very
chunks the single pass parses: the type evidence of a column is counted chunk by chunk (a chunk's
datetime sample, which columns it parses as flags), so other cuts could decide other types.

``layout_csv`` reads the source once, hashing every byte (the dataset version, as the single
pass computes it) and replaying the cutting rules of ``shared.data.csv_reader`` (block sizes,
quote parity, the bounded-quote split) without parsing a value, so it costs a read and a few
numpy scans. ``read_cut`` parses one cut from a seekable stream with the call the single pass
makes for it; a ``slow`` cut (bounded-quote split) re-splits its bytes with the same lookahead
the single pass had, so every verdict on a quoted record is the same.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO, Literal

from shared.data.csv_reader import Chunk, Header, parse_chunk, parse_header, parse_slowly
from shared.data.csv_records import MAX_RECORD_BYTES, Split, fast_cut, split_records

CutKind = Literal["plain", "fast", "slow"]


@dataclass(frozen=True)
class Cut:
    """One chunk of the single pass: bytes ``[start, end)`` of the source and how it was parsed."""

    start: int
    end: int
    kind: CutKind
    #: Records polars must find (``fast`` cuts: the count quote parity gave); None otherwise.
    expected: int | None = None


@dataclass(frozen=True)
class CsvLayout:
    """A CSV source's hash, size, header and chunk cuts (no cuts when the header is unusable)."""

    sha256: str
    size: int
    header: Header | None
    cuts: list[Cut]


def _blocks(stream: BinaryIO, size: int, hasher: hashlib._Hash, counted: list[int]) -> Iterator[bytes]:
    while block := stream.read(size):
        hasher.update(block)
        counted[0] += len(block)
        yield block


def layout_csv(stream: BinaryIO, *, chunk_bytes: int) -> CsvLayout:
    """Hash the source and find the cuts ``read_csv_chunks`` makes with ``chunk_bytes`` (one read)."""
    hasher = hashlib.sha256()
    counted = [0]
    blocks = _blocks(stream, chunk_bytes, hasher, counted)
    buffer = b""
    for block in blocks:
        buffer += block
        if b"\n" in buffer:
            break
    if not buffer:
        return CsvLayout(hasher.hexdigest(), 0, None, [])
    line_end = buffer.find(b"\n")
    header = parse_header(buffer if line_end < 0 else buffer[: line_end + 1])
    if header.problem is not None:
        for _ in blocks:  # only the hash is wanted now
            pass
        return CsvLayout(hasher.hexdigest(), counted[0], header, [])
    start = len(buffer) if line_end < 0 else line_end + 1
    cuts = list(_cuts(buffer[start:], start, blocks, len(header.columns), chunk_bytes))
    return CsvLayout(hasher.hexdigest(), counted[0], header, cuts)


def _cuts(buffer: bytes, base: int, blocks: Iterator[bytes], width: int, chunk_bytes: int) -> Iterator[Cut]:
    """``csv_reader._chunks`` with the parsing left out: the same pieces, the same cut decisions."""
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
        quoted = any(b'"' in p for p in pieces)
        cut = _quoted(pieces, exhausted, width) if quoted else _plain(pieces, exhausted)
        if cut is None:
            block = next(blocks, None)
            if block is None:
                exhausted = True
            else:
                pieces.append(block)
                size += len(block)
            continue
        kind, used, expected = cut
        whole = pieces[0] if len(pieces) == 1 else b"".join(pieces)
        rest = whole[used:]
        yield Cut(base, base + used, kind, expected)
        base += used
        pieces = [rest] if rest else []
        size = len(rest)


def _plain(pieces: list[bytes], exhausted: bool) -> tuple[CutKind, int, int | None] | None:
    if exhausted:
        return "plain", sum(len(p) for p in pieces), None
    last = pieces[-1]
    cut = last.rfind(b"\n") + 1
    before = sum(len(p) for p in pieces[:-1])
    if cut == 0 and len(pieces) > 1:
        joined = b"".join(pieces)
        cut = joined.rfind(b"\n") + 1
        before = 0
    if cut == 0:
        return None
    return "plain", before + cut, None


def _quoted(pieces: list[bytes], exhausted: bool, width: int) -> tuple[CutKind, int, int | None] | None:
    whole = pieces[0] if len(pieces) == 1 else b"".join(pieces)
    fast = fast_cut(whole, final=exhausted, width=width)
    if fast is not None and fast[0] > 0:
        return "fast", fast[0], fast[1]
    _, used = split_records(whole, final=exhausted, width=width)
    if used == 0 and not exhausted:
        return None
    return "slow", used, None


def _read(stream: BinaryIO, start: int, length: int) -> bytes:
    stream.seek(start)
    out = bytearray()
    while len(out) < length:
        block = stream.read(length - len(out))
        if not block:
            break
        out += block
    return bytes(out)


def _read_exactly(stream: BinaryIO, start: int, length: int) -> bytes:
    data = _read(stream, start, length)
    if len(data) != length:  # a source shorter than its layout: not the bytes that were cut
        raise EOFError(f"source ended at byte {start + len(data)}, its layout runs to {start + length}")
    return data


def read_cut(stream: BinaryIO, cut: Cut, columns: list[str], first_row: int, size: int) -> Chunk:
    """Parse one cut (rows numbered from ``first_row``) exactly as the single pass parsed that chunk."""
    data = _read_exactly(stream, cut.start, cut.end - cut.start)
    if cut.kind != "slow":
        return parse_chunk(data, columns, first_row, cut.expected)
    return parse_slowly(_slow_records(stream, cut, len(columns), size), columns, first_row)


def _slow_records(stream: BinaryIO, cut: Cut, width: int, size: int) -> list[Split]:
    """The records of a slow cut, split with enough bytes after it that every verdict is decided."""
    length = cut.end - cut.start
    extra = MAX_RECORD_BYTES + 64 * 1024
    while True:
        window = _read(stream, cut.start, min(size - cut.start, length + extra))
        final = cut.start + len(window) >= size
        records, _ = split_records(window, final=final, width=width)
        taken: list[Split] = []
        used = 0
        for record in records:
            if used >= length:
                break
            taken.append(record)
            used += len(record[0]) + 1
        if min(used, length) >= length or final:
            return taken
        extra *= 2  # a record before the cut's end was still undecided: look further
