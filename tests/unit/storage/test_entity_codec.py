"""Entity encoding and Azure's size arithmetic (pure)."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import Enum

import pytest
from azure.data.tables import EdmType, EntityProperty
from hypothesis import given
from hypothesis import strategies as st

from shared.errors import ValidationError
from shared.storage import entity_codec as codec


class Color(Enum):
    RED = "red"


def test_native_values_stay_native_and_none_is_omitted() -> None:
    when = datetime(2026, 1, 1, tzinfo=UTC)
    props = codec.encode_properties(
        {"b": True, "i": 3, "f": 1.5, "s": "x", "d": when, "raw": b"\x00", "n": None}
    )
    assert props == {"b": True, "i": 3, "f": 1.5, "s": "x", "d": when, "raw": b"\x00"}


def test_structures_are_json_with_a_marker_and_decode_back() -> None:
    values = {"m": {"a": [1, 2, {"b": None}]}, "l": [1.5, "x"], "e": Color.RED}
    props = codec.encode_properties(values)
    assert props == {"m__json": '{"a":[1,2,{"b":null}]}', "l__json": '[1.5,"x"]', "e": "red"}
    assert codec.decode_properties(props) == {"m": {"a": [1, 2, {"b": None}]}, "l": [1.5, "x"], "e": "red"}


def test_int64_and_out_of_range_ints() -> None:
    props = codec.encode_properties({"big": 2**40})
    assert isinstance(props["big"], EntityProperty) and props["big"].edm_type == EdmType.INT64
    assert codec.decode_properties({"big": EntityProperty(2**40, EdmType.INT64)}) == {"big": 2**40}
    with pytest.raises(ValidationError):
        codec.encode_properties({"huge": 2**64})


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4),
    max_leaves=10,
)


@given(st.dictionaries(st.from_regex(r"[a-z][a-z0-9_]{0,10}", fullmatch=True), json_values, max_size=8))
def test_encode_decode_round_trip(values: dict[str, object]) -> None:
    values = {k: v for k, v in values.items() if not k.endswith("_") and "__" not in k}
    props = codec.encode_properties(values)
    expected = {k: v for k, v in values.items() if v is not None}
    assert codec.decode_properties(props) == expected


@pytest.mark.parametrize(
    "name", ["x__json", "x__blob", "x__sha256", "__spill_blob", "RowKey", "Timestamp", "a-b", "1a"]
)
def test_reserved_or_invalid_names_are_refused(name: str) -> None:
    with pytest.raises(ValidationError):
        codec.encode_properties({name: 1})


def test_string_limit_counts_utf16_bytes() -> None:
    assert not codec.is_oversized("a" * 32 * 1024)
    assert codec.is_oversized("a" * (32 * 1024 + 1))
    # An astral character is two UTF-16 code units: 4 bytes each.
    assert codec.is_oversized("😀" * (16 * 1024 + 1))
    assert not codec.is_oversized(b"\x00" * 64 * 1024)
    assert codec.is_oversized(b"\x00" * (64 * 1024 + 1))


def test_entity_size_follows_azures_formula() -> None:
    # 4 + 2*len("pk"+"rk") + (8 + 2*len("s") + 2*len("abc") + 4) + (8 + 2*len("i") + 4)
    assert codec.entity_size("pk", "rk", {"s": "abc", "i": 7}) == 4 + 8 + (8 + 2 + 6 + 4) + (8 + 2 + 4)
    assert codec.value_size(True) == 1
    assert codec.value_size(EntityProperty(5, EdmType.INT64)) == 8
    assert codec.value_size(datetime.now(UTC)) == 8


def test_payload_size_is_an_upper_bound_on_json() -> None:
    import json

    props = {"s": "é" * 100, "b": b"\x01" * 30}
    assert codec.payload_size(props) >= len(json.dumps({"s": "é" * 100}).encode()) + 40


def test_naive_datetimes_are_stored_as_utc() -> None:
    naive = datetime(2026, 1, 1, 12, 30)
    assert codec.encode_properties({"d": naive}) == {"d": naive.replace(tzinfo=UTC)}
