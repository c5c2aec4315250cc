"""Test Functions app for devhost's Durable support: the classic Durable patterns, nothing devhost-specific.

Side effects that must survive a devhost crash are recorded in the table named by the
``DURABLE_APP_EFFECTS_TABLE`` app setting (default ``durableappeffects``) of ``AzureWebJobsStorage``.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from datetime import timedelta
from typing import Any, Dict  # noqa: UP035 - see Payload

import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)
#: the Functions worker refuses PEP 585 generics (``dict[str, Any]``) on binding parameters
Payload = Dict[str, Any]  # noqa: UP006

STORAGE_SETTING = "AzureWebJobsStorage"
#: attempts seen by ``flaky`` per key (process memory: retries happen in one process)
ATTEMPTS: dict[str, int] = {}
#: flipped by tests to change orchestrator code between episodes (nondeterminism detection)
CODE_VERSION = {"nondet": 1}


def _effects_table() -> Any:
    from azure.data.tables import TableServiceClient

    service = TableServiceClient.from_connection_string(os.environ[STORAGE_SETTING])
    return service.create_table_if_not_exists(
        os.environ.get("DURABLE_APP_EFFECTS_TABLE", "durableappeffects")
    )


def _record(key: str, what: str) -> None:
    _effects_table().create_entity({"PartitionKey": key, "RowKey": uuid.uuid4().hex, "What": what})


# ---- activities ----------------------------------------------------------------------------
@app.activity_trigger(input_name="name")
def say_hello(name: str) -> str:
    """Greets."""
    return f"Hello {name}!"


@app.activity_trigger(input_name="value")
def noop(value: Any) -> Any:
    """Returns its input (benchmarks and fan-out)."""
    return value


@app.activity_trigger(input_name="payload")
def flaky(payload: Payload) -> str:
    """Fails ``fail_times`` times per key, then succeeds."""
    key = payload["key"]
    ATTEMPTS[key] = ATTEMPTS.get(key, 0) + 1
    if ATTEMPTS[key] <= int(payload.get("fail_times", 2)):
        raise RuntimeError(f"transient failure {ATTEMPTS[key]}")
    return f"ok after {ATTEMPTS[key]} attempts"


@app.activity_trigger(input_name="payload")
def always_fails(payload: Any) -> None:
    """Always raises."""
    raise ValueError("boom")


@app.activity_trigger(input_name="payload")
def record_effect(payload: Payload) -> str:
    """Records one execution in the effects table, optionally sleeping first."""
    _record(payload["key"], f"start:{payload.get('step', '')}")
    time.sleep(float(payload.get("sleep", 0)))
    _record(payload["key"], f"end:{payload.get('step', '')}")
    return f"recorded {payload.get('step', '')}"


@app.activity_trigger(input_name="seconds")
def cpu_burn(seconds: float) -> int:
    """Pure-Python CPU-bound work (holds the GIL between switch intervals)."""
    end = time.perf_counter() + float(seconds)
    spins = 0
    while time.perf_counter() < end:
        spins += 1
    return spins


@app.activity_trigger(input_name="payload")
async def async_echo(payload: Any) -> Any:
    """An ``async def`` activity."""
    return {"echo": payload}


# ---- orchestrators -------------------------------------------------------------------------
@app.orchestration_trigger(context_name="context")
def hello_chain(context: df.DurableOrchestrationContext):  # type: ignore[no-untyped-def]
    """Function chaining: three activities in sequence, with custom status."""
    results = []
    for city in ("Tokyo", "Seattle", "London"):
        results.append((yield context.call_activity("say_hello", city)))
        context.set_custom_status({"done": len(results)})
    return results


@app.orchestration_trigger(context_name="context")
def fan_out_fan_in(context: df.DurableOrchestrationContext):  # type: ignore[no-untyped-def]
    """Fan-out/fan-in over ``n`` no-op activities; returns the sum."""
    n = int(context.get_input() or 1000)
    values = yield context.task_all([context.call_activity("noop", i) for i in range(n)])
    return sum(values)


@app.orchestration_trigger(context_name="context")
def sequence(context: df.DurableOrchestrationContext):  # type: ignore[no-untyped-def]
    """``n`` no-op activities in sequence (benchmark)."""
    n = int(context.get_input() or 100)
    for i in range(n):
        yield context.call_activity("noop", i)
    return n


@app.orchestration_trigger(context_name="context")
def approval(context: df.DurableOrchestrationContext):  # type: ignore[no-untyped-def]
    """Human interaction: wait for "Approval" raced against a timer."""
    seconds = float((context.get_input() or {}).get("timeout", 2))
    deadline = context.current_utc_datetime + timedelta(seconds=seconds)
    timeout = context.create_timer(deadline)
    answer = context.wait_for_external_event("Approval")
    context.set_custom_status("waiting")
    winner = yield context.task_any([answer, timeout])
    if winner == answer:
        timeout.cancel()
        return {"approved": True, "data": answer.result}
    return {"approved": False}


@app.orchestration_trigger(context_name="context")
def retrying(context: df.DurableOrchestrationContext):  # type: ignore[no-untyped-def]
    """An activity failing twice, then succeeding, under RetryOptions."""
    options = df.RetryOptions(first_retry_interval_in_milliseconds=100, max_number_of_attempts=3)
    return (yield context.call_activity_with_retry("flaky", options, context.get_input()))


@app.orchestration_trigger(context_name="context")
def always_failing(context: df.DurableOrchestrationContext):  # type: ignore[no-untyped-def]
    """An activity that always fails (with retries): the instance fails."""
    options = df.RetryOptions(first_retry_interval_in_milliseconds=50, max_number_of_attempts=2)
    yield context.call_activity_with_retry("always_fails", options, None)
    return "unreachable"


@app.orchestration_trigger(context_name="context")
def catches_failure(context: df.DurableOrchestrationContext):  # type: ignore[no-untyped-def]
    """Catches an activity failure and returns its message."""
    try:
        yield context.call_activity("always_fails", None)
    except Exception as exc:
        return str(exc)
    return "no failure"


@app.orchestration_trigger(context_name="context")
def parent(context: df.DurableOrchestrationContext):  # type: ignore[no-untyped-def]
    """Sub-orchestrations: two in parallel (default ids) and one with an explicit id."""
    first = context.call_sub_orchestrator("hello_chain")
    second = context.call_sub_orchestrator("child_echo", {"n": 2})
    results = yield context.task_all([first, second])
    named = yield context.call_sub_orchestrator("child_echo", {"n": 3}, f"{context.instance_id}-named")
    return {"chain": results[0], "echo": results[1], "named": named}


@app.orchestration_trigger(context_name="context")
def child_echo(context: df.DurableOrchestrationContext):  # type: ignore[no-untyped-def]
    """Returns its input and its parent's id."""
    return {"input": context.get_input(), "parent": context.parent_instance_id}


