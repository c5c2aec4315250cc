"""Probe: an orchestrator with a parameter no binding declares."""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@app.orchestration_trigger(context_name="context")
def flow(context: df.DurableOrchestrationContext, extra: str) -> Generator[Any, Any, Any]:
    yield context.call_activity("step", None)
