"""Score a JSON request: check raw rows against the model's features, build its inputs, run, answer.

A request is a list of row objects or ``{"rows": [...], "strict": false, "partial": false}``.
A raw-columns model (``signature.columns``) takes raw values: numbers, strings for categories,
ISO 8601 dates, and nulls (or a left-out field), which the graph imputes; a category never seen in
training is scored too. Fields that are not features are ignored and named in the answer
(``strict: true`` makes them errors). Every bad row is reported (row, field, reason) in one 400;
``partial: true`` answers the good rows instead and lists the bad ones under ``errors``.

A caller's ``RowTally`` learns how many rows a request offered and how many were refused, and how
many of those for a type/value error (a value of the wrong type, non-finite, not a date), whether
the request is answered or refused: the inference log counts them for the type-error rate. Rows
refused for anything else (not an object, an unknown field under ``strict``, a matrix model's
missing or null feature) are refused but not type errors.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from pydantic import BaseModel, PrivateAttr

from shared.errors import ValidationError
from shared.models.onnx_io import LoadedModel
from shared.models.predict import RawPredictions, predict_matrix
from shared.models.raw_rows import BadValue, convert_column, epoch_days, number
from shared.models.signature import ModelSignature

DEFAULT_MAX_ROWS = 10_000
#: How many bad rows a 400's message lists (the count is always there).
MAX_LISTED_ERRORS = 50


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
    #: The predictions as arrays (for the predictions log; never part of the answer).
    _raw: RawPredictions | None = PrivateAttr(default=None)


@dataclass
class RowTally:
    """Rows a request offered, refused (any reason) and refused for a type/value error."""

    offered: int = 0
    refused: int = 0
    type_errors: int = 0


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


#: (row, feature position or -1 for the row itself, field, reason)
_Problem = tuple[int, int, str, str]


def _raw_inputs(
    sig: ModelSignature, rows: list[Any], candidates: list[int], problems: list[_Problem], typed: set[int]
) -> tuple[dict[str, np.ndarray[Any, Any]], list[int], dict[str, int], dict[str, int]]:
    """A raw-columns model's feeds (by feature name) for the candidate rows without a bad value."""
    assert sig.columns is not None
    known = {k: set(v) for k, v in (sig.categories or {}).items()}
    columns = {}
    bad_positions: set[int] = set()
    for j, name in enumerate(sig.features):
        column = convert_column(sig.columns[name], [rows[i].get(name) for i in candidates], known.get(name))
        for position, reason in column.bad.items():
            problems.append((candidates[position], j, name, reason))
            typed.add(candidates[position])  # a null is imputed, never bad: every bad value is a type error
            bad_positions.add(position)
        columns[name] = column
    keep: Any = slice(None)  # every row, without copying (the common case: no bad value)
    if bad_positions:
        keep = np.ones(len(candidates), dtype=bool)
        keep[list(bad_positions)] = False
    feeds: dict[str, np.ndarray[Any, Any]] = {}
    nulls: dict[str, int] = {}
    unseen: dict[str, int] = {}
    for name, column in columns.items():
        text = sig.columns[name] == "category"
        feeds[name] = column.values[keep].astype(object if text else np.float32, copy=False).reshape(-1, 1)
        if n_missing := int(np.count_nonzero(column.missing[keep])):
            nulls[name] = n_missing
        if text and (n_unseen := int(np.count_nonzero(column.unseen[keep]))):
            unseen[name] = n_unseen
    good = [i for p, i in enumerate(candidates) if p not in bad_positions]
    return feeds, good, nulls, unseen


def _matrix_inputs(
    features: list[str], rows: list[Any], candidates: list[int], problems: list[_Problem], typed: set[int]
) -> tuple[np.ndarray[Any, Any], list[int]]:
    """A matrix model's float32 rows: every feature present and a finite number (it cannot impute)."""
    matrix: list[list[float]] = []
    good: list[int] = []
    for i in candidates:
        row, values, ok = rows[i], [], True
        for j, name in enumerate(features):
            if name not in row:
                problems.append((i, j, name, f"is missing feature {name!r}"))
                ok = False
                continue
            try:
                values.append(number(row[name]))
            except BadValue as exc:
                problems.append((i, j, name, f"feature {name!r} {exc}"))
                if row[name] is not None:  # a null is a missing value, not a wrong type
                    typed.add(i)
                ok = False
        if ok:
            matrix.append(values)
            good.append(i)
    return np.array(matrix, dtype=np.float32).reshape(len(good), len(features)), good


