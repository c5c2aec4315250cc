"""Probe: an entity whose context binding is not named 'context' (the Durable wrapper's parameter)."""

from __future__ import annotations

import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@app.entity_trigger(context_name="ctx")
def counter(ctx: df.DurableEntityContext) -> None:
    ctx.set_state((ctx.get_state(lambda: 0) or 0) + 1)
