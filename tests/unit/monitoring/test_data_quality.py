"""Data-quality rates of a small window against the training profile, counted by hand."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from shared.monitoring import ReferenceConfig, ReferenceProfile
from shared.monitoring.data_quality import null_count, range_counts, summarise

# Training ranges: a in [0.1, 5.0] (numeric), b in [-2, 2] (5 distinct values: profiled as
# categories); 0.1 is not exact in float32 (the log's precision).
TRAIN = pl.DataFrame(
    {
        "a": [0.1, 1.0, 2.5, 3.3, 4.1, 4.7, 5.0] * 3,
        "b": [-2.0, -1.0, 0.0, 1.0, 2.0, 0.0, 1.0] * 3,
        "c": ["x"] * 21,
    }
)
REFERENCE = ReferenceProfile.from_frame(TRAIN, ReferenceConfig(columns=["a", "b", "c"]))


def _logged(a: list[float], b: list[float]) -> pl.DataFrame:
    return pl.DataFrame({"a": pl.Series(a, dtype=pl.Float32), "b": pl.Series(b, dtype=pl.Float32)})


def test_out_of_range_and_nulls_match_a_hand_count() -> None:
    assert REFERENCE.columns["a"].kind == "numeric" and REFERENCE.columns["b"].kind == "categorical"
    window = _logged(
        [0.1, 5.0, 5.01, -0.5, float("nan"), 2.0],  # the float32 minimum and maximum are in range
        [2.0, 2.5, None, -3.0, 0.0, 1.0],
    )
    ranges = range_counts(window, REFERENCE)
    # a: 5.01 and -0.5 outside of 5 finite values; b: 2.5 and -3.0 outside of 5 non-null values.
    assert ranges == {"a": (2, 5), "b": (2, 5)}
    assert null_count(window) == 2  # a NaN (a missing feature in the log) and a null
    quality = summarise(
        rows=6, counts={"rows": 0}, ranges=ranges, logged_nulls=2, logged_features=2, features=2,
        category_features=0,
    )  # fmt: skip
    assert quality.out_of_range == 4 and quality.range_checked == 10
    assert quality.out_of_range_rate == pytest.approx(0.4)
    assert quality.out_of_range_columns == {"a": 2, "b": 2}
    assert quality.null_rate == pytest.approx(2 / 12)
    assert quality.unseen_category_rate is None and quality.type_error_rate is None
    assert any("type errors: not available" in n for n in quality.notes)


def test_raw_columns_counts_give_null_unseen_and_type_error_rates() -> None:
    # 4 rows, 3 features (1 numeric logged, 2 categories): 3 null values, 2 unseen categories.
    counts = {"rows": 4, "rows_with_nulls": 2, "nulls": 3, "unseen_categories": 2, "type_errors": 1}
    quality = summarise(
        rows=4, counts=counts, ranges={"a": (1, 4)}, logged_nulls=0, logged_features=1, features=3,
        category_features=2,
    )  # fmt: skip
    assert quality.null_rate == pytest.approx(3 / 12) and quality.rows_with_nulls == 2
    assert quality.unseen_category_rate == pytest.approx(2 / 8)
    assert quality.type_errors == 1 and quality.type_error_rate == pytest.approx(
        1 / 5
    )  # 4 scored + 1 refused
    assert quality.out_of_range_rate == pytest.approx(0.25)


def test_an_empty_window_has_no_rates_rather_than_zeros() -> None:
    quality = summarise(
        rows=0, counts={}, ranges={}, logged_nulls=0, logged_features=2, features=2, category_features=1
    )
    assert quality.null_rate is None and quality.out_of_range_rate is None
    assert quality.unseen_category_rate is None
    assert np.isnan(np.float32("nan"))  # the log's NaN is what null_count reads as missing
