"""Probe: an activity with a parameter no binding declares."""

from __future__ import annotations

import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@app.activity_trigger(input_name="payload")
def step(payload: str, extra: str) -> str:
    return payload
