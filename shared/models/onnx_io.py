"""Load model bytes safely: ONNX only, sha256 verified, never unpickled; plus a per-version cache.

Pickle (and the zip containers torch/joblib use around pickles) can run code while loading, so
such bytes are refused by looking at them, never by trying them. ONNX is protobuf: parsing it
runs no code. Order of checks: format sniff -> sha256 -> protobuf parse + ``onnx.checker`` ->
our contract (inputs as the metadata says) -> only then an ``InferenceSession``.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import onnx
import onnxruntime as ort

from shared.errors import IntegrityError, ValidationError
from shared.models.signature import (
    PROBABILITIES,
    VALUE,
    ModelSignature,
    TensorInfo,
    parse_metadata,
)

_PICKLE_PROTO = 0x80
_ZIP_MAGIC = b"PK\x03\x04"
_GZIP_MAGIC = b"\x1f\x8b"
#: A serialized ModelProto starts with field 1 (ir_version, varint): tag byte 0x08.
_ONNX_FIRST_BYTE = 0x08


def sha256_hex(data: bytes) -> str:
    """Hex sha256 of ``data``."""
    return hashlib.sha256(data).hexdigest()


def refuse_non_onnx(data: bytes, field: str = "model") -> None:
    """Raise ValidationError for bytes that are not ONNX; they are never deserialized."""
    if not data:
        raise ValidationError("model bytes are empty: refused, not loaded", field=field)
    kind = None
    if data[0] == _PICKLE_PROTO:
        kind = "a pickle"
    elif data.startswith(_ZIP_MAGIC):
        kind = "a zip archive (torch.save / joblib format)"
    elif data.startswith(_GZIP_MAGIC):
        kind = "gzip data"
    elif data[0] != _ONNX_FIRST_BYTE:
        kind = "not an ONNX ModelProto"
    if kind is not None:
        raise ValidationError(f"model bytes are {kind}: refused and never loaded; ONNX only", field=field)


def parse_onnx(data: bytes, field: str = "model") -> onnx.ModelProto:
    """Sniff, parse and check ONNX bytes (no code runs); ValidationError when they are not valid ONNX."""
    refuse_non_onnx(data, field)
    try:
        proto = onnx.load_model_from_string(data)
        onnx.checker.check_model(proto)
    except Exception as exc:  # protobuf DecodeError, checker errors: all mean "not a valid model"
        raise ValidationError(f"model bytes are not valid ONNX: refused ({exc})", field=field) from exc
    return proto


def _tensor_infos(values: Any, skip: set[str]) -> list[TensorInfo]:
    infos = []
    for value in values:
        if value.name in skip:
            continue
        ttype = value.type.tensor_type
        shape: list[int | str | None] = []
        for dim in ttype.shape.dim:
            if dim.HasField("dim_value"):
                shape.append(int(dim.dim_value))
            elif dim.HasField("dim_param"):
                shape.append(str(dim.dim_param))
            else:
                shape.append(None)
        type_name = onnx.TensorProto.DataType.Name(ttype.elem_type).lower() if ttype.elem_type else "unknown"
        infos.append(TensorInfo(name=value.name, type=type_name, shape=shape))
    return infos


def _check_matrix_input(inputs: list[TensorInfo], n_features: int, field: str) -> None:
    """The matrix form: one float ``[batch, n_features]`` input."""
    if len(inputs) != 1:
        raise ValidationError(f"model must have exactly one input, has {len(inputs)}", field=field)
    tensor = inputs[0]
    if tensor.type != "float" or len(tensor.shape) != 2:
        raise ValidationError(
            f"model input must be float [batch, n_features], is {tensor.type} {tensor.shape}", field=field
        )
    width = tensor.shape[1]
    if isinstance(width, int) and width != n_features:
        raise ValidationError(
            f"model input has {width} columns but metadata names {n_features} features", field=field
        )


def _check_column_inputs(inputs: list[TensorInfo], columns: dict[str, str], field: str) -> None:
    """The raw-columns form: one ``[batch, 1]`` input per feature in feature order, string for
    categories, else float (input names may be the column names made into identifiers)."""
    if len(inputs) != len(columns):
        raise ValidationError(
            f"model has {len(inputs)} inputs for {len(columns)} feature columns", field=field
        )
    for tensor, (name, kind) in zip(inputs, columns.items(), strict=True):
        wanted = "string" if kind == "category" else "float"
        if tensor.type != wanted or len(tensor.shape) != 2 or tensor.shape[1] not in (1, None):
            raise ValidationError(
                f"model input {tensor.name!r} (feature {name!r}) must be {wanted} [batch, 1], "
                f"is {tensor.type} {tensor.shape}",
                field=field,
            )


def signature_of(proto: onnx.ModelProto, field: str = "model") -> ModelSignature:
    """Inputs, outputs and our metadata of a parsed model, checked against the model contract."""
    initializers = {init.name for init in proto.graph.initializer}
    inputs = _tensor_infos(proto.graph.input, initializers)
    outputs = _tensor_infos(proto.graph.output, set())
    meta = parse_metadata({p.key: p.value for p in proto.metadata_props}, field)
    if meta["columns"] is not None:
        _check_column_inputs(inputs, meta["columns"], field)
    else:
        _check_matrix_input(inputs, len(meta["features"]), field)
    wanted = PROBABILITIES if meta["task"] == "classification" else VALUE
    if wanted not in {o.name for o in outputs}:
        raise ValidationError(f"{meta['task']} model must have an output named {wanted!r}", field=field)
    return ModelSignature(inputs=inputs, outputs=outputs, **meta)


@dataclass(frozen=True)
class LoadedModel:
    """A verified model ready to run: its session, signature, sha256 and size."""

    session: ort.InferenceSession
    signature: ModelSignature
    sha256: str
    size_bytes: int

    def feeds(self, matrix: np.ndarray[Any, Any]) -> dict[str, np.ndarray[Any, Any]]:
        """Session inputs for a ``[rows, n_features]`` matrix in feature order.

        A raw-columns model gets column ``j`` as its ``[rows, 1]`` input ``features[j]`` (the
        matrix may be an object array of model-ready values: floats, NaN, strings).
        """
        sig = self.signature
        if sig.columns is None:
            return {sig.input_name: matrix.astype(np.float32, copy=False)}
        out: dict[str, np.ndarray[Any, Any]] = {}
        for j, (tensor, name) in enumerate(zip(sig.inputs, sig.features, strict=True)):
            column = matrix[:, j : j + 1]
            out[tensor.name] = column.astype(
                object if sig.columns[name] == "category" else np.float32, copy=False
            )
        return out

    def column_feeds(self, columns: dict[str, np.ndarray[Any, Any]]) -> dict[str, np.ndarray[Any, Any]]:
        """Session inputs from ``[rows, 1]`` arrays keyed by feature name (raw-columns models)."""
        return {
            t.name: columns[f] for t, f in zip(self.signature.inputs, self.signature.features, strict=True)
        }

    def run(
        self, inputs: np.ndarray[Any, Any] | dict[str, np.ndarray[Any, Any]]
    ) -> dict[str, np.ndarray[Any, Any]]:
        """Outputs by name for a ``[rows, n_features]`` matrix or ``[rows, 1]`` arrays by feature name."""
        names = self.signature.output_names
        feeds = self.column_feeds(inputs) if isinstance(inputs, dict) else self.feeds(inputs)
        values = self.session.run(names, feeds)
        return {name: np.asarray(v) for name, v in zip(names, values, strict=True)}


def load_model(
    data: bytes,
    *,
    expected_sha256: str,
    providers: list[str] | None = None,
    field: str = "model",
) -> LoadedModel:
    """Verify and open model bytes; ValidationError if not ONNX, IntegrityError on a sha256 mismatch."""
    refuse_non_onnx(data, field)
    actual = sha256_hex(data)
    if actual != expected_sha256.lower():
        raise IntegrityError(f"model sha256 {actual} does not match the recorded {expected_sha256}")
    proto = parse_onnx(data, field)
    signature = signature_of(proto, field)
    options = ort.SessionOptions()
    # Serving runs many tiny requests: one thread per run, and no spinning between runs (idle
    # spinning workers took ~0.75 of a core on a 2-core host and starved the HTTP host).
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.add_session_config_entry("session.inter_op.allow_spinning", "0")
    options.log_severity_level = 3
    try:
        session = ort.InferenceSession(data, options, providers=providers or ["CPUExecutionProvider"])
    except Exception as exc:  # e.g. an IR version or operator this onnxruntime does not support
        raise ValidationError(f"onnxruntime cannot run the model: {exc}", field=field) from exc
    return LoadedModel(session=session, signature=signature, sha256=actual, size_bytes=len(data))


@dataclass
class ModelCache:
    """Least-recently-used sessions keyed by (model, version, sha256); bytes fetched only on a miss."""

    max_entries: int = 8
    _entries: OrderedDict[tuple[str, str, str], LoadedModel] = field(default_factory=OrderedDict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def get(self, model: str, version: str, sha256: str, fetch: Callable[[], bytes]) -> LoadedModel:
        """The loaded model for this key, fetching and verifying the bytes the first time."""
        key = (model, version, sha256.lower())
        with self._lock:
            hit = self._entries.get(key)
            if hit is not None:
                self._entries.move_to_end(key)
                return hit
            # Loading under the lock keeps one load per key; serving loads are rare and small.
            loaded = load_model(fetch(), expected_sha256=sha256, field=f"{model}:{version}")
            self._entries[key] = loaded
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)
            return loaded

    def __len__(self) -> int:
        return len(self._entries)

    def clear(self) -> None:
        """Drop every cached session."""
        with self._lock:
            self._entries.clear()