@app.orchestration_trigger(context_name="context")
def flaky_child(context: df.DurableOrchestrationContext):  # type: ignore[no-untyped-def]
    """Calls ``flaky`` once without retry: fails while the key's failures last."""
    return (yield context.call_activity("flaky", context.get_input()))


@app.orchestration_trigger(context_name="context")
def retrying_parent(context: df.DurableOrchestrationContext):  # type: ignore[no-untyped-def]
    """A sub-orchestration retried with RetryOptions until it succeeds."""
    options = df.RetryOptions(first_retry_interval_in_milliseconds=100, max_number_of_attempts=3)
    return (yield context.call_sub_orchestrator_with_retry("flaky_child", options, context.get_input()))


@app.orchestration_trigger(context_name="context")
def failing_parent(context: df.DurableOrchestrationContext):  # type: ignore[no-untyped-def]
    """A sub-orchestration that fails; the parent reports the error text."""
    try:
        yield context.call_sub_orchestrator("always_failing")
    except Exception as exc:
        return str(exc)
    return "no failure"


@app.orchestration_trigger(context_name="context")
def monitor(context: df.DurableOrchestrationContext):  # type: ignore[no-untyped-def]
    """Eternal monitor: check, sleep, continue_as_new (stops after ``max`` generations for tests)."""
    state = context.get_input() or {"count": 0, "max": 3}
    yield context.call_activity("noop", state["count"])
    context.set_custom_status({"count": state["count"]})
    if state["count"] + 1 >= state["max"]:
        return state["count"] + 1
    yield context.create_timer(context.current_utc_datetime + timedelta(milliseconds=200))
    context.continue_as_new({"count": state["count"] + 1, "max": state["max"]})
    return None


@app.orchestration_trigger(context_name="context")
def echo_input(context: df.DurableOrchestrationContext):  # type: ignore[no-untyped-def]
    """Returns the input as user code sees it, with its Python type name."""
    value = context.get_input()
    return {"value": value, "type": type(value).__name__}


