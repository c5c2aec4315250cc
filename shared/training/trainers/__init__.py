"""Builtin trainers (sklearn, torch_mlp) and the user ``command`` trainer, chosen by ``trainer.type``."""

from __future__ import annotations

from pathlib import Path

from shared.training.dataset import TrainingData
from shared.training.trainers.base import EpochHook, TrainOutput


def train(data: TrainingData, checkpoints: Path | None, on_epoch_end: EpochHook | None = None) -> TrainOutput:
    """Run the trainer the job spec names (torch is imported only when torch_mlp is used)."""
    kind = data.spec.trainer_type
    if kind == "sklearn":
        from shared.training.trainers import sklearn_trainer

        return sklearn_trainer.train(data)
    if kind == "torch_mlp":
        from shared.training.trainers import torch_mlp

        return torch_mlp.train(data, checkpoints, on_epoch_end)
    from shared.training.trainers import command

    return command.train(data, checkpoints)
