"""The detached process LocalCompute starts: runs one training job and records its state atomically."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import traceback
from pathlib import Path
from typing import Any

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


def run(job_dir: Path, attempt: int) -> int:
    """Run the job described by ``spec.json`` and record running -> succeeded/failed; the exit code."""
    pid = os.getpid()
    write_state(job_dir, "running", pid=pid, token=start_token(pid), attempt=attempt)
    print(f"[runner] attempt {attempt} pid {pid} started", flush=True)
    try:
        from shared.training.blob_checkpoints import for_job
        from shared.training.job import run_job  # imported here so a broken install is still recorded

        spec = json.loads((job_dir / SPEC_FILE).read_text(encoding="utf-8"))
        checkpoints = job_dir / CHECKPOINTS
        mirror = for_job(job_dir.name)  # checkpoints to Blob every epoch when storage is configured
        if mirror is not None and mirror.restore(checkpoints):
            print(f"[runner] restored checkpoints of {job_dir.name} from Blob", flush=True)

        def on_epoch_end(epoch: int) -> None:
            if mirror is not None:
                mirror.on_epoch_end(checkpoints)

        result = run_job(Path(spec["data_dir"]), Path(spec["out_dir"]), checkpoints, on_epoch_end)
    except MlopsError as exc:
        code = 2 if isinstance(exc, ValidationError) else 1
        print(f"[runner] failed: {type(exc).__name__}: {exc.message}", flush=True)
        _finish(job_dir, "failed", pid=pid, attempt=attempt, exit_code=code, message=exc.message)
        return code
    except Exception as exc:
        traceback.print_exc()
        _finish(
            job_dir, "failed", pid=pid, attempt=attempt, exit_code=1, message=f"{type(exc).__name__}: {exc}"
        )
        return 1
    print(f"[runner] succeeded sha256={result.sha256}", flush=True)
    _finish(job_dir, "succeeded", pid=pid, attempt=attempt, exit_code=0, sha256=result.sha256)
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
