"""Probe: an activity input annotated Optional[int], which is no type to the worker."""

from __future__ import annotations

from typing import Optional

import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@app.activity_trigger(input_name="value")
def step(value: Optional[int]) -> int:  # noqa: UP045 - the worker refuses both spellings
    return value or 0
