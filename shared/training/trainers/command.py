"""``command`` trainer: run a trusted trainer script; it must write ``model.onnx`` and ``metrics.json``.

The script is the file ``trainer_script.py`` the submit step copied into the dataset folder (a
script shipped with the app or registered by an admin); ``job.json`` records its sha256 and the
job refuses to run bytes that do not hash to it. The argv is always
``[this interpreter, script, *args]``: the script path is the first argument after the
interpreter, so no argument reaches the interpreter as a flag, and no shell sees any of them.
``args`` may use the ``{data}``/``{out}``/``{checkpoints}`` placeholders (plain text
replacement); without them the script gets two trailing arguments ``DATA OUT``. The folders are
also in ``MLOPS_DATA_DIR``/``MLOPS_OUTPUT_DIR``/``MLOPS_CHECKPOINT_DIR``.

The data folder holds ``job.json``, ``train.parquet``, ``validation.parquet`` (raw columns as
validated: numbers, booleans, categories as strings, dates as Parquet dates/datetimes, nulls kept)
and ``schema.json`` (written when the job is staged, or here if the folder lacks it)::

    {"target": "churned", "task": "classification", "classes": [0, 1], "inputs": "raw",
     "features": [{"name": "plan", "kind": "category", "categories": ["basic", "premium"]},
                  {"name": "signup_date", "kind": "datetime"}, {"name": "age", "kind": "numeric"}],
     "dropped": {"customer_id": "id-like: ..."}}

``kind`` is one of numeric, bool, category, datetime (``shared.training.features``); categories
are the distinct non-null values of train. With ``trainer.inputs: matrix`` (the default) the
features are numeric only (categories and dates are dropped with that reason) and the model takes
one float tensor ``input`` of ``[batch, len(features)]``. With ``inputs: raw`` the model takes one
input per feature, named after it, shaped ``[batch, 1]``: a string tensor for a category (null
passed as ``""``), float for the others (null passed as NaN, a date as days since 1970-01-01 UTC),
so it must impute inside the graph, exactly as the builtin trainers' models
(``trainers/onehot.py`` is a shipped example). The job refuses a raw model whose inputs differ.

The script runs in its own empty working folder (also its HOME and TMPDIR) with a minimal
environment: PATH, locale and GPU selection only; no storage connection, keys or app settings.
Inside an Azure Function App it does not run at all: there ``command`` trainers run on Azure ML.
The model must follow the contract in shared.models.signature; the job stamps the metadata.
"""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any, Literal

import polars as pl
from onnx import TensorProto
from pydantic import BaseModel, ConfigDict, Field

from shared.errors import IntegrityError, ValidationError
from shared.models.frames import class_labels, target_column
from shared.models.onnx_io import parse_onnx
from shared.settings import job_environment, load_settings
from shared.training.dataset import TrainingData
from shared.training.errors import TrainingFailedError
from shared.training.spec import JobSpec, validate_model
from shared.training.trainers.base import TrainOutput

TAIL_CHARS = 4000
#: Where the submit step puts the script in the dataset folder.
SCRIPT_FILE = "trainer_script.py"
_PLACEHOLDERS = ("{data}", "{out}", "{checkpoints}")
_PLACEHOLDER = re.compile(r"\{data\}|\{out\}|\{checkpoints\}")