@app.orchestration_trigger(context_name="context")
def echo_event(context: df.DurableOrchestrationContext):  # type: ignore[no-untyped-def]
    """Waits for "Data" and returns it as user code sees it."""
    value = yield context.wait_for_external_event("Data")
    return {"value": value, "type": type(value).__name__}


@app.orchestration_trigger(context_name="context")
def early_event(context: df.DurableOrchestrationContext):  # type: ignore[no-untyped-def]
    """Runs an activity first, then waits for an event that may already have been raised."""
    yield context.call_activity("record_effect", {"key": context.instance_id, "sleep": 0.5})
    value = yield context.wait_for_external_event("Go")
    return value


@app.orchestration_trigger(context_name="context")
def nondet(context: df.DurableOrchestrationContext):  # type: ignore[no-untyped-def]
    """Changes what it schedules when CODE_VERSION flips (a nondeterministic code change)."""
    if CODE_VERSION["nondet"] == 1:
        yield context.call_activity("say_hello", "v1")
    else:
        yield context.call_activity("noop", "v2")
    yield context.wait_for_external_event("Continue")
    return "done"


@app.orchestration_trigger(context_name="context")
def waits(context: df.DurableOrchestrationContext):  # type: ignore[no-untyped-def]
    """Waits for "Finish" (for terminate/suspend/resume tests)."""
    context.set_custom_status("waiting")
    value = yield context.wait_for_external_event("Finish")
    return value


@app.orchestration_trigger(context_name="context")
def durable_steps(context: df.DurableOrchestrationContext):  # type: ignore[no-untyped-def]
    """Crash-test workflow: a slow activity, a durable timer, then a last activity."""
    spec = context.get_input()
    key = spec["key"]
    context.set_custom_status("step1")
    yield context.call_activity("record_effect", {"key": key, "step": "one", "sleep": spec.get("sleep", 0)})
    context.set_custom_status("timer")
    yield context.create_timer(
        context.current_utc_datetime + timedelta(seconds=float(spec.get("timer", 0.1)))
    )
    context.set_custom_status("step2")
    yield context.call_activity("record_effect", {"key": key, "step": "two"})
    return "finished"


@app.orchestration_trigger(context_name="context")
def fan_effects(context: df.DurableOrchestrationContext):  # type: ignore[no-untyped-def]
    """Fan-out of ``n`` recorded activities (crash tests)."""
    spec = context.get_input()
    tasks = [
        context.call_activity(
            "record_effect", {"key": spec["key"], "step": str(i), "sleep": spec.get("sleep", 0)}
        )
        for i in range(int(spec["n"]))
    ]
    return len((yield context.task_all(tasks)))


@app.orchestration_trigger(context_name="context")
def burner(context: df.DurableOrchestrationContext):  # type: ignore[no-untyped-def]
    """Runs one CPU-bound activity."""
    return (yield context.call_activity("cpu_burn", context.get_input()))


@app.orchestration_trigger(context_name="context")
def uses_async(context: df.DurableOrchestrationContext):  # type: ignore[no-untyped-def]
    """Calls the async activity."""
    return (yield context.call_activity("async_echo", context.get_input()))


# ---- versioning: the official sample pattern (branch on context.version) ----------------------
@app.orchestration_trigger(context_name="context")
def versioned(context: df.DurableOrchestrationContext):  # type: ignore[no-untyped-def]
    """Version 1.0 keeps the original step; later versions take the new one."""
    if context.version == "1.0":
        step = yield context.call_activity("say_hello", "v1 path")
    else:
        step = yield context.call_activity("say_hello", "v2 path")
    return {"version": context.version, "step": step}


@app.orchestration_trigger(context_name="context")
def versioned_parent(context: df.DurableOrchestrationContext):  # type: ignore[no-untyped-def]
    """Sub-orchestrations without a version get defaultVersion; an explicit one is kept."""
    default = yield context.call_sub_orchestrator("versioned")
    pinned = yield context.call_sub_orchestrator("versioned", version="1.0")
    return {"parent": context.version, "default": default, "pinned": pinned}


