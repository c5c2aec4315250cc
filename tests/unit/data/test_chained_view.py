"""The chained view of CSV blobs reads the same bytes, in the same blocks, as ingest's chained stream."""

from __future__ import annotations

import io
import random

import pytest

from shared.data.chained_view import BlobShape, ChainedView, header_length, segments
from shared.data.ingest_stream import chain_csv


def _blobs(seed: int) -> list[bytes]:
    rng = random.Random(seed)
    out = []
    for k in range(rng.randint(2, 5)):
        rows = [f"{i},{rng.random():.4f}" for i in range(rng.choice([0, 1, 7, 300]))]
        body = "a,b\n" + "\n".join(rows)
        if rows and rng.random() < 0.5:
            body += "\n"  # some blobs end in a newline, some do not
        out.append(body.encode() if rng.random() < 0.9 or k == 0 else b"a,b")  # a header without newline
    return out


def _read_blocks(stream: io.RawIOBase | io.BytesIO, size: int) -> list[bytes]:
    blocks = []
    while block := stream.read(size):
        blocks.append(block)
    return blocks


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("block", [7, 64, 4096])
def test_same_bytes_in_the_same_blocks_as_the_chained_stream(seed: int, block: int) -> None:
    blobs = _blobs(seed)
    with chain_csv([lambda b=b: io.BytesIO(b) for b in blobs])() as chained:  # type: ignore[misc]
        expected = _read_blocks(chained, block)
    shapes = [BlobShape(len(b), header_length(io.BytesIO(b), len(b)), b.endswith(b"\n")) for b in blobs]
    view = ChainedView(segments(shapes), lambda k: io.BytesIO(blobs[k]))
    assert _read_blocks(view, block) == expected
    whole = b"".join(expected)
    assert view.size == len(whole)
    for start in (0, 1, len(whole) // 3, len(whole) - 1):  # random access, as a part reads its cuts
        view.seek(start)
        assert b"".join(_read_blocks(view, 5)) == whole[start:]


def test_header_length_finds_a_long_first_line() -> None:
    line = b"x" * 200_000 + b"\n"
    assert header_length(io.BytesIO(line + b"1\n"), len(line) + 2, step=1000) == len(line)
    assert header_length(io.BytesIO(b"a,b"), 3) == 3
