"""In-memory view of one orchestration instance and its Instances-table row."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from devhost.durable.events import COMPLETION_KEY, SCHEDULING, Event, EventType, kind_of
from devhost.durable.names import parse_time, utcnow

TERMINAL = frozenset({"Completed", "Failed", "Terminated", "Canceled"})
#: management API answers 202 for these
IN_PROGRESS = frozenset({"Running", "Pending", "Suspended", "ContinuedAsNew"})


@dataclass
class InstanceState:
    """One instance: its row fields plus the current execution's committed history."""

    instance_id: str
    name: str
    execution_id: str
    status: str = "Pending"
    input_text: str | None = None
    output_text: str | None = None
    custom_status_text: str | None = None
    created: datetime = field(default_factory=utcnow)
    updated: datetime = field(default_factory=utcnow)
    completed: datetime | None = None
    generation: int = 0
    version: str = ""
    history: list[Event] = field(default_factory=list)
    scheduled: dict[int, Event] = field(default_factory=dict)
    done_ids: set[int] = field(default_factory=set)
    parent: dict[str, Any] | None = None
    #: the row fields last written (LastUpdatedTime alone does not warrant a write)
    written: tuple[Any, ...] | None = None

    def row_signature(self) -> tuple[Any, ...]:
        """Fields whose change needs an Instances-row write."""
        return (
            self.status,
            self.name,
            self.execution_id,
            self.generation,
            self.input_text,
            self.output_text,
            self.custom_status_text,
        )

    @property
    def terminal(self) -> bool:
        """Completed, Failed, Terminated or Canceled."""
        return self.status in TERMINAL

    @property
    def started(self) -> bool:
        """The current execution has an ExecutionStarted in history."""
        return bool(self.history)

    @property
    def suspended(self) -> bool:
        """Status is Suspended."""
        return self.status == "Suspended"

    def index(self, events: list[Event]) -> None:
        """Track scheduling/completion ids and the parent link of appended events."""
        for event in events:
            kind = kind_of(event)
            if kind in SCHEDULING:
                self.scheduled[int(event["EventId"])] = event
            elif kind in COMPLETION_KEY:
                self.done_ids.add(int(event[COMPLETION_KEY[kind]]))
            elif kind == EventType.ExecutionStarted:
                self.parent = event.get("ParentInstance")

    def reset_history(self, events: list[Event]) -> None:
        """Replace the history (after load or for a new execution)."""
        self.history = list(events)
        self.scheduled = {}
        self.done_ids = set()
        self.index(self.history)

    def reconcile(self) -> bool:
        """Make the status agree with the committed history (a crash can land between the two writes)."""
        if not self.history:
            return False
        status, output, completed = "Running", None, None
        for event in self.history:
            kind = kind_of(event)
            if kind == EventType.ExecutionSuspended:
                status = "Suspended"
            elif kind == EventType.ExecutionResumed:
                status = "Running"
            elif kind == EventType.ExecutionCompleted:
                status, output = str(event.get("OrchestrationStatus", "Completed")), event.get("Result")
                completed = event.get("Timestamp")
            elif kind == EventType.ExecutionTerminated:
                status, output = "Terminated", json.dumps(event.get("Input"))
                completed = event.get("Timestamp")
        if status == self.status:
            return False
        self.status = status
        if output is not None:
            self.output_text = output
        if completed is not None:
            self.completed = parse_time(str(completed))
        return True

    def to_row(self) -> dict[str, Any]:
        """Instances-table row (RowKey "", PartitionKey set by the store)."""
        return {
            "InstanceId": self.instance_id,
            "Name": self.name,
            "Version": self.version,
            "Input": self.input_text,
            "Output": self.output_text,
            "CustomStatus": self.custom_status_text,
            "CreatedTime": self.created,
            "LastUpdatedTime": self.updated,
            "CompletedTime": self.completed,
            "RuntimeStatus": self.status,
            "ExecutionId": self.execution_id,
            "Generation": self.generation,
        }

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> InstanceState:
        """State from an Instances row (history not loaded)."""
        state = cls._from_row(row)
        state.written = state.row_signature()
        return state

    @classmethod
    def _from_row(cls, row: dict[str, Any]) -> InstanceState:
        return cls(
            instance_id=str(row.get("InstanceId") or row["PartitionKey"]),
            name=str(row.get("Name", "")),
            execution_id=str(row.get("ExecutionId", "")),
            status=str(row.get("RuntimeStatus", "Pending")),
            input_text=row.get("Input"),
            output_text=row.get("Output"),
            custom_status_text=row.get("CustomStatus"),
            created=row.get("CreatedTime") or utcnow(),
            updated=row.get("LastUpdatedTime") or utcnow(),
            completed=row.get("CompletedTime"),
            generation=int(row.get("Generation", 0) or 0),
            version=str(row.get("Version", "") or ""),
        )


def load_json(text: str | None) -> Any:
    """Decode stored JSON text (None stays None; non-JSON text is returned as is)."""
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text


def dump_json(value: Any) -> str:
    """Compact JSON like the extension's serializer."""
    return json.dumps(value, separators=(",", ":"))
