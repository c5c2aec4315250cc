"""The detached process LocalCompute starts: runs one training job through the Blob hand-off.

It downloads the job's inputs from Blob (``<job>/data/``), restores checkpoints from Blob when its
folder is empty, trains, mirrors checkpoints every epoch, and uploads the outputs
(``<job>/out/``, ``metrics.json`` last), or ``error.json`` when the job failed by itself: the
same hand-off an Azure ML job gets through its mounts. State is recorded atomically in the job
folder for ``LocalCompute.status``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
import traceback
from pathlib import Path
from typing import Any, Literal

from shared.compute.process import start_token
from shared.errors import MlopsError, ValidationError
from shared.training.files import write_json_atomic

STATE_FILE = "state.json"
SPEC_FILE = "spec.json"
LOG_FILE = "log.txt"
CHECKPOINTS = "checkpoints"


TAIL_CHARS = 4000


def write_state(job_dir: Path, state: str, **fields: Any) -> None:
    """Atomically replace the job's state file."""
    write_json_atomic(job_dir / STATE_FILE, {"state": state, "updated_at": time.time(), **fields})


def log_tail(job_dir: Path) -> str:
    """The last few thousand characters of the job's log."""
    log = job_dir / LOG_FILE
    return log.read_bytes()[-TAIL_CHARS:].decode("utf-8", "replace") if log.is_file() else ""


def _finish(job_dir: Path, state: str, **fields: Any) -> None:
    sys.stdout.flush()
    write_state(job_dir, state, log_tail=log_tail(job_dir), **fields)


def _record_error(job_dir: Path, error: dict[str, Any]) -> None:
    """Best effort: the job's own error in Blob, so nobody mistakes it for a lost machine."""
    try:
        from shared.compute.handoff import ERROR_FILE, JobHandoff
        from shared.settings import load_settings
        from shared.storage.factory import Storage

        spec = json.loads((job_dir / SPEC_FILE).read_text(encoding="utf-8"))
        handoff = JobHandoff.model_validate(spec["handoff"])
        storage = Storage.from_settings(load_settings())
        storage.blobs.put_bytes(handoff.container, f"{handoff.out}{ERROR_FILE}", json.dumps(error).encode())
    except Exception as exc:  # storage down too: the state file still says failed
        print(f"[runner] could not record the error in Blob: {type(exc).__name__}: {exc}", flush=True)


def _notify(job_dir: Path, state: Literal["succeeded", "failed"]) -> None:
    """Best effort, after the state file says ``state``: tell the orchestration the job ended.

    Sent only now, so the status check the event triggers sees the final state; when it is lost
    (storage down, runner killed first), the orchestration's poll timer still finds the end.
    """
    try:
        spec = json.loads((job_dir / SPEC_FILE).read_text(encoding="utf-8"))
        instance = spec.get("handoff", {}).get("notify")
        if not instance:
            return
        from shared.compute.events import JobEvent, notify_job_ended
        from shared.settings import load_settings
        from shared.storage.factory import Storage

        event = JobEvent(instance=instance, job=job_dir.name, state=state)
        notify_job_ended(Storage.from_settings(load_settings()), event)
        print(f"[runner] told {instance} that the job {state}", flush=True)
    except Exception as exc:  # the poll timer is the safety net
        print(f"[runner] could not send the job-end event: {type(exc).__name__}: {exc}", flush=True)


def _train(job_dir: Path) -> str:
    from shared.compute.handoff import METRICS_FILE, JobHandoff, download_prefix, upload_folder
    from shared.settings import load_settings
    from shared.storage.factory import Storage
    from shared.training.blob_checkpoints import BlobCheckpoints
    from shared.training.job import run_job  # imported here so a broken install is still recorded

    spec = json.loads((job_dir / SPEC_FILE).read_text(encoding="utf-8"))
    handoff = JobHandoff.model_validate(spec["handoff"])
    settings = load_settings()
    settings.require_storage()
    storage = Storage.from_settings(settings)
    data_dir, out_dir, checkpoints = job_dir / "data", job_dir / "out", job_dir / CHECKPOINTS
    if not (data_dir / "job.json").is_file():  # a folder only appears complete (renamed at the end)
        partial = job_dir / "data.part"
        shutil.rmtree(partial, ignore_errors=True)
        count = download_prefix(storage, handoff.container, handoff.data, partial)
        if count == 0:
            raise ValidationError(f"no inputs in {handoff.container}/{handoff.data}", field="job")
        shutil.rmtree(data_dir, ignore_errors=True)
        os.replace(partial, data_dir)
        print(
            f"[runner] downloaded {count} input file(s) from {handoff.container}/{handoff.data}", flush=True
        )
    mirror = BlobCheckpoints(storage, handoff.container, handoff.checkpoints)
    restored = mirror.restore(checkpoints)
    if restored:
        print(f"[runner] restored {restored} checkpoint file(s) from Blob", flush=True)

    def on_epoch_end(epoch: int) -> None:
        mirror.on_epoch_end(checkpoints)

    shutil.rmtree(out_dir, ignore_errors=True)
    result = run_job(data_dir, out_dir, checkpoints, on_epoch_end)
    mirror.upload(checkpoints)
    uploaded = upload_folder(storage, handoff.container, handoff.out, out_dir, last=METRICS_FILE)
    print(f"[runner] uploaded {uploaded} output file(s) to {handoff.container}/{handoff.out}", flush=True)
    return result.sha256


def run(job_dir: Path, attempt: int) -> int:
    """Run the job described by ``spec.json`` and record running -> succeeded/failed; the exit code."""
    pid = os.getpid()
    write_state(job_dir, "running", pid=pid, token=start_token(pid), attempt=attempt)
    print(f"[runner] attempt {attempt} pid {pid} started", flush=True)
    try:
        sha256 = _train(job_dir)
    except MlopsError as exc:
        code = 2 if isinstance(exc, ValidationError) else 1
        print(f"[runner] failed: {type(exc).__name__}: {exc.message}", flush=True)
        _record_error(job_dir, {"error": type(exc).__name__, "message": exc.message, "exit_code": code})
        _finish(job_dir, "failed", pid=pid, attempt=attempt, exit_code=code, message=exc.message)
        _notify(job_dir, "failed")
        return code
    except Exception as exc:
        traceback.print_exc()
        message = f"{type(exc).__name__}: {exc}"
        _record_error(job_dir, {"error": type(exc).__name__, "message": message, "exit_code": 1})
        _finish(job_dir, "failed", pid=pid, attempt=attempt, exit_code=1, message=message)
        _notify(job_dir, "failed")
        return 1
    print(f"[runner] succeeded sha256={sha256}", flush=True)
    _finish(job_dir, "succeeded", pid=pid, attempt=attempt, exit_code=0, sha256=sha256)
    _notify(job_dir, "succeeded")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point: ``python -m shared.compute.runner --job-dir DIR --attempt N``."""
    parser = argparse.ArgumentParser(prog="python -m shared.compute.runner")
    parser.add_argument("--job-dir", required=True, type=Path)
    parser.add_argument("--attempt", type=int, default=1)
    args = parser.parse_args(argv)
    return run(args.job_dir, args.attempt)


if __name__ == "__main__":
    sys.exit(main())
