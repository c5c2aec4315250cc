"""Call a user function the way the Python worker does: bind arguments, run sync or async, collect outputs."""

from __future__ import annotations

import asyncio
import contextvars
import functools
import inspect
import threading
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import azure.functions as func
from azure.functions._abc import RetryContext, TraceContext

from devhost.loader import FunctionSpec

T = TypeVar("T")


class OutValue(func.Out[T], Generic[T]):
    """A ``func.Out`` the user function sets; devhost reads it after the call."""

    def __init__(self) -> None:
        self._value: T | None = None
        self.was_set = False

    def set(self, val: T) -> None:
        """Set the output value."""
        self._value = val
        self.was_set = True

    def get(self) -> T:
        """The value set so far (None when unset)."""
        return self._value  # type: ignore[return-value]


class _TraceContext(TraceContext):
    @property
    def trace_state(self) -> str:
        return ""

    @property
    def trace_parent(self) -> str:
        return ""

    @property
    def attributes(self) -> dict[str, str]:
        return {}


class _RetryContext(RetryContext):
    @property
    def retry_count(self) -> int:
        return 0

    @property
    def max_retry_count(self) -> int:
        return 0

    @property
    def exception(self) -> Any:
        return None


class InvocationContext(func.Context):
    """The ``context`` argument: invocation id, function name and directory."""

    _local = threading.local()

    def __init__(self, function_name: str, function_directory: str) -> None:
        self._invocation_id = str(uuid.uuid4())
        self._function_name = function_name
        self._function_directory = function_directory

    @property
    def invocation_id(self) -> str:
        """This invocation's id."""
        return self._invocation_id

    @property
    def thread_local_storage(self) -> Any:
        """Thread-local storage, as the worker offers it."""
        return self._local

    @property
    def function_name(self) -> str:
        """The function's name."""
        return self._function_name

    @property
    def function_directory(self) -> str:
        """The app folder."""
        return self._function_directory

    @property
    def trace_context(self) -> TraceContext:
        """An empty distributed-tracing context."""
        return _TraceContext()

    @property
    def retry_context(self) -> RetryContext:
        """No retry policy: always the first attempt."""
        return _RetryContext()


@dataclass
class Invocation:
    """The result of one call: return value and every output binding's value."""

    result: Any
    outputs: dict[str, Any] = field(default_factory=dict)


async def invoke(
    spec: FunctionSpec,
    trigger_value: Any,
    *,
    app_dir: str,
    durable_client: Callable[[], str] | None = None,
) -> Invocation:
    """Run ``spec``'s user function with its trigger value and bindings; exceptions propagate."""
    params = inspect.signature(spec.user_function).parameters
    kwargs: dict[str, Any] = {}
    outs: dict[str, OutValue[Any]] = {}
    for binding in spec.bindings:
        if binding.name not in params:
            continue
        if binding is spec.trigger:
            kwargs[binding.name] = trigger_value
        elif binding.type == "durableClient":
            if durable_client is None:
                raise RuntimeError("durable client requested but no durable runtime is running")
            kwargs[binding.name] = durable_client()
        elif binding.direction == "OUT":
            outs[binding.name] = OutValue()
            kwargs[binding.name] = outs[binding.name]
    if "context" in params and "context" not in kwargs:
        kwargs["context"] = InvocationContext(spec.name, app_dir)
    if spec.is_async:
        result = await spec.user_function(**kwargs)
    else:
        loop = asyncio.get_running_loop()
        call = functools.partial(contextvars.copy_context().run, spec.user_function, **kwargs)
        result = await loop.run_in_executor(None, call)
    outputs: dict[str, Any] = {name: out.get() for name, out in outs.items() if out.was_set}
    if any(b.name == "$return" and b.type != "http" for b in spec.bindings) and result is not None:
        outputs["$return"] = result
    return Invocation(result=result, outputs=outputs)


def queue_out_messages(value: Any) -> list[bytes]:
    """The message bodies a queue output value stands for (str, bytes, QueueMessage or a list)."""
    if value is None:
        return []
    if isinstance(value, str):
        return [value.encode("utf-8")]
    if isinstance(value, bytes | bytearray):
        return [bytes(value)]
    if isinstance(value, func.QueueMessage):
        return [value.get_body()]
    if isinstance(value, Mapping) or not hasattr(value, "__iter__"):
        raise TypeError("queue output expects str, bytes, QueueMessage or a list of them")
    messages: list[bytes] = []
    for item in value:
        messages.extend(queue_out_messages(item))
    return messages
