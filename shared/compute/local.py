"""``LocalCompute``: each job is a detached child process that outlives the process that started it.

The job gets its inputs and gives its outputs through Blob (shared.compute.handoff), as an Azure
ML job does: the app never hands it a folder. Layout of ``<work_root>/<job_name>/``:
``spec.json`` (the hand-off and config), ``data/`` and ``out/`` (the child's local copies),
``state.json`` (written
atomically: by submit as ``queued``, then by the runner as ``running`` -> ``succeeded``/``failed``),
``attempt-NNNN.claim`` + ``attempt-NNNN.json`` (pid and start token of each launch), ``log.txt``
and ``checkpoints/``. Idempotency: the job folder is created with an exclusive ``mkdir``, so a
second submit of the same name finds it and starts nothing. Crash policy: when ``status`` finds
the process gone while the state still says queued/running, it relaunches the job (the trainer
resumes from ``checkpoints/``) until ``max_attempts`` launches were made, then reports
``failed``. Relaunches are claimed with an exclusive file create, so concurrent pollers start one.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.compute.base import TERMINAL, JobHandle, JobStatus, check_job_name
from shared.compute.handoff import JobHandoff
from shared.compute.process import is_alive, start_token
from shared.compute.runner import CHECKPOINTS, LOG_FILE, SPEC_FILE, STATE_FILE, log_tail, write_state
from shared.errors import NotFoundError
from shared.settings import Settings, process_environment
from shared.training.files import write_json_atomic
from shared.training.spec import validate_model

#: The folder that holds the ``shared`` package: the child imports the same code as the parent.
PROJECT_ROOT = Path(__file__).resolve().parent.parent.parent


class LocalComputeConfig(BaseModel):
    """``compute`` block for ``type: local``."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["local"] = "local"
    max_attempts: int = Field(2, ge=1, description="Launches allowed, counting restarts after a crash.")
    launch_grace_s: float = Field(30.0, gt=0, description="How long a claimed launch may lack its pid.")


def storage_environment(settings: Settings) -> dict[str, str]:
    """The storage settings a job's runner needs for the Blob hand-off, as environment variables
    (the app may have read them from local.settings.json rather than its environment)."""
    values = {
        "AzureWebJobsStorage": settings.storage_connection_string,
        "AzureWebJobsStorage__blobServiceUri": settings.blob_service_uri,
        "AzureWebJobsStorage__queueServiceUri": settings.queue_service_uri,
        "AzureWebJobsStorage__tableServiceUri": settings.table_service_uri,
        "AzureWebJobsStorage__clientId": settings.storage_client_id,
    }
    return {k: v for k, v in values.items() if v}


