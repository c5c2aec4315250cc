"""Calling an activity from an orchestrator: typed input out, typed value or typed failure back."""

from __future__ import annotations

from collections.abc import Generator
from typing import Any, TypeVar

import azure.durable_functions as df

from shared.contracts import Contract, StepFailure, StepReply

R = TypeVar("R", bound=Contract)
T = TypeVar("T")

#: Transient errors (storage hiccups, lost ETag races) are retried; permanent ones come back as a
#: StepFailure in the activity's reply and are never retried (RetryOptions has no exception filter).
STEP_RETRY = df.RetryOptions(first_retry_interval_in_milliseconds=2000, max_number_of_attempts=3)

#: Longest error text an orchestrator copies into a run's reason.
MAX_REASON = 500

Gen = Generator[Any, Any, T]


class StepFailed(Exception):
    """An activity reported a permanent failure; the orchestrator ends the run with it."""

    def __init__(self, failure: StepFailure) -> None:
        super().__init__(f"{failure.step} failed: {failure.message}")
        self.failure = failure


def call(context: df.DurableOrchestrationContext, name: str, payload: Contract, out: type[R]) -> Gen[R]:
    """Call activity ``name`` with retries; its value as ``out``, or StepFailed for a permanent error."""
    raw = yield context.call_activity_with_retry(name, STEP_RETRY, payload.to_payload())
    return unwrap(raw, out)


def unwrap(raw: Any, out: type[R]) -> R:
    """Parse an activity's (or sub-orchestration's) reply."""
    reply = StepReply.model_validate(raw)
    if reply.failure is not None:
        raise StepFailed(reply.failure)
    return out.model_validate(reply.value or {})


def first_line(error: BaseException) -> str:
    """What a run's reason keeps of an exception: its first line, bounded (never a traceback)."""
    text = str(error).strip().splitlines()
    return (text[0] if text else type(error).__name__)[:MAX_REASON]
