"""Drift runs: test choice, false-alarm rate, detection, robustness, multiple testing, reports."""

from __future__ import annotations

import json

import numpy as np
import polars as pl
import pytest
from scipy import stats as sps

from shared.errors import ValidationError
from shared.monitoring import (
    ColumnDrift,
    ColumnDriftSpec,
    DriftConfig,
    DriftReport,
    ReferenceConfig,
    ReferenceProfile,
    compute_drift,
    render_html,
)
from shared.monitoring.drift import _decide_p_values

CATEGORIES = ["a", "b", "c", "d"]
SHARES = [0.4, 0.3, 0.2, 0.1]


def _frame(
    n: int, seed: int, *, shift: float = 0.0, shifted: int = 0, shares: list[float] | None = None
) -> pl.DataFrame:
    """Six numeric features (the first ``shifted`` moved by ``shift`` std), a category, a flag, a score."""
    rng = np.random.default_rng(seed)
    data: dict[str, object] = {f"x{i}": rng.normal(shift if i < shifted else 0.0, 1.0, n) for i in range(6)}
    data["cat"] = rng.choice(CATEGORIES, n, p=shares or SHARES)
    data["flag"] = rng.random(n) < 0.3
    data["score"] = rng.beta(2, 5, n)
    return pl.DataFrame(data)


@pytest.fixture(scope="module")
def small_ref() -> ReferenceProfile:
    return ReferenceProfile.from_frame(_frame(500, seed=1))


@pytest.fixture(scope="module")
def large_ref() -> ReferenceProfile:
    return ReferenceProfile.from_frame(_frame(20_000, seed=2))


def _by_name(report: DriftReport) -> dict[str, ColumnDrift]:
    return {r.column: r for r in report.columns}


def test_tests_are_chosen_by_kind_and_reference_size(
    small_ref: ReferenceProfile, large_ref: ReferenceProfile
) -> None:
    small = _by_name(compute_drift(small_ref, _frame(400, seed=5)).report)
    large = _by_name(compute_drift(large_ref, _frame(400, seed=5)).report)
    assert (small["x0"].test, small["cat"].test, small["flag"].test) == ("ks", "chi2", "z")
    assert (large["x0"].test, large["cat"].test, large["flag"].test) == (
        "wasserstein",
        "jensenshannon",
        "jensenshannon",
    )
    assert small["x0"].threshold == 0.05 and large["x0"].threshold == 0.1
    assert small["x0"].error_bound == 0.0  # a 500-row reference is stored exactly


@pytest.mark.parametrize("reference", ["small_ref", "large_ref"])
def test_false_alarm_rate_below_five_percent(reference: str, request: pytest.FixtureRequest) -> None:
    profile: ReferenceProfile = request.getfixturevalue(reference)
    alarms = sum(compute_drift(profile, _frame(1000, seed=100 + i)).report.dataset_drift for i in range(100))
    assert alarms < 5


@pytest.mark.parametrize("reference", ["small_ref", "large_ref"])
def test_known_shift_is_detected(reference: str, request: pytest.FixtureRequest) -> None:
    profile: ReferenceProfile = request.getfixturevalue(reference)
    current = _frame(2000, seed=7, shift=0.5, shifted=4, shares=[0.1, 0.3, 0.2, 0.4])
    report = compute_drift(profile, current).report
    rows = _by_name(report)
    assert [rows[f"x{i}"].drifted for i in range(6)] == [True] * 4 + [False] * 2
    assert rows["cat"].drifted and not rows["flag"].drifted
    assert report.n_drifted == 5 and report.n_tested == 9
    assert report.dataset_drift and report.status == "drift"


def test_p_value_columns_use_scipy_equivalent_numbers(small_ref: ReferenceProfile) -> None:
    current = _frame(800, seed=9)
    row = _by_name(compute_drift(small_ref, current).report)["x1"]
    reference_values = _frame(500, seed=1)["x1"].to_numpy()
    expected = sps.ks_2samp(reference_values, current["x1"].to_numpy())
    assert row.statistic == pytest.approx(expected.statistic)
    assert row.p_value == pytest.approx(expected.pvalue, abs=1e-9)


