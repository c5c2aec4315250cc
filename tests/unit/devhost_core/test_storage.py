"""Connection settings and queue message encoding."""

from __future__ import annotations

import base64

import pytest

from devhost.errors import AppLoadError
from devhost.hostjson import QueueOptions
from devhost.storage import (
    DEVELOPMENT_CONNECTION,
    decode_message,
    encode_message,
    expand_connection_string,
    resolve_connection,
)


def test_development_storage_expands() -> None:
    assert expand_connection_string("UseDevelopmentStorage=true") == DEVELOPMENT_CONNECTION
    assert "QueueEndpoint=http://127.0.0.1:10001/devstoreaccount1" in DEVELOPMENT_CONNECTION
    assert expand_connection_string("AccountName=x") == "AccountName=x"


def test_connection_setting_lookup() -> None:
    assert resolve_connection(None, {"AzureWebJobsStorage": "a"}, "f") == "a"
    assert resolve_connection("Other", {"Other": "b"}, "f") == "b"
    assert resolve_connection("Other", {"AzureWebJobsOther": "c"}, "f") == "c"
    with pytest.raises(AppLoadError, match="'Missing' is not set"):
        resolve_connection("Missing", {}, "f")
    with pytest.raises(AppLoadError, match="identity-based"):
        resolve_connection("Ident", {"Ident__queueServiceUri": "https://x"}, "f")


def test_base64_and_plain_encoding() -> None:
    b64 = QueueOptions()
    assert encode_message(b"hi", b64) == base64.b64encode(b"hi").decode()
    assert decode_message(encode_message(b"\x00\xff", b64), b64) == b"\x00\xff"
    with pytest.raises(ValueError):
        decode_message("not base64!", b64)
    plain = QueueOptions(message_encoding="none")
    assert encode_message(b"hi", plain) == "hi"
    assert decode_message("hi", plain) == b"hi"
