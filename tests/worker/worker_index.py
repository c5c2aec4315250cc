"""Index an app folder with Microsoft's Python worker library, as the worker does at start.

Run with the worker venv's Python (``.venv-worker/bin/python tests/worker/worker_index.py APP_DIR...``);
prints one JSON object mapping each folder to ``{"ok": true, "functions": [...]}`` or
``{"ok": false, "error": "..."}``. Folders are indexed one after another in this process (each with a
fresh ``function_app`` module and registry), which keeps the probe table fast.
The host hands the worker its ``protos`` module; only the few names indexing touches are stood in.
"""

from __future__ import annotations

import json
import os
import sys
from types import SimpleNamespace
from typing import Any


class _BindingInfo:
    """Stand-in for the host's protobuf ``BindingInfo`` (enum values as in the worker's .proto)."""

    # Direction enum: in = 0, out = 1, inout = 2; DataType enum: undefined = 0.
    out = 1
    inout = 2
    undefined = 0

    def __init__(self, **fields: Any) -> None:
        self.fields = fields


def _message(**fields: Any) -> dict[str, Any]:
    return fields


PROTOS = SimpleNamespace(BindingInfo=_BindingInfo, RpcFunctionMetadata=_message, RpcRetryOptions=_message)


def index(app_dir: str) -> dict[str, Any]:
    """What the worker does in worker_init_request: load the binding registry, index, register."""
    from azure_functions_runtime.bindings.meta import load_binding_registry
    from azure_functions_runtime.functions import Registry
    from azure_functions_runtime.loader import index_function_app, process_indexed_function

    os.chdir(app_dir)
    sys.path.insert(0, app_dir)
    sys.modules.pop("function_app", None)
    load_binding_registry()
    try:
        indexed = index_function_app(os.path.join(app_dir, "function_app.py"))
        registry = Registry()
        metadata, _logs = process_indexed_function(PROTOS, registry, indexed, app_dir)
    except Exception as exc:  # the worker reports any exception as a failed init
        return {"ok": False, "error": str(exc), "type": type(exc).__name__}
    finally:
        sys.path.remove(app_dir)
    return {"ok": True, "functions": sorted(m["name"] for m in metadata)}


if __name__ == "__main__":
    folders = [os.path.abspath(folder) for folder in sys.argv[1:]]  # before index() changes directory
    print(json.dumps({folder: index(folder) for folder in folders}))
