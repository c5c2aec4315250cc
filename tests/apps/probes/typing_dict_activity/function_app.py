"""Probe: the same activity annotated typing.Dict, which the worker accepts."""

from __future__ import annotations

from typing import Any, Dict  # noqa: UP035 - the worker refuses dict[...]

import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@app.activity_trigger(input_name="payload")
def start_run(payload: Dict[str, Any]) -> Dict[str, Any]:  # noqa: UP006 - the worker's rule is the point
    return payload
