"""The approval trigger's input rules and who it says decided (no I/O)."""

from __future__ import annotations

import hashlib
from typing import Any

import azure.functions as func
import pytest

from functions.approvals import _parse, caller
from shared.errors import ValidationError


def request(headers: dict[str, str] | None = None, params: dict[str, str] | None = None) -> func.HttpRequest:
    return func.HttpRequest(
        "POST", "http://h/api/runs/r/approval", headers=headers or {}, params=params or {}, body=b""
    )


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (False, "body"),
        ([], "body"),
        ({"approved": "no"}, "decision"),
        ({"decision": "no"}, "decision"),
        ({"decision": "Approve"}, "decision"),
        ({"decision": 1}, "decision"),
        ({"decision": "reject", "comment": ["x"]}, "comment"),
        ({"decision": "reject", "comment": "x" * 2001}, "comment"),
        ({"decision": "reject", "approved": True}, "approved"),
    ],
)
def test_anything_but_a_decision_is_refused_naming_the_field(body: Any, field: str) -> None:
    with pytest.raises(ValidationError) as err:
        _parse(body)
    assert err.value.field == field


def test_decisions_and_comments_pass_through() -> None:
    assert _parse({"decision": "reject", "comment": "drift"}) == ("reject", "drift")
    assert _parse({"decision": "approve", "comment": None}) == ("approve", "")
    assert _parse({"decision": "approve"}) == ("approve", "")


def test_the_signed_in_principal_is_the_actor_when_app_service_sets_it() -> None:
    headers = {
        "x-ms-client-principal-name": "ann@contoso.com",
        "x-ms-client-principal-id": "42",
        "x-functions-key": "k",
    }
    assert caller(request(headers)) == "principal:ann@contoso.com (42)"


def test_otherwise_the_admin_key_is_named_by_a_fingerprint_never_the_key() -> None:
    key = "s3cret-master-key"
    actor = caller(request({"x-functions-key": key}))
    assert actor == f"admin key (sha256 {hashlib.sha256(key.encode()).hexdigest()[:8]})"
    assert key not in actor
    assert caller(request(params={"code": key})) == actor
