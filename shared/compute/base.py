"""The compute interface every backend implements, and the job-name rule that makes submit idempotent."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal, Protocol

from pydantic import BaseModel, Field

from shared.errors import ValidationError

if TYPE_CHECKING:
    from shared.compute.handoff import JobHandoff

JobState = Literal["queued", "running", "succeeded", "failed", "cancelled"]
TERMINAL: frozenset[str] = frozenset({"succeeded", "failed", "cancelled"})
_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,99}$")


class JobHandle(BaseModel):
    """A submitted job: its name, backend, where it lives, and whether this call created it."""

    job_name: str
    backend: str
    location: str = Field(description="Local job folder, or the backend's job URL/id.")
    created: bool = Field(description="False when submit found an existing job of that name.")


class JobStatus(BaseModel):
    """A job's state as the backend reports it."""

    job_name: str
    state: JobState
    exit_code: int | None = None
    attempt: int = 1
    message: str | None = None
    log_tail: str = ""

    @property
    def terminal(self) -> bool:
        """True once the job will not change state again."""
        return self.state in TERMINAL


class Compute(Protocol):
    """A place to run training jobs; ``submit`` is idempotent by job name."""

    def submit(
        self,
        job_name: str,
        handoff: JobHandoff,
        config: Mapping[str, Any] | None = None,
    ) -> JobHandle:
        """Start the job (inputs and outputs in Blob), or find the one already started as ``job_name``."""
        ...

    def status(self, job_name: str) -> JobStatus:
        """The job's current state."""
        ...

    def cancel(self, job_name: str) -> JobStatus:
        """Stop the job if it still runs; returns its final state."""
        ...


def job_name_for(run_id: str, step: str = "train") -> str:
    """A backend-safe job name derived only from the run id, so a retried submit finds its job."""
    clean = re.sub(r"[^a-z0-9_-]+", "-", run_id.lower()).strip("-_")
    digest = hashlib.sha256(run_id.encode("utf-8")).hexdigest()[:10]
    return f"{step}-{clean[:60]}-{digest}" if clean else f"{step}-{digest}"


def attempt_name(base: str, attempt: int) -> str:
    """The job name of attempt ``attempt`` of a run's job: the base name, then ``<base>-a2``, ``-a3``...

    A resubmission after a preemption is a new job (Azure ML does not restart it), under a name
    still derived from the run, so a retried resubmit finds it too.
    """
    if attempt < 1:
        raise ValidationError(f"attempt must be >= 1, not {attempt}", field="attempt")
    return check_job_name(base if attempt == 1 else f"{base}-a{attempt}")


def check_job_name(job_name: str) -> str:
    """``job_name`` if it is lowercase letters, digits, ``-`` or ``_`` (1-100 chars); else ValidationError."""
    if not _NAME.match(job_name):
        raise ValidationError(f"job name {job_name!r} must match {_NAME.pattern}", field="job_name")
    return job_name
