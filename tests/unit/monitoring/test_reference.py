"""Reference profile: kinds, exactness, the sketch's stated error bounds, JSON round trip."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats as sps

from shared.errors import ValidationError
from shared.monitoring import ReferenceConfig, ReferenceProfile
from shared.monitoring.reference import CategoricalReference, NumericReference, ecdf_sketch
from shared.monitoring.stats import compare_numeric


def _numeric(profile: ReferenceProfile, name: str) -> NumericReference:
    ref = profile.columns[name]
    assert isinstance(ref, NumericReference)
    return ref


def test_kinds_are_inferred_like_evidently() -> None:
    frame = pl.DataFrame(
        {
            "x": [0.5, 1.5, 2.5, 3.5, 4.5, 5.5, 6.5],
            "level": [1, 2, 3, 1, 2, 3, 1],
            "flag": [True, False, True, True, False, True, True],
            "city": ["a", "b", "c", "a", "b", "c", "d"],
            "yes_no": ["y", "n", "y", "y", None, "n", "y"],
            "day": [dt.date(2026, 1, d) for d in range(1, 8)],
        }
    )
    profile = ReferenceProfile.from_frame(frame)
    kinds = {name: ref.kind for name, ref in profile.columns.items()}
    assert kinds == {
        "x": "numeric",
        "level": "categorical",
        "flag": "binary",
        "city": "categorical",
        "yes_no": "binary",
    }
    assert "day" in profile.skipped
    level = profile.columns["level"]
    assert isinstance(level, CategoricalReference) and level.counts == {"1": 3, "2": 2, "3": 2}


def test_kind_override_and_invalid_override() -> None:
    frame = pl.DataFrame({"level": [1, 2, 3, 1], "s": ["a", "b", "c", "d"]})
    profile = ReferenceProfile.from_frame(frame, ReferenceConfig(kinds={"level": "numeric"}))
    assert profile.columns["level"].kind == "numeric"
    with pytest.raises(ValidationError) as err:
        ReferenceProfile.from_frame(frame, ReferenceConfig(kinds={"s": "numeric"}))
    assert err.value.field == "s"


def test_small_columns_are_exact_and_dropped_values_counted() -> None:
    x = [1.0, 2.0, 2.0, None, float("nan"), float("inf"), -float("inf"), 7.0, 3.0, 4.0, 5.0, 6.0]
    ref = _numeric(ReferenceProfile.from_frame(pl.DataFrame({"x": x})), "x")
    assert (ref.n, ref.n_null, ref.n_nonfinite) == (8, 1, 3)
    assert ref.exact and ref.ecdf_error == 0.0 and ref.wasserstein_error == 0.0
    assert ref.knots == [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0]
    assert ref.cum_counts == [1, 3, 4, 5, 6, 7, 8]
    assert ref.mean == pytest.approx(30 / 8) and ref.min == 1.0 and ref.max == 7.0
    assert sum(ref.hist_counts) == 8 and sum(ref.psi_counts) == 8


def test_categories_beyond_the_cap_pool_into_other() -> None:
    frame = pl.DataFrame({"c": ["a"] * 5 + ["b"] * 4 + ["c"] * 3 + ["d"] * 2 + ["e"]})
    ref = ReferenceProfile.from_frame(frame, ReferenceConfig(max_categories=2)).columns["c"]
    assert isinstance(ref, CategoricalReference)
    assert ref.counts == {"a": 5, "b": 4} and ref.other_count == 6 and ref.n == 15


def test_json_round_trip_from_text_and_plain_dict() -> None:
    rng = np.random.default_rng(3)
    frame = pl.DataFrame({"x": rng.normal(size=5000), "c": rng.choice(["u", "v", "w"], 5000)})
    profile = ReferenceProfile.from_frame(frame, ReferenceConfig(max_quantiles=100))
    text = profile.model_dump_json()
    assert ReferenceProfile.from_json(text) == profile
    assert ReferenceProfile.from_json(json.loads(text)) == profile
    assert len(_numeric(profile, "x").knots) <= 100


# The sketch bound (module docstring of shared.monitoring.reference): with k knots on n continuous
# values, sup |F_sketch - F| <= ecdf_error <= ceil(n / (k - 1)) / n, and the KS statistic and the
# Wasserstein distance against any current sample are within ecdf_error / wasserstein_error.
@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n_ref=st.integers(200, 5000),
    n_cur=st.integers(1, 3000),
    k=st.integers(2, 300),
    shift=st.floats(-1, 1),
    discrete=st.booleans(),
)
def test_sketch_error_is_within_the_stated_bound(
    seed: int, n_ref: int, n_cur: int, k: int, shift: float, discrete: bool
) -> None:
    rng = np.random.default_rng(seed)
    ref = rng.standard_t(3, n_ref)
    cur = rng.standard_t(3, n_cur) + shift
    if discrete:
        ref, cur = np.round(ref * 4), np.round(cur * 4)
    x = np.sort(ref)
    knots, cum, ecdf_error, w_error = ecdf_sketch(x, k)
    assert knots.size <= k and cum[-1] == n_ref
    if not discrete:
        assert ecdf_error <= np.ceil(n_ref / (k - 1)) / n_ref + 1e-12
    got = compare_numeric(knots, cum, np.sort(cur))
    exact = sps.ks_2samp(ref, cur)
    assert abs(got.ks_statistic - exact.statistic) <= ecdf_error + 1e-12
    assert abs(got.wasserstein - sps.wasserstein_distance(ref, cur)) <= w_error + 1e-9


def test_default_sketch_bound_on_a_million_rows_is_small() -> None:
    rng = np.random.default_rng(0)
    x = np.sort(rng.normal(size=1_000_000))
    _, _, ecdf_error, w_error = ecdf_sketch(x, 10_000)
    assert ecdf_error <= 1.01e-4  # ~1/k: 5% of the KS critical value at n = m = 1e6
    assert w_error <= 2e-3  # in std units: 2% of the 0.1 normalised-Wasserstein threshold
