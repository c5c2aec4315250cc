"""``command`` trainer: run the user's script; it must write ``model.onnx`` and ``metrics.json``.

The script gets the dataset folder, an output folder and a checkpoints folder three ways: as
``{data}``/``{out}``/``{checkpoints}`` placeholders in its argv (or, without placeholders, as
two trailing arguments ``DATA OUT``) and as ``MLOPS_DATA_DIR``/``MLOPS_OUTPUT_DIR``/
``MLOPS_CHECKPOINT_DIR``. It runs with the dataset folder as working directory; ``python`` as
argv[0] means this interpreter. The model must follow the contract in shared.models.signature
(one float input ``input``; ``probabilities`` columns in sorted training-label order, or
``value``); the job stamps the metadata.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.errors import ValidationError
from shared.models.onnx_io import parse_onnx
from shared.settings import process_environment
from shared.training.dataset import TrainingData
from shared.training.errors import TrainingFailedError
from shared.training.spec import validate_model
from shared.training.trainers.base import TrainOutput

TAIL_CHARS = 4000


class CommandConfig(BaseModel):
    """``trainer`` block for ``type: command``."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["command"] = "command"
    command: list[str] = Field(min_length=1, description="argv; may use {data}, {out}, {checkpoints}.")
    timeout_s: float = Field(3600.0, gt=0, description="Wall-clock limit for the script.")
    env: dict[str, str] = Field(default_factory=dict, description="Extra environment variables.")


def _argv(config: CommandConfig, data: Path, out: Path, checkpoints: Path) -> list[str]:
    places = {"data": str(data), "out": str(out), "checkpoints": str(checkpoints)}
    templated = any("{" in arg for arg in config.command)
    argv = [arg.format(**places) if templated else arg for arg in config.command]
    if argv[0] in ("python", "python3"):
        argv[0] = sys.executable
    return argv if templated else [*argv, str(data), str(out)]


def _outputs(stage: Path) -> tuple[bytes, dict[str, Any]]:
    model_path, metrics_path = stage / "model.onnx", stage / "metrics.json"
    if not model_path.is_file():
        raise ValidationError("the command finished without writing model.onnx", field="model.onnx")
    if not metrics_path.is_file():
        raise ValidationError("the command finished without writing metrics.json", field="metrics.json")
    try:
        metrics = json.loads(metrics_path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ValidationError(
            f"metrics.json written by the command is not JSON: {exc}", field="metrics.json"
        ) from exc
    if not isinstance(metrics, dict):
        raise ValidationError(
            "metrics.json written by the command must be a JSON object", field="metrics.json"
        )
    model = model_path.read_bytes()
    parse_onnx(model, "model.onnx")  # refuses pickles and invalid ONNX before anything else
    return model, metrics


def train(data: TrainingData, checkpoints: Path | None) -> TrainOutput:
    """Run the user's command in a scratch output folder and collect its model and metrics."""
    config: CommandConfig = validate_model(CommandConfig, data.spec.trainer, "job.trainer")
    with tempfile.TemporaryDirectory(prefix="mlops-command-") as scratch:
        stage = Path(scratch) / "out"
        stage.mkdir()
        ckpt = checkpoints or Path(scratch) / "checkpoints"
        ckpt.mkdir(parents=True, exist_ok=True)
        data_dir = data.data_dir.resolve()
        env = {
            **process_environment(),
            **config.env,
            "MLOPS_DATA_DIR": str(data_dir),
            "MLOPS_OUTPUT_DIR": str(stage),
            "MLOPS_CHECKPOINT_DIR": str(ckpt),
        }
        argv = _argv(config, data_dir, stage, ckpt)
        try:
            done = subprocess.run(
                argv,
                cwd=data_dir,
                env=env,
                capture_output=True,
                text=True,
                timeout=config.timeout_s,
                check=False,
            )
        except FileNotFoundError as exc:
            raise ValidationError(f"command not found: {argv[0]}", field="job.trainer.command") from exc
        except subprocess.TimeoutExpired as exc:
            raise TrainingFailedError(f"command timed out after {config.timeout_s:g}s") from exc
        if done.returncode != 0:
            tail = (done.stdout + done.stderr)[-TAIL_CHARS:]
            raise TrainingFailedError(f"command exited with code {done.returncode}:\n{tail}")
        model, metrics = _outputs(stage)
    epochs = metrics.get("epochs", 1)
    return TrainOutput(
        onnx=model,
        epochs=epochs if isinstance(epochs, int) and not isinstance(epochs, bool) else 1,
        device=str(metrics.get("device", "cpu")),
        extra={"command_metrics": metrics},
    )
