"""Versioning rules (comparison, match/failure strategies) and management-API query parameter checks."""

from __future__ import annotations

import pytest

from devhost.durable.query import QueryError, flag, instance_filter, positive_int, runtime_statuses
from devhost.durable.versioning import VersionPolicy, compare_versions
from devhost.errors import AppLoadError


@pytest.mark.parametrize(
    ("left", "right", "order"),
    [
        (None, "", 0),
        ("", "1.0", -1),
        ("1.0", None, 1),
        ("1.0", "2.0", -1),
        ("10.0", "9.0", 1),  # numeric, not text
        ("1.0", "1.0.0", -1),  # System.Version: a missing part sorts first
        ("2.0", "2.0", 0),
        ("V2", "v2", 0),  # text, case-insensitive
        ("beta", "alpha", 1),
    ],
)
def test_compare_versions_follows_the_documented_rules(
    left: str | None, right: str | None, order: int
) -> None:
    assert compare_versions(left, right) == order


def test_policy_defaults_and_current_or_older() -> None:
    policy = VersionPolicy.from_host_json({"defaultVersion": "2.0"})
    assert (policy.match, policy.failure) == ("CurrentOrOlder", "Reject")
    assert policy.version_for_new(None) == "2.0"
    assert policy.version_for_new("1.0") == "1.0"
    assert policy.mismatch("1.0") is None
    assert policy.mismatch(None) is None  # legacy instances are older than any version
    message = policy.mismatch("3.0")
    assert message is not None and "'3.0'" in message and "'2.0'" in message


def test_strict_and_none_strategies() -> None:
    strict = VersionPolicy.from_host_json({"defaultVersion": "2.0", "versionMatchStrategy": "strict"})
    assert strict.mismatch("1.0") is not None and strict.mismatch("2.0") is None
    anything = VersionPolicy.from_host_json({"defaultVersion": "2.0", "versionMatchStrategy": "None"})
    assert anything.mismatch("9.0") is None
    unversioned_worker = VersionPolicy.from_host_json({})
    assert unversioned_worker.mismatch("9.0") is None
    assert unversioned_worker.version_for_new(None) is None


def test_bad_strategy_values_are_refused_naming_the_setting() -> None:
    with pytest.raises(AppLoadError, match="versionFailureStrategy"):
        VersionPolicy.from_host_json({"versionFailureStrategy": "Retry"})
    with pytest.raises(AppLoadError, match="defaultVersion"):
        VersionPolicy.from_host_json({"defaultVersion": 2})


def test_query_parameters_name_the_bad_one() -> None:
    with pytest.raises(QueryError, match="'top'"):
        positive_int({"top": "abc"}, "top")
    with pytest.raises(QueryError, match="'top'"):
        positive_int({"top": "0"}, "top")
    assert positive_int({"top": "5"}, "top") == 5
    assert positive_int({}, "top") is None
    with pytest.raises(QueryError, match="'showInput'"):
        flag({"showInput": "maybe"}, "showInput", True)
    assert flag({"showInput": "False"}, "showInput", True) is False
    with pytest.raises(QueryError, match="'createdTimeFrom'"):
        instance_filter({"createdTimeFrom": "yesterday"})


def test_unknown_runtime_status_is_ignored_not_matched() -> None:
    assert runtime_statuses({"runtimeStatus": "completed,Bogus,FAILED"}) == ["Completed", "Failed"]
    assert instance_filter({"runtimeStatus": "Bogus"}) == ""