def test_benjamini_hochberg_decides_on_adjusted_p_values() -> None:
    def rows() -> list[ColumnDrift]:
        return [
            ColumnDrift(
                column=f"c{i}",
                role="feature",
                kind="numeric",
                status="ok",
                n_ref=1,
                p_value=p,
                threshold=0.05,
            )
            for i, p in enumerate([0.001, 0.008, 0.039, 0.041, 0.60])
        ]

    corrected = rows()
    _decide_p_values(corrected, correct=True)
    assert [r.drifted for r in corrected] == [True, True, False, False, False]
    assert corrected[2].p_value_adjusted == pytest.approx(0.05125)
    raw = rows()
    _decide_p_values(raw, correct=False)
    assert [r.drifted for r in raw] == [True, True, True, True, False]


def test_multiple_testing_can_be_switched_off(small_ref: ReferenceProfile) -> None:
    current = _frame(1000, seed=11)
    on = compute_drift(small_ref, current).report
    off = compute_drift(small_ref, current, DriftConfig(multiple_testing="none")).report
    assert all(r.p_value_adjusted == r.p_value for r in off.columns if r.p_value is not None)
    assert all((r.p_value_adjusted or 0) >= (r.p_value or 0) for r in on.columns)


@pytest.mark.parametrize("rows", [0, 1, 29])
def test_tiny_windows_are_insufficient_never_an_alarm(small_ref: ReferenceProfile, rows: int) -> None:
    current = _frame(rows, seed=3, shift=10.0, shifted=6, shares=[0.0, 0.0, 0.0, 1.0])
    result = compute_drift(small_ref, current, DriftConfig(prediction_column="score"))
    report = result.report
    assert report.status == "insufficient_data"
    assert not report.dataset_drift and report.prediction_drift is False and report.n_drifted == 0
    assert all(r.status == "insufficient_data" for r in report.columns)
    assert "<svg" in render_html(report, small_ref, result.current_summary)


def test_empty_frame_without_columns_is_insufficient(small_ref: ReferenceProfile) -> None:
    report = compute_drift(small_ref, pl.DataFrame()).report
    assert report.status == "insufficient_data" and report.n_missing == len(report.columns)


def test_missing_columns_are_reported_and_left_out_of_the_share(small_ref: ReferenceProfile) -> None:
    current = _frame(1000, seed=4, shift=1.0, shifted=2).drop("x5", "cat")
    report = compute_drift(small_ref, current).report
    rows = _by_name(report)
    assert rows["x5"].status == "missing" and rows["cat"].status == "missing"
    assert not rows["x5"].drifted and report.n_missing == 2 and report.n_tested == 7
    assert report.share_drifted == pytest.approx(2 / 7)


def test_new_categories_are_counted_and_tested(
    small_ref: ReferenceProfile, large_ref: ReferenceProfile
) -> None:
    rng = np.random.default_rng(5)
    cats = rng.choice([*CATEGORIES, "zz", "yy"], 1000, p=[0.3, 0.25, 0.15, 0.1, 0.15, 0.05])
    current = _frame(1000, seed=6).with_columns(pl.Series("cat", cats))
    for profile in (small_ref, large_ref):
        row = _by_name(compute_drift(profile, current).report)["cat"]
        assert row.new_categories == ["zz", "yy"]
        assert row.n_new_category_rows == int(np.isin(cats, ["zz", "yy"]).sum())
        assert row.drifted and row.n_cur == 1000


def test_nan_inf_and_nulls_are_dropped_and_counted(small_ref: ReferenceProfile) -> None:
    base = _frame(600, seed=8)
    x = base["x0"].to_numpy().copy()
    x[:5], x[5:8], x[8:10] = np.nan, np.inf, -np.inf
    dirty = base.with_columns(pl.Series("x0", x)).with_columns(
        pl.when(pl.int_range(pl.len()) >= 590).then(None).otherwise(pl.col("x0")).alias("x0"),
        pl.when(pl.int_range(pl.len()) < 20).then(None).otherwise(pl.col("cat")).alias("cat"),
    )
    rows = _by_name(compute_drift(small_ref, dirty).report)
    assert (rows["x0"].n_nonfinite, rows["x0"].n_null, rows["x0"].n_cur) == (10, 10, 580)
    assert (rows["cat"].n_null, rows["cat"].n_cur) == (20, 580)
    clean = dirty.filter(pl.col("x0").is_finite())
    expected = sps.ks_2samp(_frame(500, seed=1)["x0"].to_numpy(), clean["x0"].to_numpy())
    assert rows["x0"].statistic == pytest.approx(expected.statistic)
    assert any("NaN/inf" in note for note in rows["x0"].notes)


