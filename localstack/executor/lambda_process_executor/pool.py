"""Runtimes pooled per function behind LocalStack's environments, bounded and reaped.

LocalStack starts a new environment whenever none is idle and offers no hook to wait
instead. Its environments are therefore cheap handles here: the runtimes live in this pool,
at most ``max_per_function`` per function and ``max_total`` in all. An invoke takes an idle
warm runtime, or starts one while under the bounds, or waits first-in-first-out (per
function) for one to come back, until the function's Timeout.

Nested invokes (a function synchronously invoking another) cannot deadlock: a function with
no runtime at all may always start one, taking the room of another function's idle runtime
when the total is reached, or going over the total by one when none is idle. So every
callee can always run, and its callers wait no longer than it takes.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from lambda_process_executor.capacity import CapacitySettings
from lambda_process_executor.code_source import DebugOptions
from lambda_process_executor.confinement import Confinement
from lambda_process_executor.runtime import RuntimeProcess, RuntimeSpec

REAP_INTERVAL_SECONDS = 1.0


@dataclass(eq=False)
class FunctionPool:
    key: str
    spec: RuntimeSpec
    idle: list[RuntimeProcess] = field(default_factory=list)  # most recently used last
    busy: set[RuntimeProcess] = field(default_factory=set)
    starting: int = 0
    waiters: deque[object] = field(default_factory=deque)
    last_used: dict[RuntimeProcess, float] = field(default_factory=dict)
    closed: bool = False

    @property
    def live(self) -> int:
        return len(self.idle) + len(self.busy) + self.starting


class RuntimePool:
    """All runtimes of this process: one ``FunctionPool`` per function version and config."""

    def __init__(
        self,
        settings: CapacitySettings,
        work_dir: Path,
        clock: Callable[[], float] = time.monotonic,
        new_runtime: Callable[[RuntimeSpec, Path, str], RuntimeProcess] | None = None,
        confinement: Confinement | None = None,
    ) -> None:
        self.settings = settings
        self.work_dir = work_dir
        self.confinement = confinement or Confinement(settings)
        self._clock = clock
        self._new_runtime = new_runtime or (
            lambda spec, env_dir, runtime_id: RuntimeProcess(spec, env_dir, runtime_id, self.confinement)
        )
        self._changed = threading.Condition()
        self._pools: dict[str, FunctionPool] = {}
        self._total = 0
        self._reaper: threading.Thread | None = None

    # --- what LocalStack's environments call -------------------------------------------
    def _pool_for(self, key: str, spec: RuntimeSpec) -> FunctionPool:
        """Under the lock: the pool of ``key``, created on first use."""
        pool = self._pools.get(key)
        if pool is None:
            pool = self._pools[key] = FunctionPool(key, spec)
        if self._reaper is None:
            self._reaper = threading.Thread(target=self._reap_forever, name="lambda-reaper", daemon=True)
            self._reaper.start()
        return pool

    def acquire(
        self, key: str, spec: RuntimeSpec, timeout: float
    ) -> tuple[FunctionPool, RuntimeProcess] | None:
        """A runtime of function ``key`` for one invoke, or None when none came free within
        ``timeout`` seconds."""
        deadline = self._clock() + timeout
        ticket = object()
        evicted: list[RuntimeProcess] = []
        with self._changed:
            pool = self._pool_for(key, spec)
            pool.waiters.append(ticket)
            try:
                while True:
                    if pool.waiters[0] is ticket:
                        if pool.idle:
                            runtime = pool.idle.pop()
                            pool.busy.add(runtime)
                            return pool, runtime
                        if self._may_start(pool, evicted):
                            pool.starting += 1
                            self._total += 1
                            break
                    remaining = deadline - self._clock()
                    if remaining <= 0:
                        return None
                    self._changed.wait(min(remaining, REAP_INTERVAL_SECONDS))
            finally:
                pool.waiters.remove(ticket)
                self._changed.notify_all()
        for runtime in evicted:
            runtime.close()
        return pool, self._start(pool, spec)

    def release(self, pool: FunctionPool, runtime: RuntimeProcess, retire: bool = False) -> None:
        """Back to the pool while it lives; a killed or retired runtime gives its room up."""
        keep = runtime.alive() and not pool.closed and not retire
        with self._changed:
            pool.busy.discard(runtime)
            if keep:
                pool.idle.append(runtime)
                pool.last_used[runtime] = self._clock()
            else:
                pool.last_used.pop(runtime, None)
                self._total -= 1
            self._changed.notify_all()
        if not keep:
            runtime.close()

    def close_pool(self, key: str) -> None:
        """The function version is gone: stop its idle runtimes now, its busy ones on release."""
        with self._changed:
            pool = self._pools.pop(key, None)
            if pool is None:
                return
            pool.closed = True
            idle, pool.idle = pool.idle, []
            self._total -= len(idle)
            self._changed.notify_all()
        for runtime in idle:
            runtime.close()

    def close_all(self) -> None:
        for key in list(self._pools):
            self.close_pool(key)

    # --- bookkeeping ----------------------------------------------------------------------
    def counts(self) -> dict[str, int]:
        with self._changed:
            return {
                "total": self._total,
                "idle": sum(len(p.idle) for p in self._pools.values()),
                "busy": sum(len(p.busy) for p in self._pools.values()),
                "waiting": sum(len(p.waiters) for p in self._pools.values()),
            }

    def _may_start(self, pool: FunctionPool, evicted: list[RuntimeProcess]) -> bool:
        """Under the lock: whether ``pool`` may start a runtime now (evicting one if needed)."""
        limit = 1 if DebugOptions.of(pool.spec.env_vars).port else self.settings.max_per_function
        if pool.live >= limit:  # one environment while debugging (one port), as SAM CLI
            return False
        if self._total < self.settings.max_total:
            return True
        victim = self._oldest_idle_elsewhere(pool)
        if victim is not None:
            owner, runtime = victim
            owner.idle.remove(runtime)
            owner.last_used.pop(runtime, None)
            self._total -= 1
            evicted.append(runtime)
            return True
        return pool.live == 0  # every function can always run one: no nested-invoke deadlock

    def _oldest_idle_elsewhere(self, pool: FunctionPool) -> tuple[FunctionPool, RuntimeProcess] | None:
        candidates = [
            (other.last_used.get(runtime, 0.0), id(runtime), other, runtime)
            for other in self._pools.values()
            if other is not pool
            for runtime in other.idle
        ]
        if not candidates:
            return None
        _, _, owner, runtime = min(candidates)
        return owner, runtime

    def _start(self, pool: FunctionPool, spec: RuntimeSpec) -> RuntimeProcess:
        """A new runtime object with the spec of the environment that starts it (its own log
        stream, credentials, initialization type); its process starts on its first invoke."""
        runtime_id = uuid.uuid4().hex
        try:
            runtime = self._new_runtime(spec, self.work_dir / "envs" / runtime_id, runtime_id)
        except BaseException:
            with self._changed:
                pool.starting -= 1
                self._total -= 1
                self._changed.notify_all()
            raise
        with self._changed:
            pool.starting -= 1
            pool.busy.add(runtime)
        return runtime

    def reap(self) -> list[RuntimeProcess]:
        """Stops idle runtimes: beyond the warm ones after the surplus idle time, all after the
        keep-alive. Returns what it stopped."""
        now = self._clock()
        stopped: list[RuntimeProcess] = []
        with self._changed:
            for pool in list(self._pools.values()):
                # the most recently used stay warm longest
                expired = [
                    runtime
                    for rank, runtime in enumerate(reversed(pool.idle))
                    if now - pool.last_used.get(runtime, now)
                    >= (
                        self.settings.keepalive_seconds
                        if rank < self.settings.warm_per_function
                        else self.settings.surplus_idle_seconds
                    )
                ]
                for runtime in expired:
                    pool.idle.remove(runtime)
                    pool.last_used.pop(runtime, None)
                    self._total -= 1
                stopped += expired
                if not pool.live and not pool.waiters:
                    del self._pools[pool.key]
            if stopped:
                self._changed.notify_all()
        for runtime in stopped:
            runtime.close()
        return stopped

    def _reap_forever(self) -> None:
        while True:
            time.sleep(REAP_INTERVAL_SECONDS)
            try:
                self.reap()
            except Exception as error:  # never let the reaper die
                print(f"lambda pool: reaping failed: {error!r}", flush=True)
