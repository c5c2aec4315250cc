"""Probe: an activity annotated with plain dict, which the worker accepts."""

from __future__ import annotations

import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@app.activity_trigger(input_name="payload")
def start_run(payload: dict) -> dict:  # type: ignore[type-arg]
    return payload
