"""Where CSV records end: the bounded-quote rule, and where a chunk may be cut by quote parity.

A record is one line, unless a quoted field holds newlines: then it runs on until the quote
closes, but for at most ``MAX_RECORD_LINES`` lines and ``MAX_RECORD_BYTES`` bytes, and only when
the lines so joined parse as exactly one record with as many fields as the header. Otherwise the
line that opened the quote is a bad record on its own ("unterminated quoted field") and reading
goes on at the next line, so one stray quote costs one row, never the rest of the file.
"""

from __future__ import annotations

import csv
import io

import numpy as np

_QUOTE = ord('"')
_NEWLINE = ord("\n")

#: Most lines one record may span through quoted newlines (legitimate multi-line text fits easily).
MAX_RECORD_LINES = 1000
#: Most bytes one multi-line record may hold; a quote left open is resolved within this many bytes.
MAX_RECORD_BYTES = 1024 * 1024
_UNTERMINATED = "unterminated quoted field"


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
