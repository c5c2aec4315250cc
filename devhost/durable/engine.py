"""The dispatcher: orchestrator episodes, activities and timers over the task hub store.

Ordering that makes crashes safe (one devhost process owns a task hub):
  1. outgoing control messages (timers, child starts, parent notifications, continue-as-new) are
     written to their queues first; everything (activity work items too) is then dispatched in memory;
  2. the episode's history rows are written (the checkpoint; one transaction per 100 events, the
     last one holding OrchestratorCompleted - rows after the last one are discarded on load);
  3. the Instances row is updated and the consumed messages are deleted.
A crash at any point leaves the consumed messages in their queues: the next start drains them and
reruns the episode; duplicates (a completion whose id is already completed in history) are dropped.

Activity work items are not queue messages: a TaskScheduled without a completion in the committed
history *is* the outstanding work item (the provider persists the same fact twice). On start, every
running instance is scanned: such activities are dispatched again (at-least-once) and pending durable
timers (TimerCreated without TimerFired) are re-armed. Results of activities that ran longer than
``persist_results_after`` seconds are also written to the control queue before the checkpoint, so a
crash does not repeat expensive work; quick ones are simply re-run. This keeps Azurite round trips
per activity at ~2 batched table rows instead of 4 queue operations (see bench/durable_bench.py).
"""

from __future__ import annotations

import asyncio
import copy
import logging
import math
from collections import OrderedDict, defaultdict
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from devhost.durable import timestamps
from devhost.durable.activities import (
    ActivityOutcome,
    failure,
    missing_failure,
    run_async,
    run_sync,
)
from devhost.durable.client_ops import ClientOperations
from devhost.durable.decider import Decider, Step, event_message
from devhost.durable.entities import EntityRecord, is_entity_id
from devhost.durable.entity_dispatch import EntityDispatch
from devhost.durable.episode import EpisodeResult, build_payload, run_episode
from devhost.durable.events import EventType, episode_form, kind_of, new_event
from devhost.durable.faults import CrashHook
from devhost.durable.names import HubNames, parse_time, utcnow
from devhost.durable.registry import FunctionRegistry
from devhost.durable.state import InstanceState, load_json
from devhost.durable.store import QueuedMessage, TaskHubStore, gather_limited
from devhost.durable.versioning import VersionPolicy

log = logging.getLogger("devhost.durable")
MAX_VISIBILITY_DELAY = 6 * 24 * 3600
NOT_FOUND = "doesn't exist, is disabled, or is not"
FINISHED_IN_MEMORY = 1000
#: events the SDK's replay never reads (TaskOrchestrationExecutor.process_event has no branch for them);
#: leaving them out of the episode payload halves its size and the SDK's per-event timestamp parsing.
SDK_UNUSED = frozenset(
    {
        EventType.TaskScheduled,
        EventType.TimerCreated,
        EventType.SubOrchestrationInstanceCreated,
        EventType.OrchestratorCompleted,
    }
)


