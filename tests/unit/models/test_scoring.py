"""Scoring requests: validated against the model's features, predictions match the model."""

from __future__ import annotations

import numpy as np
import pytest

from shared.errors import ValidationError
from shared.models.frames import model_inputs
from shared.models.scoring import build_matrix, score


def _rows(trained, n: int = 3) -> list[dict]:
    return trained.holdout.select(trained.model.signature.features).head(n).to_dicts()


def test_classifier_returns_label_and_probability(classifier) -> None:
    rows = _rows(classifier, 5)
    response = score(classifier.model, {"rows": rows})
    probs = classifier.model.run(model_inputs(classifier.holdout.head(5), classifier.model.signature))
    expected = probs["probabilities"]
    assert len(response.predictions) == 5
    for pred, p in zip(response.predictions, expected, strict=True):
        assert pred.label == int(np.argmax(p))
        assert pred.probability == pytest.approx(float(p.max()), abs=1e-6)
        assert set(pred.probabilities or {}) == {"0", "1"}


def test_regressor_returns_values_in_row_order(regressor) -> None:
    rows = _rows(regressor, 4)
    response = score(regressor.model, rows)
    expected = regressor.model.run(model_inputs(regressor.holdout.head(4), regressor.model.signature))
    assert [p.value for p in response.predictions] == pytest.approx(
        expected["value"].reshape(-1).tolist(), rel=1e-6
    )
    assert all(p.label is None for p in response.predictions)


@pytest.mark.parametrize(
    ("mutate", "field", "message"),
    [
        (lambda r: r[0].update(mean_area="big"), "rows[0].mean_area", "must be a number"),
        (lambda r: r[1].update(mean_area=True), "rows[1].mean_area", "must be a number"),
        (lambda r: r[1].update(mean_area=float("inf")), "rows[1].mean_area", "finite"),
        (lambda r: r.__setitem__(1, [1.0, 2.0]), "rows[1]", "must be an object"),
    ],
)
def test_bad_rows_name_the_feature_and_row(classifier, mutate, field: str, message: str) -> None:
    rows = _rows(classifier)
    mutate(rows)
    with pytest.raises(ValidationError, match=message) as err:
        score(classifier.model, {"rows": rows})
    assert err.value.field == field


def test_nulls_and_left_out_features_are_imputed_unknown_fields_ignored(classifier) -> None:
    rows = _rows(classifier)
    rows[0]["mean_area"] = None
    rows[2].pop("mean_texture")
    rows[1]["colour"] = 1.0
    response = score(classifier.model, {"rows": rows})
    assert len(response.predictions) == 3
    assert response.nulls == {"mean_area": 1, "mean_texture": 1}
    assert response.ignored_fields == ["colour"]
    with pytest.raises(ValidationError, match="unknown feature 'colour'") as err:
        score(classifier.model, {"rows": rows, "strict": True})
    assert err.value.field == "rows[1].colour"
    with pytest.raises(ValidationError, match="strict must be true or false"):
        score(classifier.model, {"rows": rows, "strict": "yes"})


@pytest.mark.parametrize(
    ("mutate", "field", "message"),
    [
        (lambda r: r[2].pop("b"), "rows[2].b", "missing feature 'b'"),
        (lambda r: r[0].update(a=None), "rows[0].a", "must be a number"),
        (lambda r: r[1].update(c=1.0), "rows[1].c", "unknown feature"),
    ],
)
def test_matrix_models_still_need_every_feature(mutate, field: str, message: str) -> None:
    # torch_mlp/command models take one float matrix and cannot impute: a null is a bad row.
    rows = [{"a": 1.0, "b": 2.0} for _ in range(3)]
    mutate(rows)
    with pytest.raises(ValidationError, match=message) as err:
        build_matrix({"rows": rows, "strict": True}, ["a", "b"])
    assert err.value.field == field


@pytest.mark.parametrize("payload", [[], {"rows": []}, {"data": []}, "rows", {"rows": {"a": 1}}])
def test_bad_request_shapes(classifier, payload) -> None:
    with pytest.raises(ValidationError) as err:
        score(classifier.model, payload)
    assert err.value.field == "rows"


def test_row_count_limit(classifier) -> None:
    rows = _rows(classifier, 3)
    with pytest.raises(ValidationError, match="at most 2"):
        score(classifier.model, rows, max_rows=2)