def test_a_column_of_mostly_non_finite_values_is_insufficient(small_ref: ReferenceProfile) -> None:
    current = _frame(500, seed=9).with_columns(pl.lit(float("nan")).alias("x2"))
    report = compute_drift(small_ref, current).report
    row = _by_name(report)["x2"]
    assert row.status == "insufficient_data" and row.n_nonfinite == 500 and not row.drifted
    assert report.n_tested == 8


def test_prediction_drift_uses_the_same_machinery(large_ref: ReferenceProfile) -> None:
    current = _frame(3000, seed=10).with_columns(pl.col("score") * 1.6)
    report = compute_drift(large_ref, current, DriftConfig(prediction_column="score")).report
    assert report.prediction is not None and report.prediction.role == "prediction"
    assert report.prediction.test == "wasserstein" and report.prediction_drift is True
    assert "score" not in _by_name(report) and not report.dataset_drift and report.status == "drift"


def test_psi_and_per_column_overrides(large_ref: ReferenceProfile) -> None:
    current = _frame(3000, seed=12, shift=0.5, shifted=1)
    cfg = DriftConfig(
        numeric_distance="psi",
        specs={"x1": ColumnDriftSpec(test="ks"), "cat": ColumnDriftSpec(test="psi", threshold=0.2)},
    )
    rows = _by_name(compute_drift(large_ref, current, cfg).report)
    assert rows["x0"].test == "psi" and rows["x0"].drifted and rows["x0"].threshold == 0.1
    assert rows["x1"].test == "ks" and rows["x1"].p_value is not None
    assert rows["x1"].error_bound == large_ref.columns["x1"].ecdf_error  # type: ignore[union-attr]
    assert rows["cat"].test == "psi" and rows["cat"].threshold == 0.2
    with pytest.raises(ValidationError):
        compute_drift(large_ref, current, DriftConfig(specs={"cat": ColumnDriftSpec(test="ks")}))
    with pytest.raises(ValidationError):
        compute_drift(large_ref, current, DriftConfig(columns=["nope"]))


def test_numeric_categories_match_across_int_and_float_dtypes() -> None:
    ref = ReferenceProfile.from_frame(pl.DataFrame({"level": [1, 2, 3, 1, 2, 3] * 50}))
    current = pl.DataFrame({"level": [1.0, 2.0, 3.0] * 40})
    row = compute_drift(ref, current).report.columns[0]
    assert row.kind == "categorical" and row.new_categories == [] and not row.drifted


def test_report_json_and_self_contained_html(small_ref: ReferenceProfile) -> None:
    result = compute_drift(
        small_ref, _frame(800, seed=13, shift=1.0, shifted=3), DriftConfig(prediction_column="score")
    )
    rows = [*result.report.columns, result.report.prediction]
    assert all(type(r.statistic) is float for r in rows if r is not None)  # no numpy scalars leak out
    text = result.report.to_json()
    assert DriftReport.model_validate_json(text) == result.report
    assert json.loads(text)["columns"][0]["test"] == "ks"
    page = render_html(result.report, small_ref, result.current_summary)
    assert page.startswith("<!DOCTYPE html>") and page.count("<svg") == 9
    assert "<script" not in page and "<link" not in page and "src=" not in page


def test_a_current_dtype_that_cannot_be_compared_is_reported(small_ref: ReferenceProfile) -> None:
    current = _frame(600, seed=14).with_columns(pl.col("x3").cast(pl.String))
    report = compute_drift(small_ref, current).report
    row = _by_name(report)["x3"]
    assert row.status == "type_mismatch" and not row.drifted
    assert report.n_type_mismatch == 1 and report.n_tested == 8
    assert any("type mismatch" in note for note in report.notes)


def test_constant_reference_column_uses_the_std_floor() -> None:
    ref = ReferenceProfile.from_frame(
        pl.DataFrame({"k": [2.5] * 2000}), ReferenceConfig(categorical_max_unique=0)
    )
    same = compute_drift(ref, pl.DataFrame({"k": [2.5] * 100})).report.columns[0]
    moved = compute_drift(ref, pl.DataFrame({"k": [2.5] * 99 + [3.5]})).report.columns[0]
    assert same.test == "wasserstein" and same.distance == 0.0 and not same.drifted
    assert moved.distance == pytest.approx(0.01 / 0.001) and moved.drifted
