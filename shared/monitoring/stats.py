"""Two-sample drift statistics: pure numpy functions, checked against scipy in the unit tests.

Numeric comparisons work on a *step ECDF* of the reference (strictly increasing knots ``v`` with
exact cumulative counts ``c``, see :mod:`shared.monitoring.reference`) against the sorted current
sample, so one merge of two sorted arrays gives both the KS statistic and the Wasserstein distance.
When the knots hold every distinct reference value the results are exact; otherwise they carry the
error bounds stored with the reference (the bounds are derived in ``reference.py``).

KS p-values follow ``scipy.stats.ks_2samp(method="auto")``: exact (lattice paths, ties ignored as
scipy does) when both sizes are <= 10,000, else ``kstwo.sf(D, round(n m / (n + m)))``. One known
difference: where scipy's exact routine overflows it falls back to the asymptotic value with a
warning, while ours stays exact; that happens only for p-values far below any threshold.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import stats as sps

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

#: scipy.stats.ks_2samp(method="auto") is exact up to this sample size, asymptotic above it.
KS_EXACT_MAX_N = 10_000

#: Evidently's floor for the reference std when normalising the Wasserstein distance.
WASSERSTEIN_STD_FLOOR = 0.001

#: Share used in place of an empty bin in PSI (log of zero otherwise).
PSI_EMPTY_SHARE = 1e-4


@dataclass(frozen=True, slots=True)
class NumericComparison:
    """KS statistic and Wasserstein distance between a reference step ECDF and a current sample."""

    ks_statistic: float
    wasserstein: float


@dataclass(frozen=True, slots=True)
class TestOutcome:
    """A test's statistic and p-value."""

    statistic: float
    p_value: float


def ks_statistic(knots: FloatArray, cum_counts: IntArray, current_sorted: FloatArray) -> float:
    """The KS statistic of ``compare_numeric`` from two searches of the knots: O(k log m), no pass over m.

    Between knots v_j and v_j+1 the reference ECDF is the constant c_j/n while the current one
    rises from #{y <= v_j}/m to #{y < v_j+1}/m, so the supremum of the gap is at one of those two
    ends; before the first knot the reference is 0, after the last one both reach 1.
    """
    m = current_sorted.size
    below = np.searchsorted(current_sorted, knots, side="left")  # #{y < v_j}
    at_or_below = np.searchsorted(current_sorted, knots, side="right")  # #{y <= v_j}
    level = cum_counts / cum_counts[-1]  # F_ref on [v_j, v_j+1)
    start = np.abs(level - at_or_below / m)
    end = np.abs(level - np.append(below[1:], m) / m)
    return float(max(below[0] / m, start.max(), end.max()))


def compare_numeric(knots: FloatArray, cum_counts: IntArray, current_sorted: FloatArray) -> NumericComparison:
    """KS statistic and W1 distance between the reference step ECDF and a sorted current sample."""
    y = current_sorted
    m = y.size
    levels = np.concatenate([[0], cum_counts]) / cum_counts[-1]  # F_ref before knot 0, after knot j
    below = np.searchsorted(y, knots, side="left")  # current values < each knot
    at_or_below = np.searchsorted(y, knots, side="right")
    # F_ref at every current value y_i, written straight into the gap buffer: knot j is <= y_i
    # exactly when below[j] <= i, so the level is constant over runs of i. Few full-size temporaries:
    # at 1M rows allocation and page faults, not arithmetic, dominate.
    gap = np.repeat(levels, np.diff(np.concatenate([[0], below, [m]])))
    gap -= np.arange(1, m + 1, dtype=np.float64) / m
    np.abs(gap, out=gap)
    dx = np.diff(y)
    # KS: both ECDFs are right-continuous, so within a tie group only its last point is valid.
    ties = dx == 0
    ks_cur = float(gap[:-1][~ties].max(initial=gap[-1])) if ties.any() else float(gap.max())
    ks_knots = float(np.abs(cum_counts / cum_counts[-1] - at_or_below / m).max())
    # W1: integral of |F_ref - F_cur| over current intervals [y_i, y_i+1) at F_ref(y_i)
    # (einsum, not np.dot: BLAS threads fight polars' pool for the two cores) ...
    wasserstein = float(np.einsum("i,i->", gap[:-1], dx))
    if knots[-1] > y[-1]:
        wasserstein += float(gap[-1]) * float(knots[-1] - y[-1])
    # ... plus, for each knot strictly between current values (or outside their range), the change
    # of |F_ref - F_cur| from the knot to the interval's right end (telescopes over several knots).
    inside = below == at_or_below
    p = below[inside]
    f_cur = p / m
    right = np.where(p < m, y[np.minimum(p, m - 1)], knots[-1])
    idx = np.flatnonzero(inside)
    step = np.abs(levels[idx + 1] - f_cur) - np.abs(levels[idx] - f_cur)
    wasserstein += float(np.sum(step * (right - knots[inside])))
    return NumericComparison(ks_statistic=max(ks_cur, ks_knots), wasserstein=float(wasserstein))


def ks_p_value(statistic: float, n_ref: int, n_cur: int) -> float:
    """Two-sided KS p-value, exact or asymptotic as ``scipy.stats.ks_2samp(method='auto')`` picks."""
    if max(n_ref, n_cur) <= KS_EXACT_MAX_N:
        return ks_exact_p_value(statistic, n_ref, n_cur)
    en = round(n_ref * n_cur / (n_ref + n_cur))
    return float(np.clip(sps.kstwo.sf(statistic, en), 0.0, 1.0))


