"""The parts of a pipeline spec that stand on their own: source, data rules, trainer, compute."""

from __future__ import annotations

import re
from pathlib import PurePosixPath
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

SourceKind = Literal["blob", "file", "bundled"]
DataFormat = Literal["csv", "parquet"]
ColumnType = Literal["int", "float", "bool", "string", "category", "datetime"]

#: The training environment infra registers in the Azure ML workspace (infra/app/ml.bicep).
DEFAULT_TRAINING_ENVIRONMENT = "azureml:mlops-train:1"

#: Demo datasets that ship inside scikit-learn (no download).
BUNDLED_DATASETS = ("breast_cancer", "diabetes")

_CONTAINER = re.compile(r"^[a-z0-9](?:[a-z0-9]|-(?=[a-z0-9])){2,62}$")
_SUFFIX_FORMATS: dict[str, DataFormat] = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}


class _Strict(BaseModel):
    """Base of every spec section: unknown keys are errors, instances are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)


#: Most blobs one prefix/pattern source may select: a wider selection is refused, not truncated.
MAX_SELECTED_BLOBS = 1000
#: Characters that make a blob location a glob pattern (``*`` stays inside one ``/`` segment).
GLOB_CHARS = frozenset("*?[")
_WINDOW = re.compile(r"^([1-9][0-9]{0,5})([mhdw])$")
_WINDOW_UNITS = {"m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


class Selection(_Strict):
    """Which blobs of a prefix or pattern are read: the newest N, those modified within a window, or both."""

    newest: int | None = Field(
        default=None, ge=1, le=MAX_SELECTED_BLOBS, description="Read only the N most recently modified blobs."
    )
    within: str | None = Field(
        default=None,
        description="Read only blobs modified this long before the run or later: <n><m|h|d|w>, e.g. 7d.",
    )

    @field_validator("within")
    @classmethod
    def _window_is_a_duration(cls, value: str | None) -> str | None:
        if value is not None and not _WINDOW.match(value):
            raise ValueError(f"must be a number and a unit m, h, d or w (e.g. '7d', '12h'), not {value!r}")
        return value

    @model_validator(mode="after")
    def _has_a_rule(self) -> Selection:
        if self.newest is None and self.within is None:
            raise ValueError("give newest, within, or both")
        return self

    def window_seconds(self) -> int | None:
        """The time window in seconds (None when there is none)."""
        if self.within is None:
            return None
        match = _WINDOW.match(self.within)
        assert match is not None  # checked by the validator
        return int(match.group(1)) * _WINDOW_UNITS[match.group(2)]


def _parse_source_string(text: str) -> dict[str, Any]:
    """Expand the string shorthand of a source into its fields (see ``Source``)."""
    if text.startswith("sklearn:"):
        return {"kind": "bundled", "location": text.removeprefix("sklearn:")}
    if text.startswith("blob:"):
        return {"kind": "blob", "location": text.removeprefix("blob:")}
    if text.startswith("file:"):
        return {"kind": "file", "location": text.removeprefix("file:")}
    if text.startswith(("/", "./", "../", "~")):
        return {"kind": "file", "location": text}
    return {"kind": "blob", "location": text}


class Source(_Strict):
    """Where the training data comes from.

    YAML shorthand: ``sklearn:breast_cancer`` (bundled), ``blob:container/name`` or a bare
    ``container/name`` (blob), ``file:path`` or a path starting with ``/``, ``./``, ``../`` (file).
    A blob location ending in ``/`` is a prefix and one holding ``*``, ``?`` or ``[`` a pattern
    (``*`` stays within one folder); either reads every blob it matches (at most
    ``MAX_SELECTED_BLOBS``), or those ``select`` picks, as one dataset.
    """

    kind: SourceKind = Field(description="blob (container/name), file (local path) or bundled (sklearn).")
    location: str = Field(
        min_length=1,
        description="Blob path, prefix (ending in '/') or * ? [..] pattern; file path; or bundled name.",
    )
    format: DataFormat | None = Field(
        default=None, description="csv or parquet; inferred from the file suffix when left out."
    )
    select: Selection | None = Field(
        default=None,
        description="For a blob prefix or pattern: {newest: N} and/or {within: 7d}; left out, every match.",
    )

    @model_validator(mode="before")
    @classmethod
    def _expand_shorthand(cls, data: Any) -> Any:
        return _parse_source_string(data) if isinstance(data, str) else data

    @model_validator(mode="after")
    def _check_location(self) -> Source:
        if self.kind == "bundled":
            if self.location not in BUNDLED_DATASETS:
                raise ValueError(
                    f"unknown bundled dataset {self.location!r}; known: {list(BUNDLED_DATASETS)}"
                )
            if self.format == "parquet":
                raise ValueError("bundled datasets are serialised as csv")
        if self.kind == "blob":
            container, _, name = self.location.partition("/")
            whole = not name and self.location.endswith("/")  # "container/": every blob in it
            if not _CONTAINER.match(container) or not (name or whole):
                raise ValueError(
                    f"blob source must be 'container/name' with a valid container: {self.location!r}"
                )
            if ".." in name.split("/"):
                raise ValueError("blob name must not contain '..' segments")
        if self.select is not None and not self.is_selection():
            raise ValueError("select needs a blob prefix (ending in '/') or a pattern (with * ? or [)")
        if self.resolved_format() is None:
            raise ValueError(
                f"cannot infer the format of {self.location!r}; set source.format (csv or parquet)"
            )
        return self

    def is_selection(self) -> bool:
        """Whether the location names many blobs (a prefix or a glob pattern), not one."""
        if self.kind != "blob":
            return False
        return self.location.endswith("/") or any(c in GLOB_CHARS for c in self.location)

    def resolved_format(self) -> DataFormat | None:
        """The data format: the declared one, else the one the suffix implies (bundled: csv)."""
        if self.format is not None:
            return self.format
        if self.kind == "bundled":
            return "csv"
        return _SUFFIX_FORMATS.get(PurePosixPath(self.location).suffix.lower())


class ColumnExpectation(_Strict):
    """Rules every value of one column must meet; a row breaking one is quarantined."""

    not_null: bool = Field(default=False, description="Reject rows where the column is null.")
    min: float | None = Field(default=None, description="Smallest allowed value (inclusive).")
    max: float | None = Field(default=None, description="Largest allowed value (inclusive).")
    allowed: list[str | int | float | bool] | None = Field(
        default=None, min_length=1, description="The only values allowed (compared as text)."
    )
    regex: str | None = Field(default=None, description="Pattern every non-null value must fully match.")
    unique: bool = Field(default=False, description="Values must not repeat; later repeats are quarantined.")

    @model_validator(mode="after")
    def _check(self) -> ColumnExpectation:
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min ({self.min}) is greater than max ({self.max})")
        if self.regex is not None:
            try:
                re.compile(self.regex)
            except re.error as exc:
                raise ValueError(f"regex does not compile: {exc}") from exc
        return self


class Expectations(_Strict):
    """Declared data expectations: per column rules and dataset-wide ones."""

    columns: dict[str, ColumnExpectation] = Field(
        default_factory=dict, description="Per-column rules, keyed by column name."
    )
    min_rows: int = Field(default=1, ge=0, description="Fewest accepted rows a dataset may have.")
    max_columns: int = Field(
        default=1000,
        ge=1,
        description="Most columns a dataset may have; a wider one is rejected, naming both counts.",
    )
    allow_non_finite: bool = Field(
        default=False,
        description=(
            "Whether NaN, inf and -inf (text such as 'nan', 'inf', '-inf', '1e999') may stay in numeric "
            "columns. False (default): such rows are quarantined with reason 'non-finite number'. True: "
            "they are kept, except where a min/max rule refuses them (NaN is in no range)."
        ),
    )


class Split(_Strict):
    """How rows are assigned to train/validation/holdout (by a seeded hash of the row number)."""

    seed: int = Field(default=42, ge=0, description="Seed of the row hash; same seed, same split.")
    train: float = Field(default=0.7, gt=0, le=1, description="Fraction of rows for training.")
    validation: float = Field(default=0.15, ge=0, le=1, description="Fraction of rows for validation.")
    holdout: float = Field(default=0.15, ge=0, le=1, description="Fraction of rows for the final holdout.")

    @model_validator(mode="after")
    def _sums_to_one(self) -> Split:
        total = self.train + self.validation + self.holdout
        if abs(total - 1.0) > 1e-9:
            raise ValueError(f"train + validation + holdout must sum to 1, got {total:g}")
        return self


class SklearnTrainer(_Strict):
    """Builtin scikit-learn trainer."""

    kind: Literal["sklearn"] = Field(description="Trainer kind.")
    model: Literal["logistic_regression", "gradient_boosting"] = Field(description="Estimator family.")
    params: dict[str, Any] = Field(default_factory=dict, description="Keyword arguments of the estimator.")


class TorchMlpTrainer(_Strict):
    """Builtin PyTorch multi-layer perceptron trainer (GPU when present)."""

    kind: Literal["torch_mlp"] = Field(description="Trainer kind.")
    hidden: list[Annotated[int, Field(gt=0)]] = Field(
        default_factory=lambda: [64, 64], min_length=1, description="Width of each hidden layer."
    )
    epochs: int = Field(default=20, gt=0, description="Passes over the training split.")
    lr: float = Field(default=1e-3, gt=0, description="Learning rate.")
    batch_size: int = Field(default=256, gt=0, description="Rows per optimisation step.")


#: A trainer script is named, never located: one plain ``.py`` file name, no folders, no flags.
SCRIPT_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}\.py$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
MAX_SCRIPT_ARGS = 64


class CommandTrainer(_Strict):
    """A trainer script the app trusts, run as the training job; it writes model.onnx and metrics.json.

    The script is named, not sent: one shipped with the app (``trainers/<name>``) or registered by
    an admin (``POST /api/admin/scripts/<name>``). ``args`` are data handed to the script after its
    path (never to the interpreter, never to a shell).
    """

    kind: Literal["command"] = Field(description="Trainer kind.")
    script: str = Field(description="Name of a shipped or admin-registered trainer script, e.g. train.py.")
    sha256: str | None = Field(
        default=None, description="Pin: the run is refused unless the script's sha256 is this one."
    )
    args: list[Annotated[str, Field(max_length=1024)]] = Field(
        default_factory=list, max_length=MAX_SCRIPT_ARGS, description="Arguments passed to the script."
    )
    inputs: Literal["matrix", "raw"] = Field(
        default="matrix",
        description="matrix: the model takes one float tensor of the numeric features (categories and "
        "dates are dropped with that reason); raw: one input per feature column, as the builtin trainers.",
    )

    @field_validator("script")
    @classmethod
    def _script_is_a_name(cls, value: str) -> str:
        if not SCRIPT_NAME.match(value):
            raise ValueError(
                "must name a shipped or registered trainer script like 'train.py' (lowercase file "
                f"name ending in .py; no paths, no interpreter flags), not {value!r}"
            )
        return value

    @field_validator("sha256")
    @classmethod
    def _sha256_is_hex(cls, value: str | None) -> str | None:
        if value is not None and not _SHA256.match(value):
            raise ValueError("must be 64 lowercase hex characters")
        return value

    @field_validator("args")
    @classmethod
    def _args_are_text(cls, value: list[str]) -> list[str]:
        if any("\x00" in arg for arg in value):
            raise ValueError("must not contain NUL characters")
        return value


Trainer = Annotated[SklearnTrainer | TorchMlpTrainer | CommandTrainer, Field(discriminator="kind")]


class LocalCompute(_Strict):
    """Train in a child process on the host (CUDA if present)."""

    kind: Literal["local"] = Field(description="Compute kind.")
    poll_seconds: int = Field(default=2, ge=1, le=3600, description="Seconds between job status polls.")


class AzureMlCompute(_Strict):
    """Train as an Azure ML command job on a cluster that scales to zero: the one compute config.

    The adapter (shared.compute.azureml) takes this section as it is; nothing else re-declares it.
    """

    kind: Literal["azureml"] = Field(description="Compute kind.")
    cluster: str = Field(
        min_length=2,
        max_length=32,
        pattern=r"^[a-zA-Z][a-zA-Z0-9-]*$",
        description="Azure ML compute cluster name.",
    )
    instance_type: str = Field(
        min_length=1, pattern=r"^[A-Za-z0-9_]+$", description="VM size, e.g. Standard_NC4as_T4_v3."
    )
    instance_count: int = Field(default=1, ge=1, le=16, description="Nodes the job runs on.")
    environment: str = Field(
        default=DEFAULT_TRAINING_ENVIRONMENT,
        pattern=r"^azureml:(//registries/[A-Za-z0-9_-]+/environments/)?[A-Za-z0-9_.-]+(?::[A-Za-z0-9_.-]+|@latest|/versions/[A-Za-z0-9_.-]+)$",
        description=(
            "Registered or curated environment with the training dependencies (torch included): "
            "'azureml:<name>:<version>', 'azureml:<name>@latest' or "
            "'azureml://registries/azureml/environments/<name>/versions/<v>'. The default is the one "
            "infra registers (infra/app/ml.bicep)."
        ),
    )
    low_priority: bool = Field(
        default=False, description="Run on low-priority (spot) capacity: cheaper, may be preempted."
    )
    max_preemption_retries: int = Field(
        default=3, ge=0, le=10, description="Resubmissions after a preemption before the run fails."
    )
    timeout_s: int = Field(
        default=4 * 3600,
        ge=60,
        le=7 * 24 * 3600,
        description="Wall-clock limit of one job attempt (seconds).",
    )
    poll_seconds: int = Field(default=30, ge=1, le=3600, description="Seconds between job status polls.")


Compute = Annotated[LocalCompute | AzureMlCompute, Field(discriminator="kind")]

#: Tags of the discriminated unions; error paths drop them (``trainer.sklearn.model`` -> ``trainer.model``).
UNION_TAGS: dict[str, frozenset[str]] = {
    "trainer": frozenset({"sklearn", "torch_mlp", "command"}),
    "compute": frozenset({"local", "azureml"}),
}
