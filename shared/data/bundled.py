"""scikit-learn's bundled demo datasets, serialised to one canonical CSV so their hash is stable."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import polars as pl
from sklearn import datasets

from shared.errors import ValidationError

_LOADERS: dict[str, Callable[..., Any]] = {
    "breast_cancer": datasets.load_breast_cancer,
    "diabetes": datasets.load_diabetes,
}


def bundled_frame(name: str) -> pl.DataFrame:
    """A bundled dataset as a frame: its features plus a ``target`` column."""
    loader = _LOADERS.get(name)
    if loader is None:
        raise ValidationError(f"unknown bundled dataset {name!r}; known: {sorted(_LOADERS)}", field="source")
    bunch = loader(scaled=False) if name == "diabetes" else loader()
    columns = {str(n): np.asarray(bunch.data[:, i]) for i, n in enumerate(bunch.feature_names)}
    columns["target"] = np.asarray(bunch.target)
    return pl.DataFrame(columns)


def bundled_csv_bytes(name: str) -> bytes:
    """The canonical CSV bytes of a bundled dataset (``\\n`` line ends, polars' float text)."""
    return bundled_frame(name).write_csv().encode("utf-8")
