"""Score a JSON request: check raw rows against the model's features, build its inputs, run, answer.

A request is a list of row objects or ``{"rows": [...], "strict": false, "partial": false}``.
A raw-columns model (``signature.columns``) takes raw values: numbers, strings for categories,
ISO 8601 dates, and nulls (or a left-out field), which the graph imputes; a category never seen in
training is scored too. Fields that are not features are ignored and named in the answer
(``strict: true`` makes them errors). Every bad row is reported (row, field, reason) in one 400;
``partial: true`` answers the good rows instead and lists the bad ones under ``errors``.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

import numpy as np
from pydantic import BaseModel

from shared.errors import ValidationError
from shared.models.onnx_io import LoadedModel
from shared.models.predict import predict_matrix
from shared.models.signature import ModelSignature

DEFAULT_MAX_ROWS = 10_000
#: How many bad rows a 400's message lists (the count is always there).
MAX_LISTED_ERRORS = 50
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class Prediction(BaseModel):
    """One row's answer: label + probability (+ all class probabilities), or a value."""

    label: Any | None = None
    probability: float | None = None
    probabilities: dict[str, float] | None = None
    value: float | None = None


class RowError(BaseModel):
    """Why one request row cannot be scored."""

    row: int
    field: str
    reason: str


class ScoreResponse(BaseModel):
    """Predictions in request row order, plus what was ignored, imputed or refused."""

    predictions: list[Prediction]
    rows: list[int] | None = None  # request indices of the predictions, only when some rows were refused
    errors: list[RowError] | None = None
    ignored_fields: list[str] | None = None
    nulls: dict[str, int] | None = None
    unseen_categories: dict[str, int] | None = None


class _BadValue(Exception):
    """A value the model cannot take; the message is the reason."""


def _rows_of(payload: Any, max_rows: int) -> list[Any]:
    rows = payload.get("rows") if isinstance(payload, dict) else payload
    if not isinstance(rows, list):
        raise ValidationError("request must be a list of row objects or {'rows': [...]}", field="rows")
    if not rows:
        raise ValidationError("request has no rows", field="rows")
    if len(rows) > max_rows:
        raise ValidationError(f"request has {len(rows)} rows, at most {max_rows} allowed", field="rows")
    return rows


def _flag(payload: Any, name: str) -> bool:
    value = payload.get(name, False) if isinstance(payload, dict) else False
    if not isinstance(value, bool):
        raise ValidationError(f"{name} must be true or false", field=name)
    return value


def _number(value: Any) -> float:
    # bool is an int subclass in Python; a JSON true/false is not a number for a model.
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _BadValue(f"must be a number, got {type(value).__name__}")
    number = float(value)
    if not math.isfinite(number):
        raise _BadValue("must be finite")
    return number


def _boolean(value: Any) -> float:
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, int | float) and value in (0, 1):
        return float(value)
    raise _BadValue(f"must be true or false, got {type(value).__name__}")


def epoch_days(value: Any) -> float:
    """Days since 1970-01-01 UTC of an ISO 8601 date or datetime (naive = UTC): the model's date input."""
    if not isinstance(value, str):
        raise _BadValue(f"must be an ISO 8601 date string, got {type(value).__name__}")
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise _BadValue(f"is not an ISO 8601 date: {value[:40]!r}") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return (parsed - _EPOCH).total_seconds() / 86_400.0


