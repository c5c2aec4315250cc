"""Retrain queue texts: base64 decoded by the app, poison envelopes carrying the real attempt count."""

from __future__ import annotations

import base64
import json

from shared.steps.retrain_queue import ENVELOPE_KEY, message_text, read_poison


def test_message_text_decodes_base64_and_keeps_anything_else() -> None:
    payload = '{"model": "m"}'
    assert message_text(base64.b64encode(payload.encode())) == payload
    assert message_text(payload.encode()) == payload
    assert message_text(b"%%% not base64 %%%") == "%%% not base64 %%%"
    assert message_text(b"\xff\xfe") == "\ufffd\ufffd"  # never raises


def test_an_envelope_reports_its_reason_and_real_dequeue_count() -> None:
    envelope = {ENVELOPE_KEY: {"message_id": "m1", "dequeue_count": 5, "reason": "why"}, "body": "orig"}
    report = read_poison(json.dumps(envelope), "poison-id")
    assert (report.body, report.reason, report.message_id, report.dequeue_count) == ("orig", "why", "m1", 5)


def test_a_message_the_host_moved_has_no_invented_count() -> None:
    report = read_poison('{"model": "m"}', "p1")
    assert report.dequeue_count is None and report.message_id == "p1"
    assert "moved by the host" in report.reason and report.body == '{"model": "m"}'
