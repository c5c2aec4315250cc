"""Training benchmark: the torch_mlp trainer's throughput on CPU and, when torch sees one, on CUDA.

Run from the repository root:

    .venv/bin/python -m bench.training_bench [--rows 100000] [--features 64] [--epochs 3]

Trains the real trainer (``shared.training.trainers.torch_mlp.train``, the code a training job
runs, checkpointing every epoch) on a synthetic classification set, once per device, and reports
training samples per second (rows x epochs / the trainer's own ``train_seconds``, which excludes
data loading and the ONNX export) with the median of ``--repeats`` runs. On CUDA it also samples
GPU utilisation with ``nvidia-smi`` every 200 ms while training. Without a CUDA device the CUDA
entry says so: nothing is estimated. Writes bench/results/training.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import torch

from shared.training.dataset import load_training_data
from shared.training.folder import split_frame, write_job_folder
from shared.training.spec import JobSpec
from shared.training.trainers import torch_mlp

RESULTS = Path(__file__).resolve().parent / "results" / "training.json"


def _dataset(
    folder: Path, rows: int, features: int, hidden: list[int], batch: int, epochs: int, device: str
) -> Path:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(rows, features)).astype(np.float32)
    weights = rng.normal(size=features)
    frame = pl.DataFrame(x, schema=[f"f{i}" for i in range(features)]).with_columns(
        pl.Series("target", (x @ weights > 0).astype(np.int64))
    )
    trainer = {"type": "torch_mlp", "hidden": hidden, "epochs": epochs, "batch_size": batch, "device": device}
    spec = JobSpec(target="target", task="classification", features=frame.columns[:-1], trainer=trainer)
    train, val, _ = split_frame(frame, seed=1, fractions=(0.9, 0.1))
    return write_job_folder(folder, spec, train, val)


class GpuSampler:
    """Samples ``nvidia-smi`` utilisation.gpu (%) in a thread while training runs."""

    def __init__(self) -> None:
        self.samples: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            done = subprocess.run(
                ["nvidia-smi", "--query-gpu=utilization.gpu", "--format=csv,noheader,nounits"],
                capture_output=True,
                text=True,
                check=False,
            )
            if done.returncode == 0 and done.stdout.strip():
                self.samples.append(float(done.stdout.split()[0]))
            self._stop.wait(0.2)

    def __enter__(self) -> GpuSampler:
        self._thread.start()
        return self

    def __exit__(self, *args: Any) -> None:
        self._stop.set()
        self._thread.join()


def measure(device: str, args: argparse.Namespace) -> dict[str, Any]:
    """Median samples/s of ``args.repeats`` trainings on ``device`` (plus GPU utilisation on CUDA)."""
    rates, utilisation = [], []
    with tempfile.TemporaryDirectory(prefix="train-bench-") as scratch:
        folder = _dataset(
            Path(scratch) / "data",
            args.rows,
            args.features,
            args.hidden,
            args.batch_size,
            args.epochs,
            device,
        )
        data = load_training_data(folder)
        for repeat in range(args.repeats):
            checkpoints = Path(scratch) / f"ckpt-{repeat}"
            sampler = GpuSampler() if device == "cuda" and shutil.which("nvidia-smi") else None
            if sampler is not None:
                with sampler:
                    output = torch_mlp.train(data, checkpoints)
                utilisation.extend(sampler.samples)
            else:
                output = torch_mlp.train(data, checkpoints)
            seconds = float(output.extra["train_seconds"])
            rates.append(len(data.y_train) * args.epochs / seconds)
    result: dict[str, Any] = {
        "device": device,
        "samples_per_s_median": round(statistics.median(rates), 1),
        "samples_per_s": [round(r, 1) for r in rates],
        "train_rows": len(data.y_train),
    }
    if device == "cuda":
        result["gpu"] = torch.cuda.get_device_name(0)
        result["gpu_utilisation_pct_median"] = (
            round(statistics.median(utilisation), 1) if utilisation else None
        )
    return result


def main(argv: list[str] | None = None) -> int:
    """Benchmark CPU (always) and CUDA (when present); write bench/results/training.json."""
    parser = argparse.ArgumentParser(
        prog="python -m bench.training_bench", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--features", type=int, default=64)
    parser.add_argument("--hidden", type=int, nargs="+", default=[256, 256])
    parser.add_argument("--batch-size", type=int, default=1024)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    cpu = measure("cpu", args)
    print(json.dumps(cpu), flush=True)
    if torch.cuda.is_available():
        cuda: dict[str, Any] = measure("cuda", args)
        cuda["speedup_vs_cpu"] = round(cuda["samples_per_s_median"] / cpu["samples_per_s_median"], 2)
    else:
        cuda = {"device": "cuda", "not_run": "torch sees no CUDA device on this machine"}
    print(json.dumps(cuda), flush=True)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    document = {
        "benchmark": "training",
        "written_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "config": {k: v for k, v in vars(args).items()},
        "cpu": cpu,
        "cuda": cuda,
        "machine": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "torch": torch.__version__,
            "torch_threads": torch.get_num_threads(),
            "load_avg_end": os.getloadavg(),
        },
        "notes": (
            "samples/s = train rows x epochs / the trainer's train_seconds (epochs with a checkpoint "
            "each, no data loading or ONNX export); median of the repeats. Shared, noisy machine."
        ),
    }
    RESULTS.write_text(json.dumps(document, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
