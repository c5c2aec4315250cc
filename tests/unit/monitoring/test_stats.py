"""Drift statistics agree with scipy (property tests) and with hand-checked examples.

Tolerances: statistics and distances agree to 1e-9 (relative + absolute, float summation order);
KS p-values to 1e-9 absolute (ours is 1 - P(inside), scipy's sums outside paths: both are exact up
to rounding, ours loses relative precision only below ~1e-12 where the verdict cannot change).
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats as sps
from scipy.spatial.distance import jensenshannon as scipy_js

from shared.monitoring import stats

TOL = 1e-9

samples = st.lists(
    st.one_of(st.integers(-20, 20).map(float), st.floats(-1e3, 1e3, allow_nan=False)),
    min_size=1,
    max_size=300,
)


def _ecdf(values: list[float]) -> tuple[np.ndarray, np.ndarray]:
    """Exact step ECDF (every distinct value a knot), as the reference stores small columns."""
    knots, counts = np.unique(np.asarray(values, dtype=np.float64), return_counts=True)
    return knots, np.cumsum(counts).astype(np.int64)


@settings(max_examples=150, deadline=None)
@given(ref=samples, cur=samples)
def test_ks_statistic_and_p_value_match_scipy(ref: list[float], cur: list[float]) -> None:
    knots, cum = _ecdf(ref)
    ours = stats.compare_numeric(knots, cum, np.sort(np.asarray(cur)))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        theirs = sps.ks_2samp(ref, cur, method="auto")
    assert ours.ks_statistic == pytest.approx(theirs.statistic, rel=TOL, abs=TOL)
    # the knots-only form the drift run uses gives the same statistic
    assert stats.ks_statistic(knots, cum, np.sort(np.asarray(cur))) == pytest.approx(
        ours.ks_statistic, abs=1e-12
    )
    p = stats.ks_p_value(ours.ks_statistic, len(ref), len(cur))
    if any("Exact calculation unsuccessful" in str(w.message) for w in caught):
        return  # scipy fell back to the asymptotic value; ours stays exact (see the next test)
    assert p == pytest.approx(theirs.pvalue, abs=TOL)


@pytest.mark.parametrize("n", [2, 7, 50, 300])
def test_ks_exact_where_scipy_falls_back_to_asymptotic(n: int) -> None:
    # Every path of an n x n lattice reaches |i - j| = 1, so P(D >= 1/n) = 1 exactly; scipy's closed
    # form for equal sizes leaves [0, 1] here, and it returns the asymptotic value (< 1) instead.
    assert stats.ks_exact_p_value(1 / n, n, n) == 1.0


@pytest.mark.parametrize("n", [3, 7, 50])
def test_ks_exact_equal_sizes_match_scipy_exact(n: int) -> None:
    expected = sps.ks_2samp(np.arange(n), np.arange(n) + 1.5, method="exact").pvalue
    assert stats.ks_exact_p_value(2 / n, n, n) == pytest.approx(expected, abs=TOL)


@pytest.mark.parametrize(("n1", "n2"), [(1000, 10_000), (10_000, 10_000), (800, 20_000), (30_000, 12_000)])
def test_ks_p_value_matches_scipy_at_the_exact_asymptotic_boundary(n1: int, n2: int) -> None:
    rng = np.random.default_rng(n1 + n2)
    ref, cur = rng.normal(size=n1), rng.normal(0.03, size=n2)
    knots, cum = _ecdf(ref.tolist())
    d = stats.compare_numeric(knots, cum, np.sort(cur)).ks_statistic
    theirs = sps.ks_2samp(ref, cur)
    assert d == pytest.approx(theirs.statistic, abs=TOL)
    assert stats.ks_p_value(d, n1, n2) == pytest.approx(theirs.pvalue, abs=TOL)


@settings(max_examples=150, deadline=None)
@given(ref=samples, cur=samples)
def test_wasserstein_matches_scipy(ref: list[float], cur: list[float]) -> None:
    knots, cum = _ecdf(ref)
    ours = stats.compare_numeric(knots, cum, np.sort(np.asarray(cur))).wasserstein
    assert ours == pytest.approx(sps.wasserstein_distance(ref, cur), rel=TOL, abs=TOL)


tables = st.integers(2, 8).flatmap(
    lambda k: st.tuples(
        st.lists(st.integers(0, 500), min_size=k, max_size=k),
        st.lists(st.integers(0, 500), min_size=k, max_size=k),
    )
)


@settings(max_examples=200, deadline=None)
@given(table=tables)
def test_chi_square_matches_chi2_contingency(table: tuple[list[int], list[int]]) -> None:
    ref, cur = np.asarray(table[0]), np.asarray(table[1])
    keep = (ref + cur) > 0
    if ref.sum() == 0 or cur.sum() == 0 or keep.sum() < 2:
        return  # chi2_contingency rejects tables with an empty row or column
    ours = stats.chi2_homogeneity(ref, cur)
    theirs = sps.chi2_contingency(np.vstack([ref[keep], cur[keep]]))
    assert ours.statistic == pytest.approx(theirs.statistic, rel=TOL, abs=TOL)
    assert ours.p_value == pytest.approx(theirs.pvalue, rel=TOL, abs=TOL)


@settings(max_examples=100, deadline=None)
@given(n1=st.integers(1, 5000), n2=st.integers(1, 5000), a=st.floats(0, 1), b=st.floats(0, 1))
def test_z_test_equals_uncorrected_chi_square_on_2x2(n1: int, n2: int, a: float, b: float) -> None:
    x1, x2 = round(a * n1), round(b * n2)
    ours = stats.z_test_proportions(x1, n1, x2, n2)
    table = np.array([[x1, n1 - x1], [x2, n2 - x2]])
    if (table.sum(axis=0) == 0).any():
        assert ours.p_value == 1.0
        return
    theirs = sps.chi2_contingency(table, correction=False)
    assert ours.statistic**2 == pytest.approx(theirs.statistic, rel=1e-7, abs=TOL)
    assert ours.p_value == pytest.approx(theirs.pvalue, rel=1e-7, abs=TOL)


@settings(max_examples=200, deadline=None)
@given(table=tables)
def test_jensen_shannon_matches_scipy(table: tuple[list[int], list[int]]) -> None:
    ref, cur = np.asarray(table[0], dtype=float), np.asarray(table[1], dtype=float)
    if ref.sum() == 0 or cur.sum() == 0:
        return
    assert stats.jensen_shannon(ref, cur) == pytest.approx(float(scipy_js(ref, cur)), rel=1e-7, abs=1e-7)


def test_psi_known_value_and_zero_on_identical_shares() -> None:
    assert stats.psi(np.array([10, 20, 70]), np.array([1, 2, 7])) == pytest.approx(0.0)
    expected = (0.5 - 0.25) * np.log(0.5 / 0.25) + (0.5 - 0.75) * np.log(0.5 / 0.75)
    assert stats.psi(np.array([25, 75]), np.array([50, 50])) == pytest.approx(expected)
    # An empty bin counts as a 1e-4 share instead of producing infinity.
    assert np.isfinite(stats.psi(np.array([100, 0]), np.array([50, 50])))


def test_benjamini_hochberg_known_example() -> None:
    adjusted = stats.benjamini_hochberg(np.array([0.01, 0.04, 0.03, 0.005]))
    np.testing.assert_allclose(adjusted, [0.02, 0.04, 0.04, 0.02])
    # Classic example: only the two smallest survive alpha = 0.05 (BH cut-off i * 0.05 / 5).
    p = np.array([0.001, 0.008, 0.039, 0.041, 0.60])
    assert (stats.benjamini_hochberg(p) < 0.05).tolist() == [True, True, False, False, False]


@settings(max_examples=100, deadline=None)
@given(p=st.lists(st.floats(0, 1), min_size=1, max_size=60))
def test_benjamini_hochberg_matches_scipy(p: list[float]) -> None:
    np.testing.assert_allclose(
        stats.benjamini_hochberg(np.asarray(p)), sps.false_discovery_control(p), rtol=1e-12, atol=1e-15
    )


def test_empty_family_and_degenerate_tests() -> None:
    assert stats.benjamini_hochberg(np.array([])).size == 0
    assert stats.z_test_proportions(0, 10, 0, 10).p_value == 1.0
    assert stats.chi2_homogeneity(np.array([5, 0]), np.array([7, 0])).p_value == 1.0
    assert stats.ks_exact_p_value(0.0, 5, 7) == 1.0
