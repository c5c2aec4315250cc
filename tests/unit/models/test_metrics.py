"""The one metric registry: what the spec accepts is exactly what the evaluator computes and gates decide."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from sklearn.metrics import brier_score_loss, precision_score, recall_score

from shared.errors import ValidationError
from shared.models.evaluate import evaluate_model
from shared.models.gates import apply_gates, parse_gates
from shared.models.metrics import (
    MEASURED,
    REGISTRY,
    classification_metrics,
    lookup,
    metrics_for,
    regression_metrics,
)
from shared.pipeline.spec import load_spec

ROOT = Path(__file__).resolve().parents[3]
TASKS = ("classification", "regression")


def _spec(task: str, metric: str, **bound: float) -> dict[str, Any]:
    example = "breast_cancer.yaml" if task == "classification" else "diabetes.yaml"
    data = yaml.safe_load((ROOT / "examples" / example).read_text())
    # Every metric's range holds 0, so ``min: 0`` is a reachable bound for all of them.
    data["gates"] = {"absolute": {metric: bound or {"min": 0.0}}}
    return data


def test_every_classification_metric_computes_on_a_tiny_result() -> None:
    y = np.array([0, 1, 1, 0, 1])
    probs = np.array([[0.8, 0.2], [0.3, 0.7], [0.6, 0.4], [0.9, 0.1], [0.2, 0.8]])
    values = classification_metrics(y, probs)
    computed = set(metrics_for("classification")) - set(MEASURED)
    assert set(values) == computed
    pred = probs.argmax(axis=1)
    assert values["precision"] == pytest.approx(precision_score(y, pred)) == 1.0
    assert values["recall"] == pytest.approx(recall_score(y, pred)) == pytest.approx(2 / 3)
    assert values["brier"] == pytest.approx(brier_score_loss(y, probs[:, 1]))
    for name, value in values.items():
        assert REGISTRY[name].check_bound(value) is None, name


def test_multiclass_metrics_stay_in_their_ranges() -> None:
    y = np.array([0, 1, 2, 2, 1, 0])
    probs = np.array(
        [[0.7, 0.2, 0.1], [0.1, 0.8, 0.1], [0.2, 0.2, 0.6], [0.5, 0.1, 0.4], [0.3, 0.4, 0.3], [0.4, 0.4, 0.2]]
    )
    values = classification_metrics(y, probs)
    assert set(values) == set(metrics_for("classification")) - set(MEASURED)
    for name, value in values.items():
        assert REGISTRY[name].check_bound(value) is None, name


def test_every_regression_metric_computes_on_a_tiny_result() -> None:
    y = np.array([1.0, 2.0, 4.0, 8.0])
    pred = np.array([1.5, 2.0, 3.0, 8.0])
    values = regression_metrics(y, pred)
    assert set(values) == set(metrics_for("regression")) - set(MEASURED)
    assert values["mse"] == pytest.approx((0.25 + 1.0) / 4)
    assert values["rmse"] == pytest.approx(values["mse"] ** 0.5)
    assert values["mape"] == pytest.approx((0.5 + 0.25) / 4)


def test_mape_leaves_out_zero_targets_instead_of_exploding() -> None:
    values = regression_metrics(np.array([0.0, 2.0]), np.array([1.0, 1.0]))
    assert values["mape"] == pytest.approx(0.5)
    assert "mape" not in regression_metrics(np.array([0.0]), np.array([1.0]))


@pytest.mark.parametrize("fixture", ["classifier", "regressor"])
def test_the_evaluator_produces_every_metric_the_spec_accepts(
    fixture: str, request: pytest.FixtureRequest
) -> None:
    trained = request.getfixturevalue(fixture)
    values = evaluate_model(trained.model, trained.holdout, latency_runs=5).values
    task = trained.model.signature.task
    assert set(metrics_for(task)) <= set(values)
    gates = parse_gates([{"kind": "threshold", "metric": m, "threshold": 0.0} for m in metrics_for(task)])
    decisions = apply_gates(gates, values)
    assert not [d.reason for d in decisions if "not computed" in d.reason]


@pytest.mark.parametrize("task", TASKS)
def test_the_spec_accepts_exactly_the_registry_names_of_its_task(task: str) -> None:
    for name, entry in REGISTRY.items():
        if task in entry.tasks:
            assert load_spec(_spec(task, name)).gates.absolute[name] is not None
        else:
            with pytest.raises(ValidationError) as err:
                load_spec(_spec(task, name))
            assert err.value.field == f"gates.absolute.{name}"
    with pytest.raises(ValidationError):
        lookup("specificity", task)


def test_a_precision_gate_valid_in_the_spec_is_decided_by_the_gates() -> None:
    spec = load_spec(_spec("classification", "precision", min=0.9))
    gates = parse_gates(
        [{"kind": "threshold", "metric": "precision", "min": spec.gates.absolute["precision"].min}]
    )
    [decision] = apply_gates(gates, {"precision": 0.85})
    assert decision.status == "failed" and "0.85 < min 0.9" in decision.reason


def test_an_unreachable_bound_is_refused_with_the_metric_range() -> None:
    with pytest.raises(ValidationError) as err:
        load_spec(_spec("regression", "r2", min=1.5))
    assert err.value.field == "gates.absolute.r2.min" and "[-inf, 1]" in str(err.value)
    with pytest.raises(ValidationError) as err:
        load_spec(_spec("classification", "precision", min=1.2))
    assert err.value.field == "gates.absolute.precision.min"


def test_validating_a_spec_does_not_import_scikit_learn() -> None:
    code = (
        "import sys; from shared.pipeline.spec import load_spec_file; from shared.models import gates;"
        f"load_spec_file({str(ROOT / 'examples' / 'breast_cancer.yaml')!r});"
        "print('sklearn' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@pytest.mark.parametrize("seed", range(12))
def test_numpy_metrics_equal_scikit_learn_on_seeded_results(seed: int) -> None:
    """The metrics are numpy-only; scikit-learn is the oracle (ties, float32, multiclass, a missing class)."""
    from sklearn import metrics as sk

    rng = np.random.default_rng(seed)
    n, k = int(rng.integers(5, 400)), int(rng.choice([2, 2, 3, 5]))
    y = rng.integers(0, k, n)
    if seed % 4 == 3 and k > 2:
        y[y == k - 1] = 0  # a class never seen in the labels: macro averages over what is present
    raw = rng.random((n, k)).astype(np.float32 if seed % 2 else np.float64)
    if seed % 3 == 0:
        raw = np.round(raw, 1) + 0.01  # many tied scores
    probs = raw / raw.sum(axis=1, keepdims=True)
    values = classification_metrics(y, probs)
    pred = probs.argmax(axis=1)
    avg: dict[str, Any] = {"average": "binary", "pos_label": 1} if k == 2 else {"average": "macro"}
    assert values["accuracy"] == pytest.approx(sk.accuracy_score(y, pred), abs=1e-12)
    for name, fn in (("f1", sk.f1_score), ("precision", sk.precision_score), ("recall", sk.recall_score)):
        assert values[name] == pytest.approx(fn(y, pred, zero_division=0, **avg), abs=1e-12), name
    norm = probs / probs.sum(axis=1, keepdims=True)
    assert values["log_loss"] == pytest.approx(sk.log_loss(y, norm, labels=list(range(k))), rel=1e-6)
    if k == 2:
        assert values["auc"] == pytest.approx(sk.roc_auc_score(y, norm[:, 1]), abs=1e-12)
    elif len(np.unique(y)) == k:
        expected = sk.roc_auc_score(y, norm, multi_class="ovr", average="macro")
        assert values["auc"] == pytest.approx(expected, abs=1e-12)
    else:
        assert "auc" not in values

    target = rng.normal(size=n) * 10
    guess = target + rng.normal(size=n)
    reg = regression_metrics(target, guess)
    assert reg["mse"] == pytest.approx(sk.mean_squared_error(target, guess), rel=1e-12)
    assert reg["mae"] == pytest.approx(sk.mean_absolute_error(target, guess), rel=1e-12)
    assert reg["r2"] == pytest.approx(sk.r2_score(target, guess), rel=1e-9)
    assert regression_metrics(np.ones(3), np.ones(3))["r2"] == sk.r2_score(np.ones(3), np.ones(3)) == 1.0
    assert regression_metrics(np.ones(3), np.zeros(3))["r2"] == sk.r2_score(np.ones(3), np.zeros(3)) == 0.0


def test_a_command_jobs_metrics_do_not_import_scikit_learn() -> None:
    code = (
        "import sys, numpy as np;"
        "from shared.models.metrics import classification_metrics, regression_metrics;"
        "classification_metrics(np.array([0, 1, 1]), np.array([[0.6, 0.4], [0.3, 0.7], [0.5, 0.5]]));"
        "regression_metrics(np.array([1.0, 2.0]), np.array([1.5, 2.5]));"
        "print('sklearn' in sys.modules, 'scipy' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False False"
