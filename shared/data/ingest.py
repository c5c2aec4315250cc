"""Ingest: read CSV/Parquet in chunks, normalise types, hash the bytes into a dataset version.

One streaming pass hashes every byte, counts what each text column parses as, and keeps each
chunk in the form its values most likely end up in (numbers parsed, other text cleaned), so
memory stays bounded by the typed result. Types are then decided once for the whole file and the
kept chunks are assembled with them, so the frame never depends on chunk boundaries. Only when a
chunk kept a column as numbers that the file decides otherwise (ids that turn into text later) is
the source read a second time and cast with the decided types, as if nothing had been kept.

Row problems found while reading become ``issues`` (row, column, reason, value), not exceptions:
undecodable (non-UTF-8) records and records with too many fields (``column`` is null, the record
is not in ``frame``), and values that do not parse as their column's type (the value is null in
``frame``). Dataset-level problems (empty file, header only, bad header, more columns than
``max_columns``) go to ``reasons``.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import polars as pl
from pydantic import BaseModel, ConfigDict, Field

from shared.data.bundled import bundled_csv_bytes
from shared.data.csv_reader import Chunk, read_csv_chunks
from shared.data.inference import TypeEvidence, parse_numbers, parsed_count
from shared.data.parquet_reader import read_parquet_batches, read_schema, text_columns
from shared.data.types import POLARS_TYPES, ROW, clean_text, parse_text, type_of
from shared.errors import NotFoundError, ValidationError
from shared.pipeline.sections import ColumnType, DataFormat, Source

DEFAULT_CHUNK_BYTES = 16 * 1024 * 1024
DEFAULT_CHUNK_ROWS = 256 * 1024
#: Share of a text column's values that must parse as a type for the column to get that type.
DEFAULT_TYPE_MAJORITY = 0.95
#: Widest table ingest reads at all, whatever a spec's ``expectations.max_columns`` says: a wider
#: header is refused before any row is parsed (the spec's own limit is applied by validation).
MAX_COLUMNS = 20_000

ISSUE_SCHEMA: dict[str, pl.DataType] = {
    "row": pl.Int64(),
    "column": pl.String(),
    "reason": pl.String(),
    "value": pl.String(),
}

SourceData = bytes | Path


class IngestResult(BaseModel):
    """What ingest read: dataset version, counts, types, problems; frames are excluded from dumps."""

    model_config = ConfigDict(arbitrary_types_allowed=True, frozen=True)

    dataset_version: str = Field(description="sha256 (hex) of the source bytes: same bytes, same version.")
    format: DataFormat = Field(description="Format the source was read as.")
    source_bytes: int = Field(description="Size of the source in bytes.")
    rows_read: int = Field(description="Data records seen, including those that could not be parsed.")
    columns: list[str] = Field(description="Column names, whitespace stripped, in file order.")
    dtypes: dict[str, ColumnType] = Field(description="Type decided for each column.")
    reasons: list[str] = Field(description="Dataset-level problems; non-empty means nothing usable was read.")
    frame: pl.DataFrame = Field(exclude=True, repr=False, description="Typed rows, with ``__row__`` first.")
    issues: pl.DataFrame = Field(exclude=True, repr=False, description="Row problems found while reading.")


class _Hasher:
    """Counts and hashes every byte handed to it."""

    def __init__(self) -> None:
        self.sha = hashlib.sha256()
        self.size = 0

    def __call__(self, block: bytes) -> None:
        self.sha.update(block)
        self.size += len(block)


def _open(source: SourceData) -> AbstractContextManager[BinaryIO]:
    return io.BytesIO(source) if isinstance(source, bytes) else open(source, "rb")


def hash_source(source: SourceData, block_bytes: int = DEFAULT_CHUNK_BYTES) -> tuple[str, int]:
    """sha256 hex and size of a source, streamed in blocks."""
    hasher = _Hasher()
    with _open(source) as stream:
        while block := stream.read(block_bytes):
            hasher(block)
    return hasher.sha.hexdigest(), hasher.size


def _empty_issues() -> pl.DataFrame:
    return pl.DataFrame(schema=ISSUE_SCHEMA)


def cast_chunk(
    frame: pl.DataFrame, dtypes: Mapping[str, ColumnType], text: list[str]
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Cast a cleaned chunk; the values of text columns that fail to parse come back as issues."""
    parsed = frame.with_columns(
        parse_text(c, dtypes[c]) for c in text if dtypes[c] not in ("string", "category")
    )
    issues = []
    for c in text:
        if dtypes[c] in ("string", "category"):
            continue
        # Null counts are metadata: a column with as many nulls as its text has no failures,
        # which spares building and scanning a mask for almost every column.
        if parsed[c].null_count() == frame[c].null_count():
            continue
        failed = frame[c].is_not_null() & parsed[c].is_null()
        if failed.any():
            issues.append(
                frame.filter(failed).select(
                    pl.col(ROW).alias("row"),
                    pl.lit(c).alias("column"),
                    pl.lit(f"type: not a valid {dtypes[c]}").alias("reason"),
                    pl.col(c).str.slice(0, 200).alias("value"),
                )
            )
    return parsed, pl.concat(issues) if issues else _empty_issues()


