"""The training job: ``python -m shared.training.job --data DIR --out DIR [--checkpoints DIR]``.

Reads ``job.json`` + ``train.parquet`` + ``validation.parquet`` from the data folder, trains,
stamps the model contract into the ONNX, scores validation with onnxruntime and writes
``model.onnx``, ``signature.json`` and, last, ``metrics.json`` (its presence means done).
Exit codes: 0 done, 2 invalid input (ValidationError), 1 any other failure; the error goes to
stderr as one JSON line and to ``<out>/error.json``, so a job that failed by itself is told apart
from one whose machine was taken away (preempted: it wrote nothing). On Azure ML ``--out`` and
``--checkpoints`` are Blob mounts (shared.compute.handoff).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from shared.errors import MlopsError, ValidationError
from shared.models.evaluate import prediction_metrics
from shared.models.onnx_io import load_model, sha256_hex
from shared.models.signature import ModelSignature, metadata_for
from shared.training.dataset import load_training_data
from shared.training.files import write_bytes_atomic, write_json_atomic
from shared.training.onnx_stamp import stamp
from shared.training.trainers import train
from shared.training.trainers.base import EpochHook

MODEL_FILE = "model.onnx"
METRICS_FILE = "metrics.json"
SIGNATURE_FILE = "signature.json"
ERROR_FILE = "error.json"


class JobResult(BaseModel):
    """What a finished job wrote: the model's sha256 and signature, and the metrics document."""

    sha256: str
    signature: ModelSignature
    metrics: dict[str, Any]


def run_job(
    data_dir: Path, out_dir: Path, checkpoints_dir: Path | None = None, on_epoch_end: EpochHook | None = None
) -> JobResult:
    """Train the job in ``data_dir`` and write its outputs into ``out_dir``."""
    started = time.perf_counter()
    data = load_training_data(data_dir)
    spec = data.spec
    output = train(data, checkpoints_dir, on_epoch_end)
    meta = metadata_for(
        features=spec.features,
        task=spec.task,
        target=spec.target,
        classes=data.classes,
        trainer=spec.trainer_type,
        # The builtin trainers' graphs take raw columns; a command trainer's model as it declared.
        columns=dict(spec.feature_kinds()) if spec.raw_columns else None,
        dropped=dict(spec.dropped),
    )
    model_bytes = stamp(output.onnx, meta)
    sha = sha256_hex(model_bytes)
    model = load_model(model_bytes, expected_sha256=sha)  # proves the file loads and meets the contract
    validation = prediction_metrics(model, data.validation, spec.target, "validation")
    metrics = {
        "validation": validation,
        "epochs": output.epochs,
        "device": output.device,
        "seconds": round(time.perf_counter() - started, 3),
        "trainer": spec.trainer_type,
        "task": spec.task,
        "target": spec.target,
        "features": spec.features,
        "feature_types": spec.feature_kinds(),
        "dropped": spec.dropped,
        "classes": data.classes,
        "rows": {"train": len(data.y_train), "validation": len(data.y_val)},
        "sha256": sha,
        "size_bytes": len(model_bytes),
        **output.extra,
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    write_bytes_atomic(out_dir / MODEL_FILE, model_bytes)
    write_json_atomic(out_dir / SIGNATURE_FILE, {"sha256": sha, **model.signature.model_dump(mode="json")})
    write_json_atomic(out_dir / METRICS_FILE, metrics)
    return JobResult(sha256=sha, signature=model.signature, metrics=metrics)


def _record_error(out_dir: Path, error: dict[str, Any]) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    write_json_atomic(out_dir / ERROR_FILE, error)


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; returns the process exit code."""
    parser = argparse.ArgumentParser(
        prog="python -m shared.training.job", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--data", required=True, type=Path, help="dataset folder with job.json and splits")
    parser.add_argument("--out", required=True, type=Path, help="folder for model.onnx and metrics.json")
    parser.add_argument("--checkpoints", type=Path, default=None, help="checkpoint folder (resume from it)")
    args = parser.parse_args(argv)
    try:
        result = run_job(args.data, args.out, args.checkpoints)
    except MlopsError as exc:
        code = 2 if isinstance(exc, ValidationError) else 1
        _record_error(args.out, {"error": type(exc).__name__, "message": exc.message, "exit_code": code})
        print(json.dumps(exc.to_dict()), file=sys.stderr)
        return code
    except Exception as exc:
        _record_error(args.out, {"error": type(exc).__name__, "message": str(exc)[:2000], "exit_code": 1})
        raise
    print(
        json.dumps(
            {
                "sha256": result.sha256,
                "validation": result.metrics["validation"],
                "epochs": result.metrics["epochs"],
                "device": result.metrics["device"],
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
