"""Request body limits and response conversion."""

from __future__ import annotations

import asyncio

import azure.functions as func
import pytest

from devhost.asgi_types import Message
from devhost.http_messages import BodyTooLarge, declared_length, query_map, read_body, to_reply


def _receiver(chunks: list[bytes]) -> tuple[object, list[int]]:
    reads = [0]
    queue = list(chunks)

    async def receive() -> Message:
        reads[0] += 1
        chunk = queue.pop(0)
        return {"type": "http.request", "body": chunk, "more_body": bool(queue)}

    return receive, reads


def test_streamed_body_stops_past_the_limit() -> None:
    receive, reads = _receiver([b"x" * 40] * 10)
    with pytest.raises(BodyTooLarge):
        asyncio.run(read_body(receive, limit=100))  # type: ignore[arg-type]
    assert reads[0] == 3  # stopped at the first chunk that crossed the limit


def test_body_within_limit() -> None:
    receive, _ = _receiver([b"ab", b"cd"])
    assert asyncio.run(read_body(receive, limit=4)) == b"abcd"  # type: ignore[arg-type]


def test_declared_length() -> None:
    assert declared_length({"content-length": "12"}) == 12
    assert declared_length({}) is None
    assert declared_length({"content-length": "x"}) is None


def test_query_repeats_join_with_comma() -> None:
    assert query_map({"query_string": b"a=1&a=2&b="}) == {"a": "1,2", "b": ""}


def test_responses() -> None:
    reply = to_reply(func.HttpResponse("hi", status_code=201, headers={"X-A": "1"}))
    assert reply.status == 201 and reply.body == b"hi"
    assert ("content-type", "text/plain; charset=utf-8") in reply.headers
    assert to_reply(func.HttpResponse(b"{}", mimetype="application/json")).headers[-1] == (
        "content-type",
        "application/json",
    )
    assert to_reply("text").body == b"text"
    assert to_reply(None).status == 204
    with pytest.raises(TypeError):
        to_reply({"not": "allowed"})
