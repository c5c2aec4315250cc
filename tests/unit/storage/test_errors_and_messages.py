"""Mapping of azure.core exceptions to the project tree, and queue message encoding (pure)."""

from __future__ import annotations

import base64

import pytest
from azure.core.exceptions import (
    HttpResponseError,
    ResourceExistsError,
    ResourceModifiedError,
    ResourceNotFoundError,
    ServiceRequestError,
    ServiceResponseError,
)

from shared.errors import AlreadyExistsError, NotFoundError, StorageUnavailableError, ValidationError
from shared.storage.errors import is_precondition_failed, mapped_errors
from shared.storage.queues import decode_message, encode_message


def _http(status: int) -> HttpResponseError:
    error = HttpResponseError(message=f"status {status}")
    error.status_code = status
    return error


@pytest.mark.parametrize(
    "error",
    [ServiceRequestError("refused"), ServiceResponseError("reset"), _http(500), _http(503), _http(408)],
)
def test_transport_failures_and_5xx_become_storage_unavailable(error: Exception) -> None:
    with pytest.raises(StorageUnavailableError) as caught, mapped_errors("table", "thing"):
        raise error
    assert caught.value.service == "table"
    assert caught.value.__cause__ is error


def test_not_found_and_exists_map_to_permanent_errors() -> None:
    with pytest.raises(NotFoundError, match="blob: x not found"), mapped_errors("blob", "x"):
        raise ResourceNotFoundError("gone")
    with pytest.raises(AlreadyExistsError), mapped_errors("blob", "x"):
        raise ResourceExistsError("there")


def test_412_and_other_4xx_pass_through_for_the_caller() -> None:
    modified = ResourceModifiedError("etag")
    with pytest.raises(ResourceModifiedError), mapped_errors("table", "x"):
        raise modified
    assert is_precondition_failed(modified)
    assert is_precondition_failed(_http(412))
    assert not is_precondition_failed(_http(400))
    with pytest.raises(HttpResponseError), mapped_errors("table", "x"):
        raise _http(400)


def test_messages_are_base64_of_json_or_text() -> None:
    assert base64.b64decode(encode_message({"a": 1})) == b'{"a":1}'
    assert base64.b64decode(encode_message("hi ✓")) == "hi ✓".encode()
    assert decode_message(encode_message("hi ✓")) == "hi ✓"
    with pytest.raises(ValidationError):
        decode_message("not base64!")
