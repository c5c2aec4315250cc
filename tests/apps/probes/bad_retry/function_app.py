"""Probe: a retry policy whose interval is not HH:MM:SS (the worker fails while building retry options)."""

from __future__ import annotations

import azure.functions as func

app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@app.timer_trigger(schedule="0 0 0 1 1 *", arg_name="timer")
@app.retry(strategy="fixed_delay", max_retry_count="3", delay_interval="5s")
def tick(timer: func.TimerRequest) -> None:
    pass