def bad_issues(chunk: Chunk) -> pl.DataFrame:
    if not chunk.bad:
        return _empty_issues()
    return pl.DataFrame(
        {
            "row": [b.row for b in chunk.bad],
            "column": [None] * len(chunk.bad),
            "reason": [f"unreadable: {b.reason}" for b in chunk.bad],
            "value": [b.text for b in chunk.bad],
        },
        schema=ISSUE_SCHEMA,
    )


def decide_types(
    columns: list[str],
    text: list[str],
    evidence: TypeEvidence,
    overrides: Mapping[str, ColumnType],
    majority: float,
) -> dict[str, ColumnType]:
    wanted = set(text)  # a set: membership per column must not cost a scan of all columns
    return {c: overrides.get(c) or evidence.decide(c, majority) for c in columns if c in wanted}


def _finish(
    version: str,
    size: int,
    fmt: DataFormat,
    columns: list[str],
    dtypes: dict[str, ColumnType],
    frames: list[pl.DataFrame],
    issues: list[pl.DataFrame],
    rows_read: int,
    reasons: list[str],
) -> IngestResult:
    schema = {ROW: pl.Int64(), **{c: POLARS_TYPES[dtypes[c]] for c in columns}}
    frame = pl.concat(frames) if frames else pl.DataFrame(schema=schema)
    if rows_read == 0 and not reasons:
        reasons.append("no data rows (header only)")
    issue_frame = pl.concat(issues) if issues else _empty_issues()
    return IngestResult(
        dataset_version=version,
        format=fmt,
        source_bytes=size,
        rows_read=rows_read,
        columns=columns,
        dtypes=dtypes,
        reasons=reasons,
        frame=frame,
        issues=issue_frame.sort("row", "column", nulls_last=True),
    )


def _typed_pass(
    chunks: Iterator[Chunk], columns: list[str], dtypes: Mapping[str, ColumnType]
) -> tuple[list[pl.DataFrame], list[pl.DataFrame], int]:
    """Clean and cast every chunk; return typed frames, issues and the records read."""
    frames: list[pl.DataFrame] = []
    issues: list[pl.DataFrame] = []
    rows_read = 0
    for chunk in chunks:
        cleaned = chunk.frame.with_columns(clean_text(c, strip=not chunk.plain) for c in columns)
        typed, bad_values = cast_chunk(cleaned, dtypes, columns)
        frames.append(typed)
        issues += [bad_values, bad_issues(chunk)]
        rows_read += chunk.frame.height + len(chunk.bad)
    return frames, issues, rows_read


#: A chunk's column may be kept parsed as int or float when at most this share of its values
#: fail that parse (their rows and text are kept for the issues); otherwise it is kept as text.
_KEEP_FAILING = 0.05


@dataclass(frozen=True)
class _Guess:
    """One chunk's column as the first pass kept it: parsed as ``kind``, or cleaned text (None).

    ``failed`` holds the row and text of each value that did not parse as ``kind``.
    """

    kind: ColumnType | None
    values: pl.Series
    failed: pl.DataFrame | None


@dataclass(frozen=True)
class _Kept:
    """What the first pass keeps of a chunk so that, once types are decided, no second read is needed."""

    declared: pl.DataFrame  # ROW and the columns whose type was given, already cast
    guesses: dict[str, _Guess]
    issues: list[pl.DataFrame]  # unreadable records and cast failures of the declared columns
    records: int


def _guess(cleaned: pl.DataFrame, parsed: pl.DataFrame, c: str) -> _Guess:
    """Keep a column parsed where (nearly) every value parses, so the cast pass can reuse it."""
    height = cleaned.height
    n = height - cleaned[c].null_count()
    floats = parsed_count(parsed, c, "float")
    ints = parsed_count(parsed, c, "int")
    kind: ColumnType | None = None
    if n > 0 and ints == floats and n - ints <= _KEEP_FAILING * n:
        kind = "int"
    elif n > 0 and n - floats <= _KEEP_FAILING * n:
        kind = "float"
    if kind is None:
        return _Guess(None, cleaned[c], None)
    values = parsed[f"{c}\x00{kind}"].alias(c)
    failed = None
    if values.null_count() > height - n:
        failed = cleaned.filter(pl.col(c).is_not_null() & values.is_null()).select(
            pl.col(ROW).alias("row"), pl.col(c).str.slice(0, 200).alias("value")
        )
    return _Guess(kind, values, failed)


