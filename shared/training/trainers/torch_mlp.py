"""Builtin ``torch_mlp`` trainer: a seeded tabular MLP with standardisation inside the model.

Raw columns like the sklearn trainer: the same preprocessing (``shared.training.features``:
impute, one-hot categories, dates as epoch days) is fitted on train, exported with skl2onnx and
composed in front of the exported network (``onnx.compose``), so the one ONNX file takes one
input per feature column.

Checkpoints: ``<checkpoints>/last.pt`` after every epoch (model + optimizer state + epoch +
history), written to a temp file and renamed. They are read back with
``torch.load(weights_only=True)``, which only rebuilds tensors and plain containers and refuses
arbitrary pickled objects. Each epoch reseeds from (seed, epoch), so a resumed run produces the
same weights as one that was never interrupted.
"""

from __future__ import annotations

import dataclasses
import io
import json
import time
import warnings
from pathlib import Path
from typing import Any, Literal, cast

import numpy as np
import onnx
import torch
from pydantic import BaseModel, ConfigDict, Field
from torch import nn

from shared.errors import ValidationError
from shared.models.signature import INPUT_NAME, META_CATEGORIES, PROBABILITIES, VALUE
from shared.training.dataset import TrainingData
from shared.training.features import initial_types, preprocessor, seen_categories, to_model_frame
from shared.training.files import write_bytes_atomic
from shared.training.spec import validate_model
from shared.training.trainers.base import EpochHook, TrainOutput

CHECKPOINT = "last.pt"
#: The network's export opset; the preprocessing graph is exported at the same one to compose.
OPSET = 17


class TorchMLPConfig(BaseModel):
    """``trainer`` block for ``type: torch_mlp``."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["torch_mlp"] = "torch_mlp"
    hidden: list[int] = Field(default_factory=lambda: [64, 32], description="Hidden layer widths.")
    epochs: int = Field(20, ge=1, description="Total epochs, counting those done before a resume.")
    batch_size: int = Field(64, ge=1)
    lr: float = Field(1e-3, gt=0, description="Adam learning rate.")
    weight_decay: float = Field(0.0, ge=0)
    dropout: float = Field(0.0, ge=0, lt=1)
    device: Literal["auto", "cpu", "cuda"] = Field("auto", description="auto = CUDA when available.")


class TabularMLP(nn.Module):
    """Standardise inputs, MLP, then softmax probabilities or a de-standardised value."""

    x_mean: torch.Tensor
    x_std: torch.Tensor
    y_mean: torch.Tensor
    y_std: torch.Tensor

    def __init__(self, n_in: int, hidden: list[int], n_out: int, task: str, dropout: float) -> None:
        super().__init__()
        self.task = task
        layers: list[nn.Module] = []
        width = n_in
        for size in hidden:
            layers += [nn.Linear(width, size), nn.ReLU()]
            if dropout:
                layers.append(nn.Dropout(dropout))
            width = size
        layers.append(nn.Linear(width, n_out))
        self.net = nn.Sequential(*layers)
        self.register_buffer("x_mean", torch.zeros(n_in))
        self.register_buffer("x_std", torch.ones(n_in))
        self.register_buffer("y_mean", torch.zeros(1))
        self.register_buffer("y_std", torch.ones(1))

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        """Raw head output (class logits or standardised value)."""
        out: torch.Tensor = self.net((x - self.x_mean) / self.x_std)
        return out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Probabilities ``[batch, classes]`` or values ``[batch, 1]`` in target units."""
        z = self.logits(x)
        if self.task == "classification":
            return torch.softmax(z, dim=1)
        return z * self.y_std + self.y_mean


def pick_device(choice: str) -> torch.device:
    """CUDA when asked or when ``auto`` finds it; CPU otherwise."""
    if choice == "cuda" and not torch.cuda.is_available():
        raise ValidationError(
            "trainer.device is cuda but no CUDA device is available", field="job.trainer.device"
        )
    if choice == "cuda" or (choice == "auto" and torch.cuda.is_available()):
        return torch.device("cuda")
    return torch.device("cpu")


def build_model(data: TrainingData, config: TorchMLPConfig) -> TabularMLP:
    """A fresh model with the train split's statistics baked into its buffers."""
    torch.manual_seed(data.spec.seed)
    model = TabularMLP(data.x_train.shape[1], config.hidden, data.n_outputs, data.spec.task, config.dropout)
    x = torch.from_numpy(data.x_train)
    std = x.std(dim=0, unbiased=False)
    model.x_mean.copy_(x.mean(dim=0))
    model.x_std.copy_(torch.where(std > 1e-12, std, torch.ones_like(std)))  # constant column: no scaling
    if data.spec.task == "regression":
        y = torch.from_numpy(data.y_train.astype(np.float32))
        model.y_mean.fill_(float(y.mean()))
        model.y_std.fill_(max(float(y.std(unbiased=False)), 1e-12))
    return model


def _arch(data: TrainingData, config: TorchMLPConfig) -> list[int]:
    return [data.x_train.shape[1], *config.hidden, data.n_outputs]


def save_checkpoint(
    path: Path, model: nn.Module, optimizer: torch.optim.Optimizer, state: dict[str, Any]
) -> None:
    """Atomically write model + optimizer state + epoch/history to ``path``."""
    buffer = io.BytesIO()
    torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(), **state}, buffer)
    write_bytes_atomic(path, buffer.getvalue())


def load_checkpoint(path: Path, device: torch.device) -> dict[str, Any] | None:
    """The checkpoint at ``path`` (tensors and plain containers only), or None when there is none."""
    if not path.is_file():
        return None
    loaded: dict[str, Any] = torch.load(path, map_location=device, weights_only=True)
    return loaded


