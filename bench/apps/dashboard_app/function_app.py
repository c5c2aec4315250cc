"""Benchmark app for the dashboard: the dashboard and run API blueprints plus one orchestrator whose
history is as large as asked (a fan-out of no-op activities), served by devhost like the real app."""

from __future__ import annotations

from typing import Any, Dict  # noqa: UP035 - the Functions worker refuses PEP 585 generics on bindings

import azure.durable_functions as df
import azure.functions as func

from functions.dashboard import bp as dashboard_bp
from functions.http_api import bp as runs_bp

app = df.DFApp(http_auth_level=func.AuthLevel.FUNCTION)
app.register_functions(dashboard_bp)
app.register_functions(runs_bp)


@app.activity_trigger(input_name="value")
def dash_bench_noop(value: int) -> int:
    """No-op activity."""
    return value


@app.orchestration_trigger(context_name="context")
def dash_bench_many(context: df.DurableOrchestrationContext) -> Any:
    """``n`` no-op activities fanned out in chunks (scheduled + completed = 2 events each, plus framing)."""
    args: Dict[str, Any] = context.get_input() or {}  # noqa: UP006
    n, chunk = int(args.get("n", 5000)), int(args.get("chunk", 500))
    total = 0
    for start in range(0, n, chunk):
        tasks = [context.call_activity("dash_bench_noop", i) for i in range(start, min(n, start + chunk))]
        results = yield context.task_all(tasks)
        total += sum(results)
    return total
