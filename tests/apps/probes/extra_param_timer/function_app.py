"""Probe: a timer function with a parameter no binding declares."""

from __future__ import annotations

import azure.functions as func

app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@app.timer_trigger(schedule="0 0 0 1 1 *", arg_name="timer")
def tick(timer: func.TimerRequest, extra: str) -> None:
    pass