class Engine(EntityDispatch, ClientOperations):
    """Dispatches messages to orchestrator episodes and activities."""

    def __init__(
        self,
        store: TaskHubStore,
        registry: FunctionRegistry,
        names: HubNames,
        *,
        max_orchestrators: int = 10,
        max_activities: int = 10,
        crash_at: str | None = None,
        persist_results_after: float = 1.0,
        versions: VersionPolicy | None = None,
    ) -> None:
        self.store = store
        self.registry = registry
        self.names = names
        self.versions = versions or VersionPolicy()
        self.decider = Decider(names, self.versions)
        #: messages of instances this worker's version may not run (versionFailureStrategy Reject):
        #: left in their queues, so a worker with a compatible version takes them after a restart
        self._rejected: defaultdict[str, list[QueuedMessage]] = defaultdict(list)
        timestamps.install()
        self.max_orchestrators = max(1, max_orchestrators)
        self.max_activities = max(1, max_activities)
        self._crash = CrashHook(crash_at)
        self.persist_results_after = persist_results_after
        self._cache: dict[str, InstanceState] = {}
        #: entities' committed records (see entity_dispatch.py)
        self._entities: dict[str, EntityRecord] = {}
        #: committed snapshots the client API reads (the cache holds in-flight changes)
        self._published: dict[str, InstanceState] = {}
        self._pending: defaultdict[str, list[QueuedMessage]] = defaultdict(list)
        self._arrivals: defaultdict[str, int] = defaultdict(int)
        self._active: set[str] = set()
        self._ready: asyncio.Queue[str] = asyncio.Queue()
        self._work: asyncio.Queue[QueuedMessage] = asyncio.Queue()
        #: activity work already dispatched, per instance: (execution id, task id); dropped when it ends
        self._work_keys: defaultdict[str, set[tuple[str, int]]] = defaultdict(set)
        #: recently finished instances kept in memory for status queries (bounded)
        self._finished: OrderedDict[str, None] = OrderedDict()
        self._timers: set[asyncio.TimerHandle] = set()
        self._tasks: list[asyncio.Task[None]] = []
        self._background: set[asyncio.Task[Any]] = set()
        self._orch_pool = ThreadPoolExecutor(self.max_orchestrators, thread_name_prefix="df-orch")
        self._act_pool = ThreadPoolExecutor(self.max_activities, thread_name_prefix="df-act")

    # ---- lifecycle -----------------------------------------------------------------------
    async def start(self) -> None:
        """Create the hub, recover in-flight work, start the workers."""
        await self.store.create()
        drained: list[QueuedMessage] = []
        for queue in [*self.names.control_queues, self.names.workitems_queue]:
            drained.extend(await self.store.drain(queue))
        answered = set()
        for message in drained:
            event = message.body.get("event")
            if event is not None and kind_of(event) in (EventType.TaskCompleted, EventType.TaskFailed):
                answered.add((str(message.body["instanceId"]), int(event["TaskScheduledId"])))
        await self._recover_running(answered)
        for message in drained:
            self._dispatch(message, 0.0)
        loop = asyncio.get_running_loop()
        for _ in range(self.max_orchestrators):
            self._tasks.append(loop.create_task(self._orchestrator_worker()))
        for _ in range(self.max_activities):
            self._tasks.append(loop.create_task(self._activity_worker()))

    async def stop(self) -> None:
        """Stop workers and timers; queued work stays in storage for the next start."""
        for handle in self._timers:
            handle.cancel()
        for task in self._tasks:
            task.cancel()
        for task in list(self._background):
            task.cancel()
        await asyncio.gather(*self._tasks, *self._background, return_exceptions=True)
        self._orch_pool.shutdown(wait=False, cancel_futures=True)
        self._act_pool.shutdown(wait=False, cancel_futures=True)
        await self.store.close()

    async def _recover_running(self, answered: set[tuple[str, int]]) -> None:
        """Re-arm pending timers and re-dispatch unanswered activities of running instances."""
        token: str | None = None
        while True:
            rows, token = await self.store.query_instances(
                "RuntimeStatus eq 'Running' or RuntimeStatus eq 'Suspended' or RuntimeStatus eq 'Pending'",
                1000,
                token,
            )
            for row in rows:
                if is_entity_id(str(row.get("InstanceId") or row["PartitionKey"])):
                    continue  # entity state has no history to resume; its queued requests are redelivered
                state = await self._load(str(row.get("InstanceId") or row["PartitionKey"]))
                if state is None:
                    continue
                for seq, event in state.scheduled.items():
                    if seq in state.done_ids:
                        continue
                    if kind_of(event) == EventType.TaskScheduled and (state.instance_id, seq) not in answered:
                        self._dispatch(
                            QueuedMessage(
                                self.names.workitems_queue,
                                {
                                    "kind": "work",
                                    "instanceId": state.instance_id,
                                    "executionId": state.execution_id,
                                    "taskId": seq,
                                    "name": event.get("Name"),
                                    "input": event.get("Input"),
                                },
                                "",
                                "",
                            ),
                            0.0,
                        )
                    if kind_of(event) == EventType.TimerCreated:
                        fire_at = parse_time(event["FireAt"])
                        fired = new_event(EventType.TimerFired, fire_at, TimerId=seq, FireAt=event["FireAt"])
                        body = event_message(state.instance_id, state.execution_id, fired)
                        delay = max(0.0, (fire_at - utcnow()).total_seconds())
                        self._dispatch(
                            QueuedMessage(self.names.control_queue_for(state.instance_id), body, "", ""),
                            delay,
                        )
            if not token:
                return

    # ---- delivery ------------------------------------------------------------------------
    def deliver(self, message: QueuedMessage) -> None:
        """Hand a control message to its instance."""
        instance_id = str(message.body["instanceId"])
        self._pending[instance_id].append(message)
        self._arrivals[instance_id] += 1
        if instance_id not in self._active:
            self._active.add(instance_id)
            self._ready.put_nowait(instance_id)

    def _dispatch(self, message: QueuedMessage, delay: float) -> None:
        body = message.body
        if body.get("kind") == "work":
            keys = self._work_keys[str(body["instanceId"])]
            key = (str(body["executionId"]), int(body["taskId"]))
            if key in keys:
                if message.msg_id:
                    self._spawn(self.store.delete_message(message))
                return
            keys.add(key)
            self._work.put_nowait(message)
        elif delay > 0:
            loop = asyncio.get_running_loop()
            handle: asyncio.TimerHandle | None = None

            def fire() -> None:
                if handle is not None:
                    self._timers.discard(handle)
                self.deliver(message)

            handle = loop.call_later(delay, fire)
            self._timers.add(handle)
        else:
            self.deliver(message)

    async def send(self, queue: str, body: dict[str, Any], delay: float = 0.0) -> QueuedMessage:
        """Durably enqueue a message, then dispatch it in memory."""
        message = await self.store.send(
            queue, body, min(MAX_VISIBILITY_DELAY, math.ceil(delay)) if delay else 0
        )
        self._dispatch(message, delay)
        return message

    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    # ---- orchestrations ------------------------------------------------------------------
    async def _orchestrator_worker(self) -> None:
        while True:
            instance_id = await self._ready.get()
            arrivals = self._arrivals[instance_id]
            again = False
            try:
                again = await self._process(instance_id)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("durable: dispatch of %s failed; retrying", instance_id)
                self._cache.pop(instance_id, None)
                await asyncio.sleep(0.5)
                again = True
            if again or self._arrivals[instance_id] != arrivals:
                self._ready.put_nowait(instance_id)
            else:
                self._active.discard(instance_id)

    async def _load(self, instance_id: str) -> InstanceState | None:
        state = self._cache.get(instance_id)
        if state is not None:
            return state
        row = await self.store.get_instance(instance_id)
        if row is None:
            return None
        state = InstanceState.from_row(row)
        state.reset_history(await self.store.load_history(instance_id, state.execution_id))
        if state.reconcile():
            await self._write_row(state)
        self._cache[instance_id] = state
        self._publish(state)
        return state

    async def _process(self, instance_id: str) -> bool:
        """One dispatch; True when deferred messages may now apply."""
        if is_entity_id(instance_id):
            return await self._process_entity(instance_id)
        messages = self._pending.pop(instance_id, [])
        if not messages:
            return False
        try:
            state = await self._load(instance_id)
        except Exception:
            self._pending[instance_id][:0] = messages
            raise
        mismatch = self.versions.mismatch(_instance_version(state, messages))
        if mismatch is not None and self.versions.failure == "Reject":
            if not self._rejected[instance_id]:
                log.warning("durable: not running instance %s: %s", instance_id, mismatch)
            self._rejected[instance_id].extend(messages)
            return False
        step = self.decider.prepare(instance_id, state, messages, utcnow())
        committed = False
        if step.state is not None and (step.changed or len(step.frame) > 1):
            try:
                await self._run_and_commit(step, mismatch)
            except Exception:
                self._pending[instance_id][:0] = step.consumed + step.deferred
                raise
            committed = True
        for message in step.dropped:
            if message.msg_id:
                self._spawn(self.store.delete_message(message))
        if step.deferred:
            self._pending[instance_id][:0] = step.deferred
        return committed and bool(step.deferred)

    async def _run_and_commit(self, step: Step, version_error: str | None = None) -> None:
        state = step.state
        assert state is not None
        result: EpisodeResult | None = None
        if step.run_code and not state.terminal:
            orchestrator = self.registry.lookup_orchestrator(state.name)
            if version_error is not None:  # versionFailureStrategy Fail
                result = EpisodeResult(done=False, error=version_error)
            elif orchestrator is None:
                result = EpisodeResult(
                    done=False,
                    error=f"The function '{state.name}' {NOT_FOUND} an orchestrator function.",
                )
            else:
                history = [episode_form(e, True) for e in state.history if kind_of(e) not in SDK_UNUSED]
                history += [episode_form(e, False) for e in step.frame if kind_of(e) not in SDK_UNUSED]
                parent = (state.parent or {}).get("OrchestrationInstance", {}).get("InstanceId")
                payload = build_payload(history, load_json(state.input_text), state.instance_id, parent)
                loop = asyncio.get_running_loop()
                result = await loop.run_in_executor(self._orch_pool, run_episode, orchestrator, payload)
        self.decider.finish(step, result)
        await self._commit(step)

    async def _commit(self, step: Step) -> None:
        state = step.state
        assert state is not None
        durable = [o for o in step.outgoing if o.durable]
        sent = await gather_limited(
            [
                self.store.send(
                    o.queue, o.body, min(MAX_VISIBILITY_DELAY, math.ceil(o.delay)) if o.delay else 0
                )
                for o in durable
            ]
        )
        for out, message in zip(durable, sent, strict=True):
            self._dispatch(message, out.delay)
        for out in step.outgoing:
            if not out.durable:
                self._dispatch(QueuedMessage(out.queue, out.body, "", ""), out.delay)
        self._crash.maybe("outgoing_sent")
        if step.continue_as_new is not None:
            new_exec, stored = step.continue_as_new
            state.execution_id = new_exec
            state.generation += 1
            state.input_text = stored
            state.status = "ContinuedAsNew"
            state.output_text = None
            state.reset_history([])
            await self._write_row(state)
            await self.store.purge_history(state.instance_id, keep_execution=new_exec)
        else:
            # The row may land before the history: a status ahead of history is corrected on load.
            writes = [
                self.store.append_history(state.instance_id, state.execution_id, step.start_seq, step.frame)
            ]
            if state.row_signature() != state.written:
                writes.append(self._write_row(state))
            await asyncio.gather(*writes)
            state.history.extend(step.frame)
            state.index(step.frame)
            self._crash.maybe("history_written")
        self._cache[state.instance_id] = state
        self._publish(state)
        if state.terminal:
            self._retire(state.instance_id)
        await gather_limited([self.store.delete_message(m) for m in step.consumed if m.msg_id])

    def _retire(self, instance_id: str) -> None:
        """A finished instance leaves the working set; a bounded number stay readable from memory."""
        self._cache.pop(instance_id, None)
        self._work_keys.pop(instance_id, None)
        self._finished[instance_id] = None
        self._finished.move_to_end(instance_id)
        while len(self._finished) > FINISHED_IN_MEMORY:
            old, _ = self._finished.popitem(last=False)
            published = self._published.get(old)
            if published is not None and published.terminal:
                del self._published[old]

    async def _write_row(self, state: InstanceState) -> None:
        signature = state.row_signature()
        await self.store.put_instance(state.to_row())
        state.written = signature

    def _publish(self, state: InstanceState) -> None:
        snapshot = copy.copy(state)
        snapshot.history = list(state.history)
        self._published[state.instance_id] = snapshot

    # ---- activities ----------------------------------------------------------------------
    async def _activity_worker(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            message = await self._work.get()
            began = loop.time()
            body = message.body
            name = str(body["name"])
            activity = self.registry.lookup_activity(name)
            try:
                if activity is None:
                    outcome = missing_failure(name, f"Activity function '{name}' does not exist.")
                elif activity.is_async:
                    outcome = await run_async(activity, name, body.get("input"))
                else:
                    outcome = await loop.run_in_executor(
                        self._act_pool, run_sync, activity, name, body.get("input")
                    )
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                outcome = failure(name, exc)
            self._crash.maybe("activity_end", name)
            self._spawn(self._complete_activity(message, outcome, loop.time() - began))

    async def _complete_activity(self, work: QueuedMessage, outcome: ActivityOutcome, took: float) -> None:
        body = work.body
        instance_id = str(body["instanceId"])
        if outcome.ok:
            event = new_event(
                EventType.TaskCompleted, utcnow(), TaskScheduledId=int(body["taskId"]), Result=outcome.result
            )
        else:
            event = new_event(
                EventType.TaskFailed,
                utcnow(),
                TaskScheduledId=int(body["taskId"]),
                Reason=outcome.reason,
                Details=outcome.details,
            )
        result = event_message(instance_id, str(body["executionId"]), event)
        queue = self.names.control_queue_for(instance_id)
        if took < self.persist_results_after:
            self.deliver(QueuedMessage(queue, result, "", ""))
        else:
            for attempt in range(5):
                try:
                    await self.send(queue, result)
                    break
                except Exception:
                    if attempt == 4:
                        raise
                    await asyncio.sleep(0.2 * (attempt + 1))
            self._crash.maybe("activity_sent", str(body["name"]))
        if work.msg_id:
            await self.store.delete_message(work)


def _instance_version(state: InstanceState | None, messages: list[QueuedMessage]) -> str | None:
    """The version of the execution these messages are for (a new execution's from its ExecutionStarted)."""
    for message in messages:
        event = message.body.get("event")
        fresh = state is None or not state.started or state.terminal
        if event is not None and kind_of(event) == EventType.ExecutionStarted and fresh:
            return str(event.get("Version") or "") or None
    return (state.version or None) if state is not None else None