def _category(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        # A category column read from a CSV holds text: 3 and "3" are the same category.
        return str(value)
    raise _BadValue(f"must be a string category, got {type(value).__name__}")


class _Columns:
    """Builds a raw-columns model's feeds row by row, noting nulls, unseen categories and bad rows."""

    def __init__(self, sig: ModelSignature, n: int) -> None:
        assert sig.columns is not None
        self.sig = sig
        self.kinds = sig.columns
        self.known = {k: set(v) for k, v in (sig.categories or {}).items()}
        self.values: dict[str, list[Any]] = {name: [] for name in sig.features}
        self.nulls: dict[str, int] = {}
        self.unseen: dict[str, int] = {}

    def convert(self, row: dict[str, Any]) -> list[tuple[str, Any]]:
        """One row's model-ready values; raises (field, reason) via _BadValue tuples."""
        out: list[tuple[str, Any]] = []
        bad: list[tuple[str, str]] = []
        for name in self.sig.features:
            value = row.get(name)
            kind = self.kinds[name]
            try:
                if value is None:
                    converted: Any = "" if kind == "category" else math.nan
                elif kind == "category":
                    converted = _category(value)
                elif kind == "datetime":
                    converted = epoch_days(value)
                elif kind == "bool":
                    converted = _boolean(value)
                else:
                    converted = _number(value)
            except _BadValue as exc:
                bad.append((name, str(exc)))
                continue
            out.append((name, converted))
        if bad:
            raise _RowProblems(bad)
        return out

    def add(self, values: list[tuple[str, Any]], row: dict[str, Any]) -> None:
        """Keep a good row's values and count its nulls and unseen categories."""
        for name, converted in values:
            self.values[name].append(converted)
            if row.get(name) is None:
                self.nulls[name] = self.nulls.get(name, 0) + 1
            elif name in self.known and converted not in self.known[name]:
                self.unseen[name] = self.unseen.get(name, 0) + 1

    def feeds(self) -> dict[str, np.ndarray[Any, Any]]:
        """The session inputs, one ``[rows, 1]`` array per feature."""
        out: dict[str, np.ndarray[Any, Any]] = {}
        for name, values in self.values.items():
            dtype: Any = object if self.kinds[name] == "category" else np.float32
            out[name] = np.array(values, dtype=dtype).reshape(-1, 1)
        return out


class _RowProblems(Exception):
    """Every bad field of one row."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        super().__init__(problems)
        self.problems = problems


def _matrix_values(features: list[str], row: dict[str, Any]) -> list[tuple[str, Any]]:
    """A matrix model's row: every feature present and a finite number (it cannot impute)."""
    out: list[tuple[str, Any]] = []
    bad: list[tuple[str, str]] = []
    for name in features:
        if name not in row:
            bad.append((name, f"is missing feature {name!r}"))
            continue
        try:
            out.append((name, _number(row[name])))
        except _BadValue as exc:
            bad.append((name, f"feature {name!r} {exc}"))
    if bad:
        raise _RowProblems(bad)
    return out


def _refuse(errors: list[RowError]) -> ValidationError:
    listed = "; ".join(f"rows[{e.row}].{e.field}: {e.reason}" for e in errors[:MAX_LISTED_ERRORS])
    more = f" (and {len(errors) - MAX_LISTED_ERRORS} more)" if len(errors) > MAX_LISTED_ERRORS else ""
    first = errors[0]
    field = f"rows[{first.row}]" if first.field == "" else f"rows[{first.row}].{first.field}"
    bad_rows = len({e.row for e in errors})
    noun = "row" if bad_rows == 1 else "rows"
    return ValidationError(f"{bad_rows} bad {noun}: {listed}{more}", field=field)


def prepare(
    sig: ModelSignature, payload: Any, max_rows: int = DEFAULT_MAX_ROWS
) -> tuple[np.ndarray[Any, Any] | dict[str, np.ndarray[Any, Any]], ScoreResponse]:
    """The model inputs of a request's good rows, and the response skeleton (no predictions yet)."""
    rows = _rows_of(payload, max_rows)
    strict, partial = _flag(payload, "strict"), _flag(payload, "partial")
    expected = set(sig.features)
    columns = _Columns(sig, len(rows)) if sig.columns is not None else None
    matrix_rows: list[list[float]] = []
    good: list[int] = []
    errors: list[RowError] = []
    ignored: set[str] = set()
    for i, row in enumerate(rows):
        if not isinstance(row, dict):
            errors.append(RowError(row=i, field="", reason="must be an object of feature: value"))
            continue
        unknown = [str(k) for k in row if k not in expected]
        if unknown and strict:
            errors.extend(RowError(row=i, field=k, reason=f"unknown feature {k!r} (strict)") for k in unknown)
            continue
        ignored.update(unknown)
        try:
            values = columns.convert(row) if columns is not None else _matrix_values(sig.features, row)
        except _RowProblems as exc:
            errors.extend(RowError(row=i, field=f, reason=r) for f, r in exc.problems)
            continue
        if columns is not None:
            columns.add(values, row)
        else:
            matrix_rows.append([v for _, v in values])
        good.append(i)
    if errors and (not partial or not good):
        raise _refuse(errors)
    response = ScoreResponse(
        predictions=[],
        rows=good if errors else None,
        errors=errors or None,
        ignored_fields=sorted(ignored) or None,
        nulls=(columns.nulls or None) if columns is not None else None,
        unseen_categories=(columns.unseen or None) if columns is not None else None,
    )
    if columns is not None:
        return columns.feeds(), response
    return np.array(matrix_rows, dtype=np.float32).reshape(len(good), len(sig.features)), response


def build_matrix(payload: Any, features: list[str], max_rows: int = DEFAULT_MAX_ROWS) -> np.ndarray[Any, Any]:
    """Validate rows against ``features`` of a matrix model and return them as float32 in feature order."""
    sig = ModelSignature(inputs=[], outputs=[], features=features, task="regression")
    inputs, _ = prepare(sig, payload, max_rows)
    assert isinstance(inputs, np.ndarray)
    return inputs


def score(model: LoadedModel, payload: Any, max_rows: int = DEFAULT_MAX_ROWS) -> ScoreResponse:
    """Validate a scoring request against ``model`` and return its predictions."""
    inputs, response = prepare(model.signature, payload, max_rows)
    raw = predict_matrix(model, inputs)
    if raw.probabilities is not None and raw.class_index is not None and raw.classes is not None:
        classes = raw.classes
        response.predictions = [
            Prediction(
                label=classes[int(idx)],
                probability=float(probs[int(idx)]),
                probabilities={str(c): float(p) for c, p in zip(classes, probs, strict=True)},
            )
            for idx, probs in zip(raw.class_index, raw.probabilities, strict=True)
        ]
        return response
    assert raw.values is not None
    response.predictions = [Prediction(value=float(v)) for v in raw.values]
    return response


__all__ = [
    "DEFAULT_MAX_ROWS",
    "Prediction",
    "RowError",
    "ScoreResponse",
    "build_matrix",
    "epoch_days",
    "score",
]
