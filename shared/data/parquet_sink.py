"""Chunked Parquet writing into any writable stream (a blob writer): one row group per frame written.

The stream is committed (``close``) only when every frame was written; on an error it is
``abort``-ed when it can be, so a half-written Parquet file is never published.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from types import TracebackType
from typing import Any, Protocol

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq


class Committable(Protocol):
    """A writable binary stream whose ``close`` publishes what was written."""

    def write(self, data: Any, /) -> int: ...
    def tell(self) -> int: ...
    def close(self) -> None: ...


class _Unclosable(io.RawIOBase):
    """What pyarrow writes to: closing it (pyarrow does, on its close) does not publish the target."""

    def __init__(self, target: Committable) -> None:
        super().__init__()
        self._target = target

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        return self._target.write(data)

    def tell(self) -> int:
        return self._target.tell()


class ParquetSink:
    """Writes polars frames as Parquet row groups (lz4) to ``target``, chunk by chunk.

    ``schema`` may be given up front or taken from the first frame written; every frame is cast
    to it, so chunks with the same polars types always make one consistent file.
    """

    def __init__(
        self, target: Committable, schema: Mapping[str, pl.DataType] | None = None, *, buffer_bytes: int = 0
    ) -> None:
        self.target = target
        # Frames are held until about ``buffer_bytes`` have come, so small frames still make row
        # groups big enough for a column to be read back in few requests.
        self._buffer_bytes = buffer_bytes
        self._held: list[pl.DataFrame] = []
        self._held_bytes = 0
        self._stream = _Unclosable(target)
        self._writer: pq.ParquetWriter | None = None
        self._schema: pa.Schema | None = None
        if schema is not None:
            self._open(pl.DataFrame(schema=dict(schema)).to_arrow().schema)
        self.rows = 0

    def _open(self, schema: pa.Schema) -> None:
        self._schema = schema
        # lz4 without statistics, dictionaries for text columns only: dictionary-encoding float
        # columns of mostly distinct values made writing 8x slower for no smaller file.
        text = [f.name for f in schema if pa.types.is_large_string(f.type) or pa.types.is_string(f.type)]
        self._writer = pq.ParquetWriter(
            self._stream, schema, compression="lz4", use_dictionary=text, write_statistics=False
        )

    def write(self, frame: pl.DataFrame) -> None:
        """Append a frame as a row group (an empty one only fixes the schema)."""
        table = frame.to_arrow()
        if self._writer is None:
            self._open(table.schema)
        assert self._writer is not None and self._schema is not None
        if frame.height:
            self._held.append(frame)
            self._held_bytes += int(frame.estimated_size())
            self.rows += frame.height
            if self._held_bytes >= self._buffer_bytes:
                self._flush()

    def _flush(self) -> None:
        if self._held:
            assert self._writer is not None and self._schema is not None
            table = pl.concat(self._held).to_arrow() if len(self._held) > 1 else self._held[0].to_arrow()
            self._writer.write_table(table.cast(self._schema))
            self._held, self._held_bytes = [], 0

    def close(self) -> None:
        """Finish the file (footer) and publish it."""
        if self._writer is None:
            self._open(pa.schema([]))
        assert self._writer is not None
        self._flush()
        self._writer.close()
        self.target.close()

    def abort(self) -> None:
        """Drop the file: nothing is published."""
        abort = getattr(self.target, "abort", None)
        if abort is not None:
            abort()

    def __enter__(self) -> ParquetSink:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        if kind is None:
            self.close()
        else:
            self.abort()
