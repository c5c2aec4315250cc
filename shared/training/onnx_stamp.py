"""Post-process exported ONNX: rename outputs to the contract and stamp our metadata."""

from __future__ import annotations

import json

import onnx

from shared.errors import ValidationError
from shared.models.onnx_io import parse_onnx
from shared.models.signature import INPUT_NAME, META_COLUMNS


def rename_output(proto: onnx.ModelProto, old: str, new: str) -> None:
    """Rename graph output ``old`` to ``new`` everywhere it is produced or consumed."""
    graph = proto.graph
    for node in graph.node:
        node.output[:] = [new if name == old else name for name in node.output]
        node.input[:] = [new if name == old else name for name in node.input]
    for output in graph.output:
        if output.name == old:
            output.name = new


def stamp(data: bytes, metadata: dict[str, str], field: str = "model.onnx") -> bytes:
    """Model bytes with ``metadata`` in ``metadata_props`` (replacing our keys), after a contract check."""
    proto = parse_onnx(data, field)
    inputs = [i.name for i in proto.graph.input if i.name not in {t.name for t in proto.graph.initializer}]
    columns = metadata.get(META_COLUMNS)
    if columns is not None:
        # Raw-columns model: one input per feature, in feature order (onnx_io checks types on load;
        # names may differ: skl2onnx makes column names such as "mean radius" into identifiers).
        if len(inputs) != len(json.loads(columns)):
            raise ValidationError(f"model has {len(inputs)} inputs, not one per feature column", field=field)
    elif inputs != [INPUT_NAME]:
        raise ValidationError(f"model must have one input named {INPUT_NAME!r}, has {inputs}", field=field)
    kept = [p for p in proto.metadata_props if p.key not in metadata]
    del proto.metadata_props[:]
    proto.metadata_props.extend(kept)
    for key, value in sorted(metadata.items()):
        proto.metadata_props.add(key=key, value=value)
    return bytes(proto.SerializeToString())
