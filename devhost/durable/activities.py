"""Run one activity the way the Python worker does: decode input, call, encode output or failure."""

from __future__ import annotations

import traceback
from dataclasses import dataclass
from typing import Any

from azure.functions import meta
from azure.functions.durable_functions import ActivityTriggerConverter

from devhost.durable.registry import ActivityFunction


@dataclass(frozen=True)
class ActivityOutcome:
    """TaskCompleted (result JSON text) or TaskFailed (reason, details)."""

    ok: bool
    result: str | None = None
    reason: str | None = None
    details: str | None = None


def decode_input(input_text: str | None) -> Any:
    """The value the trigger parameter receives (SDK custom-object hook, raw string fallback)."""
    if input_text is None:
        return None
    return ActivityTriggerConverter.decode(meta.Datum(type="json", value=input_text), trigger_metadata={})


def encode_output(value: Any) -> str:
    """The JSON text the extension stores as TaskCompleted.Result."""
    datum = ActivityTriggerConverter.encode(value, expected_type=None)
    return str(datum.value)


def failure(name: str, exc: BaseException) -> ActivityOutcome:
    """Azure's wording: Reason "Activity function '<name>' failed: <message>", Details = traceback."""
    message = f"{type(exc).__name__}: {exc}"
    details = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    return ActivityOutcome(False, reason=f"Activity function '{name}' failed: {message}", details=details)


def prepare_call(activity: ActivityFunction, input_text: str | None) -> dict[str, Any]:
    """Keyword arguments for the user function."""
    return {activity.param: decode_input(input_text)}


def run_sync(activity: ActivityFunction, name: str, input_text: str | None) -> ActivityOutcome:
    """Run a synchronous activity (called on a worker thread)."""
    try:
        value = activity.func(**prepare_call(activity, input_text))
        return ActivityOutcome(True, result=encode_output(value))
    except Exception as exc:
        return failure(name, exc)


async def run_async(activity: ActivityFunction, name: str, input_text: str | None) -> ActivityOutcome:
    """Run an ``async def`` activity on the event loop."""
    try:
        value = await activity.func(**prepare_call(activity, input_text))
        return ActivityOutcome(True, result=encode_output(value))
    except Exception as exc:
        return failure(name, exc)
