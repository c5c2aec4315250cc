"""What every trainer returns."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

#: Called after each finished (and checkpointed) epoch with the 1-based epoch number.
EpochHook = Callable[[int], None]


@dataclass(frozen=True)
class TrainOutput:
    """ONNX bytes (contract outputs, metadata not yet stamped) and facts about the run."""

    onnx: bytes
    epochs: int
    device: str
    extra: dict[str, Any] = field(default_factory=dict)
