"""Probe: a retry policy whose interval in HH:MM:SS, which the worker accepts."""

from __future__ import annotations

import azure.functions as func

app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@app.timer_trigger(schedule="0 0 0 1 1 *", arg_name="timer")
@app.retry(strategy="fixed_delay", max_retry_count="3", delay_interval="00:00:05")
def tick(timer: func.TimerRequest) -> None:
    pass