class CommandConfig(BaseModel):
    """``trainer`` block of ``job.json`` for ``type: command``."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["command"] = "command"
    script: str = Field(min_length=1, description="The script's name (shipped or registered).")
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$", description="sha256 the staged script must hash to.")
    args: list[str] = Field(default_factory=list, description="Arguments after the script path.")
    timeout_s: float = Field(3600.0, gt=0, description="Wall-clock limit for the script.")
    inputs: Literal["matrix", "raw"] = Field(
        "matrix", description="One float matrix, or one input per column."
    )


#: The dataset schema the job hands the script (see the module docstring).
SCHEMA_FILE = "schema.json"


def dataset_schema(spec: JobSpec, train: pl.DataFrame) -> dict[str, Any]:
    """Column roles, kinds and (for categories) the values seen in train, as ``schema.json`` holds them."""
    features: list[dict[str, Any]] = []
    for name, kind in spec.feature_kinds().items():
        entry: dict[str, Any] = {"name": name, "kind": kind}
        if kind == "category":
            entry["categories"] = train[name].drop_nulls().cast(pl.String).unique().sort().to_list()
        features.append(entry)
    target = target_column(train, spec.target, "train")
    return {
        "target": spec.target,
        "task": spec.task,
        "classes": class_labels(target) if spec.task == "classification" else None,
        "inputs": spec.trainer.get("inputs", "matrix"),
        "features": features,
        "dropped": dict(spec.dropped),
    }


def write_schema(data_dir: Path, spec: JobSpec, train: pl.DataFrame) -> None:
    """Write ``schema.json`` into a job folder (submit stages it; Azure ML mounts the folder read-only)."""
    schema = json.dumps(dataset_schema(spec, train), indent=1, default=_plain)
    (data_dir / SCHEMA_FILE).write_text(schema, encoding="utf-8")


def _plain(value: Any) -> Any:
    """numpy scalars (class labels) as their Python value for JSON."""
    return value.item() if hasattr(value, "item") else str(value)


def _check_raw_inputs(model: bytes, kinds: dict[str, str]) -> None:
    """A raw-columns model must take exactly one ``[batch, 1]`` input per feature of the right type."""
    proto = parse_onnx(model, "model.onnx")
    initializers = {i.name for i in proto.graph.initializer}
    got = {i.name: i.type.tensor_type.elem_type for i in proto.graph.input if i.name not in initializers}
    want = {n: TensorProto.STRING if k == "category" else TensorProto.FLOAT for n, k in kinds.items()}
    if got != want:
        raise ValidationError(
            f"trainer.inputs is raw: the model must take one input per feature {sorted(want)} "
            f"(string for categories, float otherwise); it takes {sorted(got)} with types {got}",
            field="model.onnx",
        )


def script_argv(script: Path, args: list[str], data: Path, out: Path, checkpoints: Path) -> list[str]:
    """``[interpreter, script, *args]`` with the folder placeholders replaced as plain text."""
    places = {"{data}": str(data), "{out}": str(out), "{checkpoints}": str(checkpoints)}
    templated = any(token in arg for arg in args for token in _PLACEHOLDERS)
    filled = [_PLACEHOLDER.sub(lambda m: places[m.group(0)], arg) for arg in args]
    tail = filled if templated else [*filled, str(data), str(out)]
    return [sys.executable, str(script), *tail]


def verified_script(data_dir: Path, expected_sha256: str) -> Path:
    """The staged script, after checking that its bytes hash to ``expected_sha256``."""
    path = data_dir / SCRIPT_FILE
    if not path.is_file():
        raise ValidationError(f"dataset folder lacks {SCRIPT_FILE}", field="job.trainer.script")
    actual = hashlib.sha256(path.read_bytes()).hexdigest()
    if actual != expected_sha256:
        raise IntegrityError(
            f"trainer script sha256 {actual} is not the recorded {expected_sha256}: refused to run it",
            field="job.trainer.sha256",
        )
    return path


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
    """Run the verified script in its own folder and environment; collect its model and metrics."""
    config: CommandConfig = validate_model(CommandConfig, data.spec.trainer, "job.trainer")
    if load_settings().on_azure:
        raise ValidationError(
            "command trainers do not run inside the Function App: use azureml compute",
            field="compute.kind",
        )
    data_dir = data.data_dir.resolve()
    script = verified_script(data_dir, config.sha256)
    if not (data_dir / SCHEMA_FILE).is_file():  # a folder staged without it (by hand, or older)
        write_schema(data_dir, data.spec, data.validation if data.train is None else data.train)
    with tempfile.TemporaryDirectory(prefix="mlops-command-") as scratch:
        stage, work = Path(scratch) / "out", Path(scratch) / "work"
        stage.mkdir()
        work.mkdir()
        ckpt = checkpoints.resolve() if checkpoints else Path(scratch) / "checkpoints"
        ckpt.mkdir(parents=True, exist_ok=True)
        env = job_environment(
            work,
            {
                "MLOPS_DATA_DIR": str(data_dir),
                "MLOPS_OUTPUT_DIR": str(stage),
                "MLOPS_CHECKPOINT_DIR": str(ckpt),
            },
        )
        argv = script_argv(script, config.args, data_dir, stage, ckpt)
        try:
            done = subprocess.run(
                argv,
                cwd=work,
                env=env,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                timeout=config.timeout_s,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise TrainingFailedError(f"command timed out after {config.timeout_s:g}s") from exc
        if done.returncode != 0:
            tail = (done.stdout + done.stderr)[-TAIL_CHARS:]
            raise TrainingFailedError(f"command exited with code {done.returncode}:\n{tail}")
        model, metrics = _outputs(stage)
    if config.inputs == "raw":
        _check_raw_inputs(model, dict(data.spec.feature_kinds()))
    epochs = metrics.get("epochs", 1)
    return TrainOutput(
        onnx=model,
        epochs=epochs if isinstance(epochs, int) and not isinstance(epochs, bool) else 1,
        device=str(metrics.get("device", "cpu")),
        extra={"command_metrics": metrics},
    )