def _refuse(errors: list[RowError]) -> ValidationError:
    listed = "; ".join(
        f"rows[{e.row}]{'.' + e.field if e.field else ''}: {e.reason}" for e in errors[:MAX_LISTED_ERRORS]
    )
    more = f" (and {len(errors) - MAX_LISTED_ERRORS} more)" if len(errors) > MAX_LISTED_ERRORS else ""
    first = errors[0]
    field = f"rows[{first.row}]" if first.field == "" else f"rows[{first.row}].{first.field}"
    bad_rows = len({e.row for e in errors})
    noun = "row" if bad_rows == 1 else "rows"
    return ValidationError(f"{bad_rows} bad {noun}: {listed}{more}", field=field)


def prepare(
    sig: ModelSignature, payload: Any, max_rows: int = DEFAULT_MAX_ROWS, tally: RowTally | None = None
) -> tuple[np.ndarray[Any, Any] | dict[str, np.ndarray[Any, Any]], ScoreResponse]:
    """The model inputs of a request's good rows, and the response skeleton (no predictions yet).

    ``tally`` (if given) is filled once the rows are checked, before a refusal is raised.
    """
    rows = _rows_of(payload, max_rows)
    strict, partial = _flag(payload, "strict"), _flag(payload, "partial")
    expected = set(sig.features)
    id_field = payload.get("id_field") if isinstance(payload, dict) else None
    if isinstance(id_field, str):  # the rows' own prediction key is a known field, not a feature
        expected.add(id_field)
    problems: list[_Problem] = []
    typed: set[int] = set()
    candidates: list[int] = []
    ignored: set[str] = set()
    for i, row in enumerate(rows):
        if not isinstance(row, dict):
            problems.append((i, -1, "", "must be an object of feature: value"))
            continue
        unknown = [str(k) for k in row if k not in expected]
        if unknown and strict:
            problems.extend((i, -1, k, f"unknown feature {k!r} (strict)") for k in unknown)
            continue
        ignored.update(unknown)
        candidates.append(i)
    inputs: np.ndarray[Any, Any] | dict[str, np.ndarray[Any, Any]]
    nulls: dict[str, int] = {}
    unseen: dict[str, int] = {}
    if sig.columns is not None:
        inputs, good, nulls, unseen = _raw_inputs(sig, rows, candidates, problems, typed)
    else:
        inputs, good = _matrix_inputs(sig.features, rows, candidates, problems, typed)
    if tally is not None:
        tally.offered = len(rows)
        tally.refused = len({p[0] for p in problems}) if problems else 0
        tally.type_errors = len(typed)
    errors = [RowError(row=r, field=f, reason=m) for r, _, f, m in sorted(problems, key=lambda p: p[:2])]
    if errors and (not partial or not good):
        raise _refuse(errors)
    response = ScoreResponse(
        predictions=[],
        rows=good if errors else None,
        errors=errors or None,
        ignored_fields=sorted(ignored) or None,
        nulls=nulls or None,
        unseen_categories=unseen or None,
    )
    return inputs, response


def build_matrix(payload: Any, features: list[str], max_rows: int = DEFAULT_MAX_ROWS) -> np.ndarray[Any, Any]:
    """Validate rows against ``features`` of a matrix model and return them as float32 in feature order."""
    sig = ModelSignature(inputs=[], outputs=[], features=features, task="regression")
    inputs, _ = prepare(sig, payload, max_rows)
    assert isinstance(inputs, np.ndarray)
    return inputs


def score(
    model: LoadedModel, payload: Any, max_rows: int = DEFAULT_MAX_ROWS, tally: RowTally | None = None
) -> ScoreResponse:
    """Validate a scoring request against ``model`` and return its predictions (``tally``: see prepare)."""
    inputs, response = prepare(model.signature, payload, max_rows, tally)
    raw = predict_matrix(model, inputs)
    response._raw = raw
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
    "RowTally",
    "ScoreResponse",
    "build_matrix",
    "epoch_days",
    "score",
]