def _epoch(
    model: TabularMLP,
    optimizer: torch.optim.Optimizer,
    data: TrainingData,
    config: TorchMLPConfig,
    device: torch.device,
    epoch: int,
) -> float:
    # Reseed per epoch: shuffling and dropout depend on (seed, epoch) only, so resume is exact.
    torch.manual_seed(data.spec.seed * 100_003 + epoch)
    x = torch.from_numpy(data.x_train).to(device)
    y_np = data.y_train if data.spec.task == "classification" else data.y_train.astype(np.float32)
    y = torch.from_numpy(y_np).to(device)
    loss_fn: nn.Module = nn.CrossEntropyLoss() if data.spec.task == "classification" else nn.MSELoss()
    model.train()
    order = torch.randperm(len(x), device="cpu").to(device)
    total = 0.0
    for start in range(0, len(x), config.batch_size):
        idx = order[start : start + config.batch_size]
        out = model.logits(x[idx])
        target = (
            y[idx] if data.spec.task == "classification" else ((y[idx] - model.y_mean) / model.y_std)[:, None]
        )
        loss = loss_fn(out, target)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        total += float(loss.detach()) * len(idx)
    return total / len(x)


def export(model: TabularMLP, n_features: int, task: str) -> bytes:
    """ONNX bytes with a dynamic batch axis; output ``probabilities`` or ``value``."""
    model = model.to("cpu").eval()
    output = PROBABILITIES if task == "classification" else VALUE
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the legacy exporter warns it is legacy; it needs no onnxscript
        torch.onnx.export(
            model,
            (torch.zeros(2, n_features),),
            cast(Any, buffer),  # file-like objects work; the stub only names paths
            input_names=[INPUT_NAME],
            output_names=[output],
            dynamic_axes={INPUT_NAME: {0: "batch"}, output: {0: "batch"}},
            opset_version=17,
            dynamo=False,
        )
    return buffer.getvalue()


def prepared(data: TrainingData) -> tuple[Any, TrainingData]:
    """The preprocessing fitted on train (impute + one-hot; the network standardises by itself)
    and the data with ``x_train``/``x_val`` as its float32 output. Deterministic: a resumed job
    gets the same matrices."""
    if data.train is None:
        raise ValidationError("the torch_mlp trainer needs the raw train split", field="train.parquet")
    kinds = data.spec.feature_kinds()
    prep = preprocessor(kinds, scale=False, numeric_impute=data.spec.numeric_impute)
    x_train = prep.fit_transform(to_model_frame(data.train, kinds, "train"))
    x_val = prep.transform(to_model_frame(data.validation, kinds, "validation"))
    return prep, dataclasses.replace(
        data,
        x_train=np.ascontiguousarray(x_train, dtype=np.float32),
        x_val=np.ascontiguousarray(x_val, dtype=np.float32),
    )


def compose(prep: Any, network: bytes, data: TrainingData) -> bytes:
    """One ONNX: the preprocessing graph (one input per raw column) feeding the network's ``input``."""
    from skl2onnx import to_onnx

    kinds = data.spec.feature_kinds()
    pre: Any = to_onnx(prep, initial_types=initial_types(kinds), target_opset={"": OPSET, "ai.onnx.ml": 3})
    net = onnx.load_model_from_string(network)
    # Same IR version on both sides (merge_models requires it); prefixes keep inner names apart.
    pre.ir_version = net.ir_version = max(pre.ir_version, net.ir_version)
    pre = onnx.compose.add_prefix(pre, "prep_", rename_inputs=False)
    net = onnx.compose.add_prefix(net, "net_", rename_inputs=False, rename_outputs=False)
    merged = onnx.compose.merge_models(pre, net, io_map=[(pre.graph.output[0].name, INPUT_NAME)])
    merged.metadata_props.add(key=META_CATEGORIES, value=json.dumps(seen_categories(prep)))
    return bytes(merged.SerializeToString())


def train(data: TrainingData, checkpoints: Path | None, on_epoch_end: EpochHook | None = None) -> TrainOutput:
    """Train (resuming from ``checkpoints/last.pt`` when present), checkpoint each epoch, export."""
    config: TorchMLPConfig = validate_model(TorchMLPConfig, data.spec.trainer, "job.trainer")
    prep, data = prepared(data)
    device = pick_device(config.device)
    model = build_model(data, config).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    ckpt_path = checkpoints / CHECKPOINT if checkpoints is not None else None
    done, history, resumed_from = 0, [], 0
    state = load_checkpoint(ckpt_path, device) if ckpt_path is not None else None
    if state is not None:
        if state.get("arch") != _arch(data, config):
            raise ValidationError(
                f"checkpoint architecture {state.get('arch')} does not match {_arch(data, config)}",
                field="checkpoints",
            )
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        done = resumed_from = int(state["epoch"])
        history = list(state.get("history", []))
    started = time.perf_counter()
    for epoch in range(done + 1, config.epochs + 1):
        loss = _epoch(model, optimizer, data, config, device, epoch)
        history.append(loss)
        if ckpt_path is not None:
            save_checkpoint(
                ckpt_path, model, optimizer, {"epoch": epoch, "history": history, "arch": _arch(data, config)}
            )
        if on_epoch_end is not None:
            on_epoch_end(epoch)
    onnx_bytes = compose(prep, export(model, data.x_train.shape[1], data.spec.task), data)
    extra = {
        "resumed_from_epoch": resumed_from,
        "train_loss": history,
        "train_seconds": time.perf_counter() - started,
    }
    return TrainOutput(onnx=onnx_bytes, epochs=max(config.epochs, done), device=device.type, extra=extra)
