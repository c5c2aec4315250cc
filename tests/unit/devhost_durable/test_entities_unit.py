"""Entity ids, the batch the SDK handle receives, answers and the stored record (no I/O)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from devhost.durable.entities import (
    RECENT_COLUMN,
    RECENT_LIMIT,
    EntityRecord,
    entity_request,
    is_entity_id,
    run_batch,
    scheduler_id,
    split_id,
)
from devhost.durable.registry import FunctionRegistry

NOW = datetime(2024, 5, 1, tzinfo=UTC)


def _req(rid: str, op: str, value: object = None, *, signal: bool = False) -> dict[str, object]:
    # both SDK paths store the input as a JSON string holding the value's JSON
    text = None if value is None else json.dumps(json.dumps(value))
    return entity_request(rid, op, text, signal=signal, parent=None if signal else ("orch", "exec"), when=NOW)


def test_ids() -> None:
    assert scheduler_id("Counter", "a@b") == "@counter@a@b"
    assert split_id("@counter@a@b") == ("counter", "a@b")
    assert is_entity_id("@counter@k") and not is_entity_id("counter") and not is_entity_id("@x")


def test_batch_applies_in_order_and_answers_calls(registry: FunctionRegistry) -> None:
    record = EntityRecord("@counter@k")
    answers = run_batch(
        registry.lookup_entity("COUNTER"),
        record,
        [
            _req("1", "add", 3, signal=True),
            _req("2", "add", 4, signal=True),
            _req("3", "get"),
            _req("4", "fail"),
        ],
    )
    assert (record.exists, json.loads(record.state or "")) == (True, 7)
    assert answers[2] == {"result": "7"}
    assert answers[3]["exceptionType"] and json.loads(answers[3]["result"]) == "counter cannot fail politely"
    assert record.recent["1"] is None and record.recent["3"] == {"result": "7"}


def test_destruct_and_unknown_entity(registry: FunctionRegistry) -> None:
    record = EntityRecord("@counter@k", exists=True, state="5")
    run_batch(registry.lookup_entity("counter"), record, [_req("1", "delete", signal=True)])
    assert (record.exists, record.state) == (False, None)
    stranger = EntityRecord("@nobody@k")
    (answer,) = run_batch(None, stranger, [_req("9", "get")])
    assert "'nobody'" in json.loads(answer["result"]) and "entity function" in json.loads(answer["result"])


def test_record_row_round_trip_keeps_recent_ids_bounded() -> None:
    record = EntityRecord("@counter@k", exists=True, state="41", created=NOW, updated=NOW)
    for i in range(RECENT_LIMIT + 10):
        record.recent[str(i)] = None
    row = record.to_row()
    assert row["Name"] == "@counter" and row["RuntimeStatus"] == "Running"
    assert json.loads(row["Input"]) == {"exists": True, "state": "41"}
    back = EntityRecord.from_row("@counter@k", row)
    assert (back.exists, back.state) == (True, "41")
    assert (
        len(back.recent) == RECENT_LIMIT and "0" not in back.recent and str(RECENT_LIMIT + 9) in back.recent
    )
    assert len(row[RECENT_COLUMN]) < 32_000
