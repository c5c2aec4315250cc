"""ETag-guarded updates against real Azurite: concurrent increments lose nothing, stale writes fail."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from shared.errors import ConcurrencyConflictError, NotFoundError, ValidationError
from shared.storage.records import RunRecord, RunRepository

from .conftest import run


def _increment(record: RunRecord) -> RunRecord:
    counters = dict(record.counters)
    counters["n"] = counters.get("n", 0) + 1
    return record.model_copy(update={"counters": counters})


def test_20_concurrent_updates_lose_nothing(runs: RunRepository) -> None:
    runs.insert(run(counters={"n": 0}))
    start = threading.Barrier(20)
    calls = []

    def worker(_: int) -> None:
        start.wait()  # all threads read at once, so most of them must lose a race and retry

        def mutate(record: RunRecord) -> RunRecord:
            calls.append(1)
            return _increment(record)

        runs.update("p", "r1", mutate, max_attempts=200)

    with ThreadPoolExecutor(max_workers=20) as pool:
        list(pool.map(worker, range(20)))
    assert runs.get("p", "r1")[0].counters["n"] == 20
    assert len(calls) > 20, "the threads raced: some updates had to re-read and retry"


def test_a_stale_etag_write_is_refused(runs: RunRepository) -> None:
    runs.insert(run(status="Running"))
    stale, stale_etag = runs.get("p", "r1")
    runs.upsert(run(status="Succeeded"))  # someone else writes after our read
    with pytest.raises(ConcurrencyConflictError):
        runs.replace(stale.model_copy(update={"status": "Failed"}), stale_etag)
    assert runs.get("p", "r1")[0].status == "Succeeded", "the stale write must not overwrite"


def test_update_re_reads_after_losing_a_race(runs: RunRepository) -> None:
    runs.insert(run(counters={"n": 0}))
    seen: list[int] = []

    def mutate(record: RunRecord) -> RunRecord:
        seen.append(record.counters["n"])
        if len(seen) == 1:
            # A concurrent writer sneaks in between our read and our write.
            runs.upsert(run(counters={"n": 100}))
        return _increment(record)

    updated, etag = runs.update("p", "r1", mutate)
    assert seen == [0, 100], "the second attempt saw the other writer's value"
    assert updated.counters["n"] == 101
    got, got_etag = runs.get("p", "r1")
    assert got.counters["n"] == 101 and got_etag == etag


def test_update_gives_up_after_its_budget(runs: RunRepository) -> None:
    runs.insert(run(counters={"n": 0}))
    attempts = []

    def always_raced(record: RunRecord) -> RunRecord:
        attempts.append(1)
        runs.upsert(run(counters={"n": len(attempts)}))
        return _increment(record)

    with pytest.raises(ConcurrencyConflictError):
        runs.update("p", "r1", always_raced, max_attempts=3)
    assert len(attempts) == 3


def test_update_of_a_missing_record_is_not_found(runs: RunRepository) -> None:
    with pytest.raises(NotFoundError):
        runs.update("p", "missing", _increment)


def test_mutate_must_keep_the_keys(runs: RunRepository) -> None:
    runs.insert(run())
    with pytest.raises(ValidationError):
        runs.update("p", "r1", lambda r: r.model_copy(update={"run_id": "other"}))


def test_create_or_update_creates_then_updates_under_contention(runs: RunRepository) -> None:
    start = threading.Barrier(10)

    def worker(_: int) -> None:
        start.wait()
        runs.create_or_update("p", "new", lambda: run(run_id="new"), _increment, max_attempts=200)

    with ThreadPoolExecutor(max_workers=10) as pool:
        list(pool.map(worker, range(10)))
    assert runs.get("p", "new")[0].counters["n"] == 10
