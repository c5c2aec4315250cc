"""Several CSV blobs as one seekable CSV: the bytes, and the reads, of the chained stream ingest reads.

A prefix or pattern source is ingested as one CSV (``shared.data.ingest_stream._ChainedCsv``):
the first blob whole, every later one without its header line, and a newline after a blob whose
data does not end in one (unless it is the last). ``segments`` lays that stream out as byte ranges
of the blobs (plus the added newlines), so a fan-out part can seek to any offset of it.
``ChainedView`` reads it back: a read stops at the end of a segment, as the chained stream's read
stops at the end of a blob, so reading it in blocks gives the very blocks the single pass cut
its chunks from (and so the same cuts).
"""

from __future__ import annotations

import bisect
import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, BinaryIO

#: ``Segment.blob`` of a newline the chained stream adds between two blobs.
NEWLINE = -1


@dataclass(frozen=True)
class Segment:
    """Bytes ``[start, end)`` of blob number ``blob`` (or the added newline: ``NEWLINE``, 0, 1)."""

    blob: int
    start: int
    end: int


@dataclass(frozen=True)
class BlobShape:
    """What the layout needs of one blob: its size, its header line's length, its last byte."""

    size: int
    header: int
    ends_in_newline: bool


def segments(blobs: Sequence[BlobShape]) -> list[Segment]:
    """The chained stream of ``blobs`` (in order) as segments."""
    out: list[Segment] = []
    for k, blob in enumerate(blobs):
        start = 0 if k == 0 else blob.header
        if blob.size <= start:
            continue  # nothing after the header: the chained stream reads nothing here
        out.append(Segment(k, start, blob.size))
        if k + 1 < len(blobs) and not blob.ends_in_newline:
            out.append(Segment(NEWLINE, 0, 1))
    return out


def header_length(stream: BinaryIO, size: int, step: int = 64 * 1024) -> int:
    """Bytes of a blob's first line, its newline included (the whole blob when it has none)."""
    seen = 0
    while seen < size:
        stream.seek(seen)
        block = stream.read(min(step, size - seen))
        if not block:
            break
        found = block.find(b"\n")
        if found >= 0:
            return seen + found + 1
        seen += len(block)
        step *= 2
    return size


class ChainedView(io.RawIOBase):
    """A seekable reader of segments; ``open_blob(k)`` opens blob ``k`` (kept open until close)."""

    def __init__(self, parts: Sequence[Segment], open_blob: Callable[[int], BinaryIO]) -> None:
        super().__init__()
        self._parts = list(parts)
        self._starts: list[int] = []
        offset = 0
        for part in self._parts:
            self._starts.append(offset)
            offset += part.end - part.start
        self.size = offset
        self._open_blob = open_blob
        self._open: dict[int, BinaryIO] = {}
        self._pos = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self.size}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        if self._pos >= self.size or not len(view):
            return 0
        i = bisect.bisect_right(self._starts, self._pos) - 1
        part, within = self._parts[i], self._pos - self._starts[i]
        n = min(len(view), part.end - part.start - within)
        if part.blob == NEWLINE:
            view[:1] = b"\n"
            n = 1
        else:
            stream = self._open.get(part.blob)
            if stream is None:
                stream = self._open[part.blob] = self._open_blob(part.blob)
            stream.seek(part.start + within)
            data = stream.read(n)
            n = len(data)
            view[:n] = data
        self._pos += n
        return n

    def close(self) -> None:
        for stream in self._open.values():
            stream.close()
        self._open.clear()
        super().close()
