"""Run one activity the way the Python worker does: decode input, call, encode output or failure."""

from __future__ import annotations

import json
import traceback
from dataclasses import dataclass
from typing import Any

from azure.functions import meta
from azure.functions.durable_functions import ActivityTriggerConverter

from devhost.durable.registry import ActivityFunction

RPC_EXCEPTION = "Microsoft.Azure.WebJobs.Script.Workers.Rpc.RpcException, Microsoft.Azure.WebJobs.Script"
FUNCTION_FAILED = (
    "Microsoft.Azure.WebJobs.Extensions.DurableTask.FunctionFailedException, "
    "Microsoft.Azure.WebJobs.Extensions.DurableTask"
)


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
    """TaskFailed as the extension records a Python activity's exception.

    The worker reports ``"<Type>: <message>"`` and the traceback; the host wraps them in an RpcException
    ("Result: Failure\nException: ...\nStack: ..."); the extension takes the text between
    ``Exception:`` and ``Stack:`` as the friendly message (leading space kept), so Reason is
    ``"Activity function '<name>' failed:  <Type>: <message>"`` and Details the serialized exception.
    """
    message = f"{type(exc).__name__}: {exc}"
    stack = "".join(traceback.format_tb(exc.__traceback__))
    rpc = exception_json(
        f"Result: Failure\nException: {message}\nStack: {stack}",
        RPC_EXCEPTION,
        extra={"IsUserException": False, "RemoteStackTrace": stack, "RemoteMessage": message},
    )
    friendly = f" {message}"
    return ActivityOutcome(
        False,
        reason=f"Activity function '{name}' failed: {friendly}",
        details=json.dumps(exception_json(friendly, inner=rpc)),
    )


def missing_failure(name: str, text: str) -> ActivityOutcome:
    """TaskFailed for an activity that cannot run (unknown or disabled): a FunctionFailedException."""
    return ActivityOutcome(
        False,
        reason=f"Activity function '{name}' failed: {text}",
        details=json.dumps(exception_json(text, FUNCTION_FAILED)),
    )


def exception_json(
    message: str,
    type_name: str = "System.Exception, System.Private.CoreLib",
    *,
    inner: dict[str, Any] | None = None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A .NET exception as the extension's error serializer writes it (Newtonsoft, ``$type``)."""
    body: dict[str, Any] = {"$type": type_name, **(extra or {})}
    body.update(
        {
            "ClassName": type_name.split(",", 1)[0],
            "Message": message,
            "Data": None,
            "InnerException": inner,
            "HelpURL": None,
            "StackTraceString": None,
            "RemoteStackTraceString": None,
            "RemoteStackIndex": 0,
            "ExceptionMethod": None,
            "HResult": -2146233088,
            "Source": None,
            "WatsonBuckets": None,
        }
    )
    return body


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
