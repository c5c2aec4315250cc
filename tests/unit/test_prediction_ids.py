"""Prediction ids without storage: the generated shape, its hour, caller-key rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from shared.errors import ValidationError
from shared.steps.prediction_ids import (
    GENERATED,
    caller_keys,
    generated_ids,
    hour_of,
    id_field_of,
    key_problem,
)


def test_generated_ids_carry_the_utc_hour_and_differ_per_request() -> None:
    at = datetime(2026, 11, 30, 9, 59, 59, tzinfo=timezone(timedelta(hours=-5)))  # 14:59 UTC
    first, second = generated_ids(at, 10_000), generated_ids(at, 3)
    assert len(set(first)) == 10_000 and not set(first) & set(second)
    assert all(GENERATED.match(i) for i in first + second)
    assert {hour_of(i) for i in first} == {datetime(2026, 11, 30, 14, tzinfo=UTC)}


@pytest.mark.parametrize("text", ["order-1", "2026113014-abc", "2026133014-0123456789abcdef0123", ""])
def test_only_the_generated_shape_with_a_real_hour_has_an_hour(text: str) -> None:
    assert hour_of(text) is None


def test_caller_keys_are_text_and_unique() -> None:
    assert caller_keys([{"k": "a"}, {"k": 7}, {"k": "b.c:d@e_f-1"}], "k") == ["a", "7", "b.c:d@e_f-1"]
    with pytest.raises(ValidationError) as err:
        caller_keys([{"k": "a"}, {"k": "ok"}, {"k": "a"}, {}], "k")
    assert err.value.field == "rows[2].k"
    assert (
        "rows[2].k: repeats the key of rows[0]" in err.value.message
        and "rows[3].k: is missing" in err.value.message
    )


@pytest.mark.parametrize(
    "value", [True, 1.5, None, "", "x" * 129, "a b", "a/b", "2026113014-0123456789abcdef0123"]
)
def test_bad_keys_say_why(value: object) -> None:
    assert key_problem(value) is not None


def test_id_field_must_be_a_short_name() -> None:
    assert id_field_of({"rows": []}) is None and id_field_of([{"a": 1}]) is None
    assert id_field_of({"id_field": "order_id"}) == "order_id"
    for bad in (3, "", "x" * 129, "a\nb"):
        with pytest.raises(ValidationError) as err:
            id_field_of({"id_field": bad})
        assert err.value.field == "id_field"
