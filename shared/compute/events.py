"""A training job's end, told to its orchestration: the internal ``training-events`` queue.

The local job's runner (app code that already holds the storage settings for the Blob hand-off)
puts one small message on this queue once the job's outputs are in Blob and its state says so;
a queue trigger in the app raises the ``job_finished`` external event on the run's training
sub-orchestration, which races that event against its poll timer. The trainer itself gets no key
and no storage setting: the message comes from the runner, never from user code.

A message only wakes the orchestration up: it then asks the status activity, so a duplicate,
late or forged message costs one extra poll and never changes an outcome. Only holders of a
storage credential (the app, its runners, admins) can write to the queue; a function key cannot.

Azure ML jobs send nothing themselves (their container has no app settings and no queue role).
Their end reaches the same queue from Event Grid: infra subscribes the workspace's
``Microsoft.MachineLearningServices.RunStatusChanged`` events, filtered to the final statuses,
to this queue (infra/app/ml.bicep, delivered with the system topic's own identity, which holds
only Queue Data Message Sender: rbac.bicep). The job carries its training instance in the
``mlops.notify`` tag (shared/compute/azureml.py), which Event Grid passes on as ``data.runTags``,
so :func:`parse_event` reads such an event as the same JobEvent.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic import ValidationError as PydanticError

from shared.errors import ValidationError

if TYPE_CHECKING:
    from shared.storage.factory import Storage

#: The internal queue of job-end messages (the trigger, the storage factory and the runner read it here).
QUEUE = "training-events"
#: The sub-orchestration instance of a run's training job: ``<run id>-train``.
INSTANCE_SUFFIX = "-train"
_INSTANCE = rf"^[A-Za-z0-9][A-Za-z0-9_.:-]{{0,250}}{INSTANCE_SUFFIX}$"


def training_instance(run_id: str) -> str:
    """The instance id of run ``run_id``'s training sub-orchestration."""
    return f"{run_id}{INSTANCE_SUFFIX}"


class JobEvent(BaseModel):
    """One job-end message: which sub-orchestration to wake, and what the runner saw."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    instance: str = Field(pattern=_INSTANCE, description="The training sub-orchestration to wake.")
    job: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,99}$", description="The job (attempt) name.")
    state: Literal["succeeded", "failed"]


#: The tag an Azure ML job carries its training sub-orchestration instance in.
NOTIFY_TAG = "mlops.notify"
#: The Event Grid event type of an Azure ML job's status change.
AML_STATUS_EVENT = "Microsoft.MachineLearningServices.RunStatusChanged"
#: Final Azure ML statuses -> the wake-up's state (the status activity still decides the outcome).
AML_FINAL: dict[str, Literal["succeeded", "failed"]] = {
    "Completed": "succeeded",
    "Failed": "failed",
    "Canceled": "failed",
    "NotResponding": "failed",
}


def _from_event_grid(event: dict[str, Any]) -> dict[str, Any]:
    """The JobEvent fields of an Event Grid ``RunStatusChanged`` event (ValidationError otherwise)."""
    if event.get("eventType") != AML_STATUS_EVENT:
        raise ValidationError(
            f"event type {str(event.get('eventType'))[:80]!r} is not handled", field="eventType"
        )
    data = event.get("data")
    if not isinstance(data, dict):
        raise ValidationError("Event Grid event has no data object", field="data")
    found = data.get("runTags")
    tags: dict[str, Any] = found if isinstance(found, dict) else {}
    status = str(data.get("runStatus"))
    if status not in AML_FINAL:
        raise ValidationError(f"run status {status[:40]!r} is not a job end", field="data.runStatus")
    if not tags.get(NOTIFY_TAG):
        raise ValidationError(f"the run has no {NOTIFY_TAG} tag: not one of ours", field="data.runTags")
    return {"instance": tags[NOTIFY_TAG], "job": data.get("runId"), "state": AML_FINAL[status]}


def parse_event(raw: bytes) -> JobEvent:
    """A queue message's JobEvent (base64 JSON, as MessageQueue sends; plain JSON accepted too).

    Also an Azure ML ``RunStatusChanged`` event in the Event Grid schema (one event, or a list
    of one) whose run is final and carries the ``mlops.notify`` tag. ValidationError naming the
    problem when it is neither: retrying cannot fix such a message.
    """
    try:
        text = base64.b64decode(raw, validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        text = raw.decode("utf-8", errors="replace")
    try:
        body = json.loads(text)
        if isinstance(body, list) and len(body) == 1:
            body = body[0]
        if isinstance(body, dict) and "eventType" in body:
            body = _from_event_grid(body)
        return JobEvent.model_validate(body)
    except json.JSONDecodeError as exc:
        raise ValidationError(f"training event is not JSON: {text[:60]!r}", field="message") from exc
    except PydanticError as exc:
        fields = ", ".join(".".join(str(p) for p in e["loc"]) or "message" for e in exc.errors())
        raise ValidationError(f"training event has bad fields: {fields}", field="message") from exc


def notify_job_ended(storage: Storage, event: JobEvent) -> str:
    """Put ``event`` on the queue; the message id."""
    return storage.training_events.send(event.model_dump(mode="json"), ttl_s=24 * 3600)
