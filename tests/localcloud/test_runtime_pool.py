"""The capacity model's rules, on the pool itself with stand-in runtimes (fast, offline).

The same rules on a real LocalStack with real runtimes: test_capacity.py.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from pathlib import Path

import pytest

from lambda_process_executor.capacity import (
    MODE_THROTTLE,
    CapacitySettings,
)
from lambda_process_executor.pool import RuntimePool
from lambda_process_executor.runtime import RuntimeSpec

SPEC = RuntimeSpec("app.handler", "/usr/bin/python3", "/task", "/opt", 3.0, 128, "python3.13", {})


class StandIn:
    """A runtime that is alive until closed or killed."""

    def __init__(self, spec: RuntimeSpec, env_dir: Path, runtime_id: str) -> None:
        self.runtime_id = runtime_id
        self.spec = spec
        self.closed = False
        self.dead = False

    def alive(self) -> bool:
        return not (self.closed or self.dead)

    def close(self) -> None:
        self.closed = True


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def make_pool(tmp_path: Path, clock=time.monotonic, **limits) -> RuntimePool:
    settings = CapacitySettings(
        max_per_function=limits.get("per_function", 2),
        max_total=limits.get("total", 3),
        warm_per_function=limits.get("warm", 1),
        surplus_idle_seconds=limits.get("surplus", 30.0),
        keepalive_seconds=limits.get("keepalive", 600.0),
    )
    return RuntimePool(settings, tmp_path, clock=clock, new_runtime=StandIn)


def test_each_new_runtime_has_the_variables_of_the_environment_that_started_it(tmp_path):
    """AWS: every environment its own log stream, credentials and initialization type."""
    pool = make_pool(tmp_path, per_function=2, total=8)
    first = dataclasses.replace(SPEC, env_vars={"AWS_LAMBDA_LOG_STREAM_NAME": "one"})
    second = dataclasses.replace(SPEC, env_vars={"AWS_LAMBDA_LOG_STREAM_NAME": "two"})
    _, one = pool.acquire("a", first, timeout=1)
    _, two = pool.acquire("a", second, timeout=1)
    assert one.spec.env_vars["AWS_LAMBDA_LOG_STREAM_NAME"] == "one"
    assert two.spec.env_vars["AWS_LAMBDA_LOG_STREAM_NAME"] == "two"


def test_a_function_never_runs_more_than_its_bound_and_waiters_reuse_warm_runtimes(tmp_path):
    pool = make_pool(tmp_path, per_function=2, total=8)
    held = [pool.acquire("a", SPEC, timeout=1) for _ in range(2)]
    assert all(held) and pool.counts()["total"] == 2
    results = []
    waiter = threading.Thread(target=lambda: results.append(pool.acquire("a", SPEC, timeout=5)))
    waiter.start()
    time.sleep(0.2)
    assert not results, "a third invoke waits instead of starting a third runtime"
    assert pool.counts() == {"total": 2, "idle": 0, "busy": 2, "waiting": 1}
    function_pool, first = held[0]
    pool.release(function_pool, first)
    waiter.join(2)
    assert results and results[0][1] is first, "the waiter got the warm runtime that came back"
    assert pool.counts()["total"] == 2


def test_waiters_are_served_first_in_first_out(tmp_path):
    pool = make_pool(tmp_path, per_function=1, total=4)
    function_pool, runtime = pool.acquire("a", SPEC, timeout=1)
    order: list[int] = []

    def wait(number: int) -> None:
        got = pool.acquire("a", SPEC, timeout=10)
        order.append(number)
        pool.release(*got)

    threads = []
    for number in range(5):
        threads.append(threading.Thread(target=wait, args=(number,)))
        threads[-1].start()
        time.sleep(0.05)  # arrive in this order
    pool.release(function_pool, runtime)
    for thread in threads:
        thread.join(5)
    assert order == [0, 1, 2, 3, 4]


def test_an_invoke_that_finds_no_runtime_within_its_timeout_gets_none(tmp_path):
    pool = make_pool(tmp_path, per_function=1, total=1)
    assert pool.acquire("a", SPEC, timeout=1)
    started = time.monotonic()
    assert pool.acquire("a", SPEC, timeout=0.3) is None
    assert 0.25 < time.monotonic() - started < 2
    assert pool.counts()["waiting"] == 0


def test_total_bound_takes_the_room_of_another_functions_idle_runtime(tmp_path):
    pool = make_pool(tmp_path, per_function=2, total=2)
    a_runtimes = [pool.acquire("a", SPEC, timeout=1) for _ in range(2)]
    for function_pool, runtime in a_runtimes:
        pool.release(function_pool, runtime)
    _, b_runtime = pool.acquire("b", SPEC, timeout=1)
    closed = [runtime for _, runtime in a_runtimes if runtime.closed]
    assert len(closed) == 1, "the least recently used idle runtime of a made room for b"
    assert pool.counts()["total"] == 2 and b_runtime.alive()


def test_a_nested_callee_always_gets_a_runtime_when_callers_fill_the_total(tmp_path):
    """Callers hold every runtime of the total while they wait for their callee: the callee
    may still start one, so the call chain finishes instead of deadlocking."""
    pool = make_pool(tmp_path, per_function=2, total=2)
    callers = [pool.acquire("caller", SPEC, timeout=1) for _ in range(2)]
    assert all(callers)
    callee = pool.acquire("callee", SPEC, timeout=0.5)
    assert callee is not None, "the callee started one runtime over the total"
    assert pool.counts()["total"] == 3
    pool.release(*callee)
    assert pool.acquire("callee", SPEC, timeout=0.5) is not None, "and keeps it warm"
    assert pool.acquire("third", SPEC, timeout=0.2) is not None
    assert pool.counts()["total"] == 4, "one over the total per function at most"
    assert pool.acquire("caller", SPEC, timeout=0.2) is None, "a function with runtimes waits"


def test_a_killed_runtime_gives_its_room_up(tmp_path):
    pool = make_pool(tmp_path, per_function=1, total=1)
    function_pool, runtime = pool.acquire("a", SPEC, timeout=1)
    runtime.dead = True  # a timeout or memory kill
    pool.release(function_pool, runtime)
    assert runtime.closed and pool.counts()["total"] == 0
    _, fresh = pool.acquire("a", SPEC, timeout=1)
    assert fresh is not runtime, "the next invoke starts a new runtime: a cold start"


def test_surplus_runtimes_are_reaped_soon_and_the_warm_one_after_the_keepalive(tmp_path):
    clock = Clock()
    pool = make_pool(tmp_path, clock=clock, per_function=3, total=3, warm=1, surplus=30, keepalive=600)
    borrowed = [pool.acquire("a", SPEC, timeout=1) for _ in range(3)]
    for function_pool, runtime in borrowed:
        clock.now += 1
        pool.release(function_pool, runtime)
    clock.now += 27  # idle for 29, 28 and 27 s
    assert pool.reap() == [], "nothing has been idle 30 s yet"
    clock.now += 2
    reaped = pool.reap()
    assert {r.runtime_id for r in reaped} == {borrowed[0][1].runtime_id, borrowed[1][1].runtime_id}
    assert all(r.closed for r in reaped) and pool.counts()["total"] == 1
    survivor = borrowed[2][1]
    clock.now += 100
    assert pool.reap() == [] and not survivor.closed, "the most recently used stays warm"
    clock.now += 500
    assert pool.reap() == [survivor] and pool.counts()["total"] == 0


def test_closing_a_version_stops_idle_runtimes_now_and_busy_ones_on_release(tmp_path):
    pool = make_pool(tmp_path, per_function=2, total=4)
    idle = pool.acquire("a", SPEC, timeout=1)
    busy = pool.acquire("a", SPEC, timeout=1)
    pool.release(*idle)
    pool.close_pool("a")
    assert idle[1].closed and not busy[1].closed
    pool.release(*busy)
    assert busy[1].closed and pool.counts()["total"] == 0


def test_default_bounds_come_from_the_machine():
    small = CapacitySettings.defaults(cores=2, memory_mb=24 * 1024)
    assert (small.max_per_function, small.max_total) == (4, 8)
    tight = CapacitySettings.defaults(cores=8, memory_mb=4096)
    assert tight.max_total == 4, "a quarter of 4 GB holds four 256 MB runtimes"
    assert tight.max_per_function == 4


def test_settings_from_the_environment_are_checked():
    settings = CapacitySettings.from_env(
        {"LOCAL_LAMBDA_MAX_PER_FUNCTION": "3", "LOCAL_LAMBDA_MAX_TOTAL": "5"}
    )
    assert (settings.max_per_function, settings.max_total) == (3, 5)
    assert (
        CapacitySettings.from_env(
            {"LOCAL_LAMBDA_MAX_PER_FUNCTION": "9", "LOCAL_LAMBDA_MAX_TOTAL": "5"}
        ).max_per_function
        == 5
    )
    with pytest.raises(ValueError, match="LOCAL_LAMBDA_MAX_TOTAL"):
        CapacitySettings.from_env({"LOCAL_LAMBDA_MAX_TOTAL": "0"})
    with pytest.raises(ValueError, match="LOCAL_LAMBDA_CAPACITY_MODE"):
        CapacitySettings.from_env({"LOCAL_LAMBDA_CAPACITY_MODE": "burst"})


def test_throttle_mode_hands_the_bound_to_localstacks_account_limit():
    settings = CapacitySettings.from_env(
        {"LOCAL_LAMBDA_CAPACITY_MODE": MODE_THROTTLE, "LOCAL_LAMBDA_MAX_TOTAL": "4"}
    )
    assert settings.max_per_function == 4, "no queueing: LocalStack refuses the excess itself"
    env = settings.localstack_environment()
    assert env["LAMBDA_LIMITS_CONCURRENT_EXECUTIONS"] == "4"
    assert env["DISABLE_BOTO_RETRIES"] == "1"
    assert "LAMBDA_LIMITS_CONCURRENT_EXECUTIONS" not in CapacitySettings.from_env({}).localstack_environment()
