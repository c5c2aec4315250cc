"""Probe: an activity annotated with a PEP 585 generic, which the worker refuses."""

from __future__ import annotations

from typing import Any

import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@app.activity_trigger(input_name="payload")
def start_run(payload: dict[str, Any]) -> dict[str, Any]:
    return payload