class LocalCompute:
    """Runs training jobs as detached child processes under ``work_root``."""

    backend = "local"

    def __init__(
        self, work_root: Path, python: str = sys.executable, env: Mapping[str, str] | None = None
    ) -> None:
        self.work_root = Path(work_root).resolve()
        self.python = python
        self.env = dict(env or {})  # the app's storage settings: the runner needs Blob for the hand-off

    def job_dir(self, job_name: str) -> Path:
        """The folder of job ``job_name``."""
        return self.work_root / check_job_name(job_name)

    def submit(
        self,
        job_name: str,
        handoff: JobHandoff,
        config: Mapping[str, Any] | None = None,
    ) -> JobHandle:
        """Start the job in a new session, or return the existing job of that name untouched."""
        parsed: LocalComputeConfig = validate_model(LocalComputeConfig, dict(config or {}), "compute")
        job_dir = self.job_dir(job_name)
        self.work_root.mkdir(parents=True, exist_ok=True)
        try:
            job_dir.mkdir()
        except FileExistsError:
            return JobHandle(job_name=job_name, backend=self.backend, location=str(job_dir), created=False)
        spec = {
            "handoff": handoff.model_dump(mode="json"),
            "config": parsed.model_dump(mode="json"),
            "submitted_at": time.time(),
        }
        write_json_atomic(job_dir / SPEC_FILE, spec)
        (job_dir / CHECKPOINTS).mkdir()
        self._launch(job_dir, 1, parsed, None)
        return JobHandle(job_name=job_name, backend=self.backend, location=str(job_dir), created=True)

    def status(self, job_name: str) -> JobStatus:
        """State from the job's state file, corrected by whether its process still lives."""
        job_dir = self._existing(job_name)
        state = self._state(job_dir)
        if state["state"] in TERMINAL or self._running(job_dir):
            return self._status(job_name, job_dir, state)
        state = self._state(job_dir)  # it may have finished between the two reads
        if state["state"] in TERMINAL:
            return self._status(job_name, job_dir, state)
        config = self._config(job_dir)
        attempt = self._attempt(job_dir)
        if attempt < config.max_attempts:
            message = f"attempt {attempt} died without a result; restarted from the last checkpoint"
            self._launch(job_dir, attempt + 1, config, message)
        else:
            message = f"process died without a result after {attempt} attempt(s)"
            write_state(job_dir, "failed", attempt=attempt, exit_code=None, message=message)
        return self._status(job_name, job_dir, self._state(job_dir))

    def cancel(self, job_name: str) -> JobStatus:
        """Terminate the job's process group (TERM, then KILL after 5 s) and record ``cancelled``."""
        job_dir = self._existing(job_name)
        state = self._state(job_dir)
        if state["state"] in TERMINAL:
            return self._status(job_name, job_dir, state)
        launch = self._launch_record(job_dir, self._attempt(job_dir))
        if launch is not None:
            self._kill_group(int(launch["pid"]), launch.get("token"))
        write_state(job_dir, "cancelled", attempt=self._attempt(job_dir), message="cancelled by request")
        return self._status(job_name, job_dir, self._state(job_dir))

    def _launch(self, job_dir: Path, attempt: int, config: LocalComputeConfig, message: str | None) -> bool:
        claim = job_dir / f"attempt-{attempt:04d}.claim"
        try:
            os.close(os.open(claim, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
        except FileExistsError:
            return False  # another poller launched this attempt
        write_state(job_dir, "queued", attempt=attempt, message=message)
        # The runner is app code (it mirrors checkpoints to Blob, so it keeps the storage settings);
        # the host's keys stay behind. A command trainer's script gets far less (job_environment).
        env = {k: v for k, v in process_environment().items() if not k.startswith("DEVHOST_")}
        env.update(self.env)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(PROJECT_ROOT), env.get("PYTHONPATH", "")) if p)
        argv = [
            self.python,
            "-m",
            "shared.compute.runner",
            "--job-dir",
            str(job_dir),
            "--attempt",
            str(attempt),
        ]
        with open(job_dir / LOG_FILE, "ab") as log:
            if message:
                log.write(f"[compute] {message}\n".encode())
                log.flush()
            proc = subprocess.Popen(  # detached: a new session survives its parent and its terminal
                argv,
                cwd=PROJECT_ROOT,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                close_fds=True,
            )
        record = {"pid": proc.pid, "token": start_token(proc.pid), "launched_at": time.time()}
        write_json_atomic(job_dir / f"attempt-{attempt:04d}.json", record)
        return True

    def _running(self, job_dir: Path) -> bool:
        attempt = self._attempt(job_dir)
        launch = self._launch_record(job_dir, attempt)
        if launch is None:
            state = self._state(job_dir)
            if state.get("pid") and state.get("attempt") == attempt:  # the runner reported itself
                return is_alive(int(state["pid"]), state.get("token"))
            claim = job_dir / f"attempt-{attempt:04d}.claim"
            started = claim.stat().st_mtime if claim.exists() else job_dir.stat().st_mtime
            return time.time() - started < self._config(job_dir).launch_grace_s
        return is_alive(int(launch["pid"]), launch.get("token"))

    @staticmethod
    def _kill_group(pid: int, token: str | None) -> None:
        if not is_alive(pid, token):
            return
        for sig, wait_s in ((signal.SIGTERM, 5.0), (signal.SIGKILL, 5.0)):
            try:
                os.killpg(pid, sig)  # start_new_session made the runner its group leader
            except ProcessLookupError:
                return
            deadline = time.monotonic() + wait_s
            while time.monotonic() < deadline:
                if not is_alive(pid, token):
                    return
                time.sleep(0.05)

    def _existing(self, job_name: str) -> Path:
        job_dir = self.job_dir(job_name)
        if not job_dir.is_dir():
            raise NotFoundError(f"no local job named {job_name!r}", field="job_name")
        return job_dir

    @staticmethod
    def _attempt(job_dir: Path) -> int:
        claims = [int(p.name[8:12]) for p in job_dir.glob("attempt-*.claim")]
        return max(claims, default=1)

    @staticmethod
    def _launch_record(job_dir: Path, attempt: int) -> dict[str, Any] | None:
        path = job_dir / f"attempt-{attempt:04d}.json"
        return dict(json.loads(path.read_text(encoding="utf-8"))) if path.is_file() else None

    @staticmethod
    def _state(job_dir: Path) -> dict[str, Any]:
        path = job_dir / STATE_FILE
        return dict(json.loads(path.read_text(encoding="utf-8"))) if path.is_file() else {"state": "queued"}

    @staticmethod
    def _config(job_dir: Path) -> LocalComputeConfig:
        path = job_dir / SPEC_FILE
        raw = json.loads(path.read_text(encoding="utf-8"))["config"] if path.is_file() else {}
        raw.pop("env", None)  # jobs submitted before job environments were fixed by the app
        return LocalComputeConfig.model_validate(raw)

    @staticmethod
    def _status(job_name: str, job_dir: Path, state: dict[str, Any]) -> JobStatus:
        return JobStatus(
            job_name=job_name,
            state=state["state"],
            exit_code=state.get("exit_code"),
            attempt=int(state.get("attempt", 1)),
            message=state.get("message"),
            log_tail=log_tail(job_dir),  # fresher than the tail the runner stored at its end
        )
