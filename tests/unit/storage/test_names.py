"""Blob, container, queue, table and key name rules (pure)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.errors import BlobNameError, ValidationError
from shared.storage.names import (
    validate_blob_name,
    validate_container_name,
    validate_key,
    validate_queue_name,
    validate_table_name,
)
from shared.storage.tables import key_segment

REJECTED = {
    "": "empty",
    "../x": "'..' path segment",
    "a/../b": "'..' path segment",
    "a/./b": "'.' path segment",
    ".": "'.' path segment",
    "a.": "ends in a dot",
    "a/b./c": "ends in a dot",
    "a\x01b": "control character",
    "a\x00b": "control character",
    "a\x1fb": "control character",
    "a\x7fb": "control character",
    "x" * 1025: "longer than 1024",
    "/x": "leading '/'",
    "\\x": "backslash",
    "a\\b": "backslash",
    "C:x": "drive letter",
    "c:/x": "drive letter",
    "a//b": "empty path segment",
    "a/": "empty path segment",
    "/".join(["s"] * 255): "more than 254",
}


@pytest.mark.parametrize(("name", "rule"), REJECTED.items(), ids=lambda v: repr(v)[:24])
def test_rejected_names_say_which_rule(name: str, rule: str) -> None:
    with pytest.raises(BlobNameError) as caught:
        validate_blob_name(name)
    assert rule in caught.value.message
    assert caught.value.field == "blob_name"
    assert repr(name[:20])[:-1] in caught.value.message, "the name is shown via repr"


@pytest.mark.parametrize(
    "name", ["a", "a/b/c.onnx", ".hidden", "a..b", "x" * 1024, "/".join(["s"] * 254), "ünïcode/名字", "ab:c"]
)
def test_accepted_names(name: str) -> None:
    assert validate_blob_name(name) == name


_SAFE_SEGMENT = st.text(
    alphabet=st.characters(blacklist_categories=("Cc", "Cs"), blacklist_characters="/\\:"),
    min_size=1,
    max_size=20,
).filter(lambda s: not s.endswith("."))


@given(st.lists(_SAFE_SEGMENT, min_size=1, max_size=10))
def test_any_name_built_from_safe_segments_is_accepted(segments: list[str]) -> None:
    name = "/".join(segments)
    assert validate_blob_name(name) == name


@given(st.text(max_size=60))
def test_accepted_names_never_escape_or_hide(name: str) -> None:
    try:
        validate_blob_name(name)
    except BlobNameError:
        return
    parts = name.split("/")
    assert ".." not in parts and "." not in parts and "" not in parts
    assert not any(ord(c) < 32 or ord(c) == 127 for c in name)
    assert not name.endswith(".") and "\\" not in name


@pytest.mark.parametrize("name", ["abc", "a-b-c", "a1", "x" * 63, "123"])
def test_good_container_and_queue_names(name: str) -> None:
    name = name if len(name) >= 3 else name + "0"
    assert validate_container_name(name) == name
    assert validate_queue_name(name) == name


@pytest.mark.parametrize("name", ["ab", "x" * 64, "Abc", "a--b", "-ab", "ab-", "a_b", "a.b", ""])
def test_bad_container_and_queue_names(name: str) -> None:
    with pytest.raises(BlobNameError):
        validate_container_name(name)
    with pytest.raises(ValidationError):
        validate_queue_name(name)


def test_table_names() -> None:
    assert validate_table_name("runs") == "runs"
    for bad in ("ru", "1runs", "run-s", "r" * 64):
        with pytest.raises(ValidationError):
            validate_table_name(bad)


@pytest.mark.parametrize("bad", ["a/b", "a\\b", "a#b", "a?b", "a\tb", "a\x7fb", "a\x85b", "é" * 513])
def test_bad_keys_name_the_key(bad: str) -> None:
    with pytest.raises(ValidationError) as caught:
        validate_key("RowKey", bad)
    assert caught.value.field == "RowKey"
    assert "RowKey" in caught.value.message


def test_keys_up_to_1_kib_are_accepted() -> None:
    assert validate_key("PartitionKey", "k" * 512) == "k" * 512
    assert validate_key("PartitionKey", "") == ""


@given(st.text(max_size=600))
def test_key_segments_are_always_valid_blob_segments(key: str) -> None:
    segment = key_segment(key)
    assert validate_blob_name(f"t/{segment}/x") == f"t/{segment}/x"
    assert len(segment) <= 202


def test_key_segments_differ_for_different_keys() -> None:
    keys = ["a", "a.", ".", "..", "", "a b", "a%2Eb", "a.b"]
    assert len({key_segment(k) for k in keys}) == len(keys)