def ks_exact_p_value(statistic: float, n1: int, n2: int) -> float:
    """Exact two-sided P(D >= statistic) under H0 by lattice-path counting (no ties assumed)."""
    if n1 > n2:
        n1, n2 = n2, n1
    lcm = n1 * n2 // math.gcd(n1, n2)
    h = round(statistic * lcm)
    if h == 0:
        return 1.0
    a, b = lcm // n1, lcm // n2
    # A path (i, j) stays inside while |i*a - j*b| < h. A_s(i) is the number of inside paths to
    # (i, s-i) divided by C(s, i): it lies in [0, 1], so no overflow, and obeys
    # A_s(i) = i/s * A_{s-1}(i-1) + (s-i)/s * A_{s-1}(i). Buffers are offset by one (index 0 = 0).
    prev = np.zeros(n1 + 2)
    cur = np.zeros(n1 + 2)
    prev[1] = 1.0
    index = np.arange(n1 + 1, dtype=np.float64)
    prev_band = (0, 0)
    old_band = (0, -1)
    ab = a + b
    for s in range(1, n1 + n2 + 1):
        lo = max(0, s - n2, (s * b - h) // ab + 1)
        hi = min(n1, s, -(-(s * b + h) // ab) - 1)
        if lo > hi:
            return 1.0
        cur[old_band[0] + 1 : old_band[1] + 2] = 0.0
        # In place: A_s(i) = A_{s-1}(i) + i * (A_{s-1}(i-1) - A_{s-1}(i)) / s.
        out = cur[lo + 1 : hi + 2]
        np.subtract(prev[lo : hi + 1], prev[lo + 1 : hi + 2], out=out)
        out *= index[lo : hi + 1]
        out /= s
        out += prev[lo + 1 : hi + 2]
        old_band, prev_band = prev_band, (lo, hi)
        prev, cur = cur, prev
    return float(np.clip(1.0 - prev[n1 + 1], 0.0, 1.0))


def chi2_homogeneity(ref_counts: IntArray, cur_counts: IntArray, *, correction: bool = True) -> TestOutcome:
    """Chi-square test on the 2 x K table (reference, current), as scipy.stats.chi2_contingency."""
    keep = (ref_counts + cur_counts) > 0
    table = np.vstack([ref_counts[keep], cur_counts[keep]]).astype(np.float64)
    if table.shape[1] < 2:
        return TestOutcome(statistic=0.0, p_value=1.0)
    expected = table.sum(axis=1, keepdims=True) * table.sum(axis=0, keepdims=True) / table.sum()
    diff = table - expected
    dof = table.shape[1] - 1
    if dof == 1 and correction:
        # Yates' continuity correction, which chi2_contingency applies by default when dof == 1.
        diff = np.sign(diff) * np.maximum(np.abs(diff) - 0.5, 0.0)
    statistic = float((diff**2 / expected).sum())
    return TestOutcome(statistic=statistic, p_value=float(sps.chi2.sf(statistic, dof)))


def z_test_proportions(ref_hits: int, n_ref: int, cur_hits: int, n_cur: int) -> TestOutcome:
    """Two-sided pooled z-test that two proportions are equal."""
    pooled = (ref_hits + cur_hits) / (n_ref + n_cur)
    variance = pooled * (1.0 - pooled) * (1.0 / n_ref + 1.0 / n_cur)
    if variance <= 0.0:
        return TestOutcome(statistic=0.0, p_value=1.0)
    z = (ref_hits / n_ref - cur_hits / n_cur) / math.sqrt(variance)
    return TestOutcome(statistic=z, p_value=float(2.0 * sps.norm.sf(abs(z))))


def jensen_shannon(ref_counts: IntArray | FloatArray, cur_counts: IntArray | FloatArray) -> float:
    """Jensen-Shannon distance (natural log), as scipy.spatial.distance.jensenshannon."""
    p = np.asarray(ref_counts, dtype=np.float64)
    q = np.asarray(cur_counts, dtype=np.float64)
    p = p / p.sum()
    q = q / q.sum()
    m = 0.5 * (p + q)
    divergence = 0.5 * (_kl(p, m) + _kl(q, m))
    return math.sqrt(max(divergence, 0.0))


def _kl(p: FloatArray, m: FloatArray) -> float:
    """Kullback-Leibler divergence KL(p || m) with 0 log 0 = 0."""
    mask = p > 0
    return float(np.sum(p[mask] * np.log(p[mask] / m[mask])))


def psi(ref_counts: IntArray | FloatArray, cur_counts: IntArray | FloatArray) -> float:
    """Population stability index over matching bins; empty bins count as a 1e-4 share."""
    p = np.asarray(ref_counts, dtype=np.float64)
    q = np.asarray(cur_counts, dtype=np.float64)
    p = np.maximum(p / p.sum(), PSI_EMPTY_SHARE)
    q = np.maximum(q / q.sum(), PSI_EMPTY_SHARE)
    return float(np.sum((q - p) * np.log(q / p)))


def benjamini_hochberg(p_values: FloatArray) -> FloatArray:
    """Benjamini-Hochberg adjusted p-values (step-up), as scipy.stats.false_discovery_control."""
    p = np.asarray(p_values, dtype=np.float64)
    m = p.size
    if m == 0:
        return p.copy()
    order = np.argsort(p)
    scaled = p[order] * m / np.arange(1, m + 1)
    adjusted_sorted = np.minimum(np.minimum.accumulate(scaled[::-1])[::-1], 1.0)
    adjusted = np.empty(m)
    adjusted[order] = adjusted_sorted
    return adjusted