# ---- entities ---------------------------------------------------------------------------------
@app.entity_trigger(context_name="context")
def counter(context: df.DurableEntityContext) -> None:
    """The documented counter entity: add, reset, get (and a failing operation)."""
    current = context.get_state(lambda: 0)
    operation = context.operation_name
    if operation == "add":
        current += context.get_input()
        context.set_state(current)
    elif operation == "reset":
        context.set_state(0)
    elif operation == "get":
        context.set_result(current)
    elif operation == "fail":
        raise ValueError("counter cannot fail politely")
    elif operation == "delete":
        context.destruct_on_exit()


@app.orchestration_trigger(context_name="context")
def counter_orchestration(context: df.DurableOrchestrationContext):  # type: ignore[no-untyped-def]
    """Signals and calls the counter entity named by the input; reads its value back."""
    entity = df.EntityId("counter", context.get_input())
    context.signal_entity(entity, "add", 5)
    after_signal = yield context.call_entity(entity, "get")
    yield context.call_entity(entity, "add", 10)
    total = yield context.call_entity(entity, "get")
    try:
        yield context.call_entity(entity, "fail")
        failure = None
    except Exception as exc:
        failure = str(exc)
    return {"after_signal": after_signal, "total": total, "failure": failure}


@app.orchestration_trigger(context_name="context")
def calls_missing_entity(context: df.DurableOrchestrationContext):  # type: ignore[no-untyped-def]
    """call_entity on a name no entity function has: the caller gets an error naming it."""
    try:
        yield context.call_entity(df.EntityId("nosuchentity", "k"), "get")
    except Exception as exc:
        return str(exc)
    return "no failure"


@app.route(route="entities/{key}/{op}", methods=["POST", "GET"])
@app.durable_client_input(client_name="client")
async def http_entity(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """Client side of the counter: POST signals the operation (body = input), GET reads the state."""
    entity = df.EntityId("counter", req.route_params["key"])
    if req.method == "GET":
        state = await client.read_entity_state(entity)
        body = {"exists": state.entity_exists, "state": state.entity_state}
        return func.HttpResponse(json.dumps(body), mimetype="application/json")
    raw = req.get_body()
    await client.signal_entity(entity, req.route_params["op"], json.loads(raw) if raw else None)
    return func.HttpResponse(json.dumps({"signalled": True}), status_code=202, mimetype="application/json")


# ---- HTTP functions using the durable client binding ---------------------------------------
@app.route(route="orchestrators/{functionName}", methods=["POST"])
@app.durable_client_input(client_name="client")
async def http_start(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """Starts any orchestrator with the JSON body as input; 202 with the check-status payload."""
    body = req.get_body()
    instance_id = await client.start_new(
        req.route_params["functionName"],
        None,
        json.loads(body) if body else None,
        version=req.params.get("version") or None,
    )
    return client.create_check_status_response(req, instance_id)


@app.route(route="run/{functionName}", methods=["POST"])
@app.durable_client_input(client_name="client")
async def http_run(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """Starts an orchestrator and waits up to 20 s for its output."""
    body = req.get_body()
    instance_id = await client.start_new(
        req.route_params["functionName"], None, json.loads(body) if body else None
    )
    return await client.wait_for_completion_or_create_check_status_response(
        req, instance_id, timeout_in_milliseconds=20000, retry_interval_in_milliseconds=100
    )


@app.route(route="instances/{instanceId}/{op}", methods=["POST", "GET", "DELETE"])
@app.durable_client_input(client_name="client")
async def http_manage(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """Drives the client API: status, event/<name>, terminate, suspend, resume, purge."""
    instance_id = req.route_params["instanceId"]
    op = req.route_params["op"]
    if op == "status":
        status = await client.get_status(instance_id, show_history=True, show_history_output=True)
        body = status.to_json() if status else None
        return func.HttpResponse(
            json.dumps(body, default=str), status_code=200 if status else 404, mimetype="application/json"
        )
    if op.startswith("event-"):
        body = req.get_body()
        await client.raise_event(instance_id, op[len("event-") :], json.loads(body) if body else None)
    elif op == "terminate":
        await client.terminate(instance_id, "stopped by test")
    elif op == "suspend":
        await client.suspend(instance_id, "paused by test")
    elif op == "resume":
        await client.resume(instance_id, "resumed by test")
    elif op == "purge":
        result = await client.purge_instance_history(instance_id)
        return func.HttpResponse(
            json.dumps({"deleted": result.instances_deleted}), mimetype="application/json"
        )
    else:
        return func.HttpResponse("unknown op", status_code=400)
    return func.HttpResponse(json.dumps({"ok": True}), status_code=202, mimetype="application/json")