def _assemble(
    kept: _Kept, columns: list[str], dtypes: Mapping[str, ColumnType]
) -> tuple[pl.DataFrame, list[pl.DataFrame]] | None:
    """A kept chunk typed as decided, with its issues; None when a kept column cannot give its type."""
    series: dict[str, pl.Series] = {ROW: kept.declared[ROW]}
    issues = list(kept.issues)
    for c in columns:
        if c not in kept.guesses:
            series[c] = kept.declared[c]
            continue
        guess, kind = kept.guesses[c], dtypes[c]
        if guess.kind is None:  # text: cast it now, exactly as the second pass would
            typed, bad_values = cast_chunk(pl.DataFrame([series[ROW], guess.values]), dtypes, [c])
            series[c] = typed[c]
            issues.append(bad_values)
        elif guess.kind == kind:
            series[c] = guess.values
            if guess.failed is not None:
                issues.append(
                    guess.failed.select(
                        "row",
                        pl.lit(c).alias("column"),
                        pl.lit(f"type: not a valid {kind}").alias("reason"),
                        "value",
                    )
                )
        else:
            return None
    return pl.DataFrame(list(series.values())), issues


def _assemble_all(
    kept: list[_Kept], columns: list[str], dtypes: Mapping[str, ColumnType]
) -> tuple[list[pl.DataFrame], list[pl.DataFrame], int] | None:
    """Typed frames, issues and records read of every kept chunk; None if one cannot be assembled.

    Empties ``kept`` as it goes, so each chunk's kept text is freed once its typed frame exists
    and memory stays bounded by the typed result.
    """
    frames: list[pl.DataFrame] = []
    issues: list[pl.DataFrame] = []
    rows_read = 0
    kept.reverse()
    while kept:
        part = kept.pop()
        assembled = _assemble(part, columns, dtypes)
        if assembled is None:
            kept.clear()
            return None
        frames.append(assembled[0])
        issues += assembled[1]
        rows_read += part.records
    return frames, issues, rows_read


def _first_pass(
    chunks: Iterator[Chunk], overrides: Mapping[str, ColumnType], text: list[str], evidence: TypeEvidence
) -> list[_Kept]:
    """Count type evidence and keep every chunk: numbers parsed once, other text cleaned."""
    kept: list[_Kept] = []
    inferred = set(text)
    for chunk in chunks:
        columns = chunk.frame.columns[1:]  # after ROW
        declared = [c for c in columns if c not in inferred]
        cleaned = chunk.frame.with_columns(clean_text(c, strip=not chunk.plain) for c in columns)
        parsed = parse_numbers(cleaned, text)
        evidence.add_parsed(cleaned, text, parsed)
        typed, bad_values = cast_chunk(cleaned.select(ROW, *declared), overrides, declared)
        kept.append(
            _Kept(
                declared=typed,
                guesses={c: _guess(cleaned, parsed, c) for c in text},
                issues=[bad_values, bad_issues(chunk)],
                records=chunk.frame.height + len(chunk.bad),
            )
        )
    return kept


def _too_wide(columns: int, max_columns: int) -> str | None:
    if columns <= max_columns:
        return None
    return f"{columns} columns, more than max_columns {max_columns}"


def _ingest_csv(
    source: SourceData,
    overrides: Mapping[str, ColumnType],
    chunk_bytes: int,
    majority: float,
    max_columns: int,
) -> IngestResult:
    hasher = _Hasher()
    evidence = TypeEvidence()
    with _open(source) as stream:
        header, chunks = read_csv_chunks(stream, chunk_bytes=chunk_bytes, on_block=hasher)
        wide = None if header is None else _too_wide(len(header.columns), max_columns)
        if header is None or header.problem is not None or wide is not None:
            for _ in _drain(stream, chunk_bytes, hasher):
                pass
            problem = "empty file (0 bytes)" if header is None else str(wide or header.problem)
            return _finish(hasher.sha.hexdigest(), hasher.size, "csv", [], {}, [], [], 0, [problem])
        columns = header.columns
        text = [c for c in columns if c not in overrides]
        if not text:  # every type is known (e.g. from the baseline): one pass is enough
            dtypes = {c: overrides[c] for c in columns}
            frames, issues, rows_read = _typed_pass(chunks, columns, dtypes)
            return _finish(
                hasher.sha.hexdigest(), hasher.size, "csv", columns, dtypes, frames, issues, rows_read, []
            )
        kept = _first_pass(chunks, overrides, text, evidence)
    version = hasher.sha.hexdigest()
    dtypes = decide_types(columns, columns, evidence, overrides, majority)
    assembled = _assemble_all(kept, columns, dtypes)
    if assembled is None:
        # A chunk kept a column as numbers that the whole file decided otherwise (e.g. ids that
        # turn into text later): read again, casting as decided (what was kept is freed by now).
        with _open(source) as stream:
            _, chunks = read_csv_chunks(stream, chunk_bytes=chunk_bytes, on_block=lambda _: None)
            assembled = _typed_pass(chunks, columns, dtypes)
    frames, issues, rows_read = assembled
    return _finish(version, hasher.size, "csv", columns, dtypes, frames, issues, rows_read, [])


