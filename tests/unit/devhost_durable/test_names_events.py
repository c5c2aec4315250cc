"""Hub naming, key escaping and history-row conversion (no I/O)."""

from __future__ import annotations

from datetime import UTC, datetime

from devhost.durable.events import EventType, completion_target, from_row, new_event, to_row
from devhost.durable.names import (
    HubNames,
    escape_key,
    hub_names_from_host_json,
    row_key,
    sanitize_hub_name,
)


def test_hub_name_defaults_and_sanitising() -> None:
    assert hub_names_from_host_json({}).hub == "TestHubName"
    assert hub_names_from_host_json({"extensions": {"durableTask": {"hubName": "My-Hub_1"}}}).hub == "MyHub1"
    assert sanitize_hub_name("9lives") == "Hub9lives"
    assert len(sanitize_hub_name("x" * 80)) == 45


def test_resource_names_follow_the_provider_layout() -> None:
    names = HubNames("MyHub", partitions=4)
    assert names.history_table == "MyHubHistory"
    assert names.instances_table == "MyHubInstances"
    assert names.control_queues == [f"myhub-control-0{i}" for i in range(4)]
    assert names.workitems_queue == "myhub-workitems"
    assert names.large_messages_container == "myhub-largemessages"
    assert names.control_queue_for("abc") == names.control_queue_for("abc")
    assert names.control_queue_for("abc") in names.control_queues


def test_keys_and_row_keys() -> None:
    assert escape_key("a/b#c?d\\e") == "a^2Fb^23c^3Fd^5Ce"
    assert escape_key("plain:id-1") == "plain:id-1"
    assert row_key(0) == "0000000000000000"
    assert row_key(26) == "000000000000001A"


def test_history_row_round_trip() -> None:
    when = datetime(2024, 1, 2, 3, 4, 5, 123456, tzinfo=UTC)
    event = new_event(
        EventType.ExecutionStarted,
        when,
        Name="orch",
        Input='"x"',
        ParentInstance={"Name": "p", "TaskScheduledId": 3, "OrchestrationInstance": {"InstanceId": "i"}},
    )
    row = to_row(event, "inst/1", "exec", 7)
    assert row["PartitionKey"] == "inst^2F1" and row["RowKey"] == row_key(7)
    assert row["EventType"] == "ExecutionStarted" and row["EventId"] == -1 and row["IsPlayed"] is False
    assert row["_Timestamp"] == when and row["ExecutionId"] == "exec"
    assert from_row(row) == event
    timer = new_event(EventType.TimerCreated, when, 4, FireAt="2024-01-02T03:04:06.000000Z")
    assert isinstance(to_row(timer, "i", "e", 0)["FireAt"], datetime)
    assert from_row(to_row(timer, "i", "e", 0)) == timer


def test_completion_targets() -> None:
    now = datetime.now(UTC)
    assert completion_target(new_event(EventType.TaskCompleted, now, TaskScheduledId=3)) == 3
    assert completion_target(new_event(EventType.TimerFired, now, TimerId=5)) == 5
    assert completion_target(new_event(EventType.EventRaised, now, Name="x")) is None