def _drain(stream: BinaryIO, size: int, on_block: Callable[[bytes], None]) -> Iterator[bytes]:
    while block := stream.read(size):
        on_block(block)
        yield block


def _ingest_parquet(
    source: SourceData,
    overrides: Mapping[str, ColumnType],
    chunk_rows: int,
    majority: float,
    max_columns: int,
) -> IngestResult:
    version, size = hash_source(source)
    if size == 0:
        return _finish(version, size, "parquet", [], {}, [], [], 0, ["empty file (0 bytes)"])
    try:
        schema = read_schema(source)
    except Exception as exc:  # pyarrow raises several types for a corrupt file
        return _finish(version, size, "parquet", [], {}, [], [], 0, [f"not a readable parquet file: {exc}"])
    if (wide := _too_wide(len(schema), max_columns)) is not None:
        return _finish(version, size, "parquet", [], {}, [], [], 0, [wide])
    if ROW in schema:
        return _finish(version, size, "parquet", [], {}, [], [], 0, [f"column name {ROW!r} is reserved"])
    columns = list(schema)
    text = text_columns(schema, overrides)
    evidence = TypeEvidence()
    if any(c not in overrides for c in text):
        for df in read_parquet_batches(source, chunk_rows, text):
            evidence.add(df, [c for c in text if c not in overrides])
    dtypes = {c: type_of(dtype) for c, dtype in schema.items()}
    dtypes.update(decide_types(columns, text, evidence, overrides, majority))
    frames: list[pl.DataFrame] = []
    issues: list[pl.DataFrame] = []
    for df in read_parquet_batches(source, chunk_rows, text):
        typed, bad_values = cast_chunk(df, dtypes, text)
        frames.append(typed)
        issues.append(bad_values)
    rows_read = sum(f.height for f in frames)
    return _finish(version, size, "parquet", columns, dtypes, frames, issues, rows_read, [])


def ingest(
    source: SourceData,
    *,
    format: DataFormat,
    overrides: Mapping[str, ColumnType] | None = None,
    chunk_bytes: int = DEFAULT_CHUNK_BYTES,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    type_majority: float = DEFAULT_TYPE_MAJORITY,
    max_columns: int = MAX_COLUMNS,
) -> IngestResult:
    """Read CSV or Parquet bytes (or a local file) into typed rows, a dataset version and issues.

    A table wider than ``max_columns`` is refused from its header (a dataset-level reason naming
    both counts) without parsing a row.
    """
    forced = dict(overrides or {})
    if format == "csv":
        return _ingest_csv(source, forced, chunk_bytes, type_majority, max_columns)
    return _ingest_parquet(source, forced, chunk_rows, type_majority, max_columns)


def ingest_bundled(name: str, *, overrides: Mapping[str, ColumnType] | None = None) -> IngestResult:
    """Ingest a bundled scikit-learn dataset through its canonical CSV bytes."""
    return ingest(bundled_csv_bytes(name), format="csv", overrides=overrides)


def ingest_source(
    source: Source,
    *,
    data: bytes | None = None,
    base_dir: Path | None = None,
    overrides: Mapping[str, ColumnType] | None = None,
    chunk_bytes: int = DEFAULT_CHUNK_BYTES,
    max_columns: int = MAX_COLUMNS,
) -> IngestResult:
    """Ingest what a spec's source names: bundled dataset, local file, or blob bytes fetched by the caller.

    Pass the spec's ``expectations.max_columns`` to refuse a too-wide table before its rows are read.
    """
    fmt = source.resolved_format()
    if fmt is None:  # the spec model refuses such sources; kept for sources built by hand
        raise ValidationError(f"cannot tell the format of {source.location!r}", field="source.format")
    if source.kind == "bundled":
        return ingest_bundled(source.location, overrides=overrides)
    if data is not None:
        return ingest(data, format=fmt, overrides=overrides, chunk_bytes=chunk_bytes, max_columns=max_columns)
    if source.kind == "blob":
        raise ValidationError("a blob source needs its bytes: download it and pass data=", field="source")
    path = Path(source.location).expanduser()
    if not path.is_absolute() and base_dir is not None:
        path = base_dir / path
    if not path.is_file():
        raise NotFoundError(f"source file not found: {path}")
    return ingest(path, format=fmt, overrides=overrides, chunk_bytes=chunk_bytes, max_columns=max_columns)
