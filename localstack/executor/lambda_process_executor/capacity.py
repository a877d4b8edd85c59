"""The local cloud's capacity model and Lambda's clock: their settings, read here and nowhere else.

AWS gives every execution environment its own CPU share and scales out to hundreds; a laptop
has a few cores. So runtimes are bounded per function and in total, an invoke that finds
them all busy waits first-in-first-out for a warm one (``queue``, the default), and surplus
runtimes are reaped soon after a burst. ``throttle`` instead refuses excess invokes as AWS
does (TooManyRequestsException; API Gateway answers 500). See docs/capacity.md.

Each runtime also gets AWS's CPU share for its MemorySize and is frozen between invokes
(``aws``, the default; confinement.py), or runs on the host's CPU (``host``). See
docs/fidelity.md.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

MODE_QUEUE = "queue"
MODE_THROTTLE = "throttle"

MAX_PER_FUNCTION_ENV = "LOCAL_LAMBDA_MAX_PER_FUNCTION"
MAX_TOTAL_ENV = "LOCAL_LAMBDA_MAX_TOTAL"
WARM_PER_FUNCTION_ENV = "LOCAL_LAMBDA_WARM_PER_FUNCTION"
SURPLUS_IDLE_SECONDS_ENV = "LOCAL_LAMBDA_SURPLUS_IDLE_SECONDS"
MODE_ENV = "LOCAL_LAMBDA_CAPACITY_MODE"
KEEPALIVE_MS_ENV = "LAMBDA_KEEPALIVE_MS"  # LocalStack's own: how long the warm ones stay
CPU_MODE_ENV = "LOCAL_LAMBDA_CPU"
CPU_SCALE_ENV = "LOCAL_LAMBDA_CPU_SCALE"
CGROUP_ROOT_ENV = "LOCAL_LAMBDA_CGROUP_ROOT"
ENV_NAMES = (
    MAX_PER_FUNCTION_ENV,
    MAX_TOTAL_ENV,
    WARM_PER_FUNCTION_ENV,
    SURPLUS_IDLE_SECONDS_ENV,
    MODE_ENV,
    CPU_MODE_ENV,
    CPU_SCALE_ENV,
    CGROUP_ROOT_ENV,
)

CPU_AWS = "aws"  # MemorySize/1769 of a vCPU, frozen between invokes
CPU_HOST = "host"  # the host's CPU, never frozen
DEFAULT_CGROUP_ROOT = "/sys/fs/cgroup"

MB_PER_RUNTIME_BUDGET = 256  # a function runtime with Sentry and pymongo measures 40-70 MB


def machine_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def machine_memory_mb() -> int:
    try:
        with open("/proc/meminfo") as meminfo:
            return int(meminfo.readline().split()[1]) // 1024
    except (OSError, ValueError, IndexError):
        return 4096


def _positive(environ: dict[str, str], name: str, default: float) -> float:
    raw = environ.get(name, "")
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"{name}={raw!r} is not a number") from None
    if value <= 0:
        raise ValueError(f"{name}={raw!r} must be greater than 0")
    return value


@dataclass(frozen=True)
class CapacitySettings:
    max_per_function: int
    max_total: int
    warm_per_function: int
    surplus_idle_seconds: float
    keepalive_seconds: float
    mode: str = MODE_QUEUE
    cpu_mode: str = CPU_AWS
    cpu_scale: float = 1.0  # host cores per AWS vCPU: below 1 for a host faster than AWS's vCPU
    cgroup_root: str = DEFAULT_CGROUP_ROOT

    @classmethod
    def defaults(cls, cores: int | None = None, memory_mb: int | None = None) -> CapacitySettings:
        """Two runtimes per core for a function, four per core in all, within a quarter of memory."""
        cores = cores or machine_cores()
        memory_mb = memory_mb or machine_memory_mb()
        by_memory = max(2, memory_mb // 4 // MB_PER_RUNTIME_BUDGET)
        total = max(2, min(4 * cores, by_memory))
        return cls(
            max_per_function=max(1, min(2 * cores, total)),
            max_total=total,
            warm_per_function=1,
            surplus_idle_seconds=30.0,
            keepalive_seconds=600.0,
        )

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> CapacitySettings:
        environ = dict(os.environ if environ is None else environ)
        base = cls.defaults()
        mode = environ.get(MODE_ENV, "") or MODE_QUEUE
        if mode not in (MODE_QUEUE, MODE_THROTTLE):
            raise ValueError(f"{MODE_ENV}={mode!r}: use {MODE_QUEUE!r} or {MODE_THROTTLE!r}")
        total = int(_positive(environ, MAX_TOTAL_ENV, base.max_total))
        per_function = int(_positive(environ, MAX_PER_FUNCTION_ENV, min(base.max_per_function, total)))
        if mode == MODE_THROTTLE:  # LocalStack's account limit bounds concurrency; never queue
            per_function = total
        cpu_mode = environ.get(CPU_MODE_ENV, "") or CPU_AWS
        if cpu_mode not in (CPU_AWS, CPU_HOST):
            raise ValueError(f"{CPU_MODE_ENV}={cpu_mode!r}: use {CPU_AWS!r} or {CPU_HOST!r}")
        return cls(
            max_per_function=min(per_function, total),
            max_total=total,
            warm_per_function=int(environ.get(WARM_PER_FUNCTION_ENV) or base.warm_per_function),
            surplus_idle_seconds=_positive(environ, SURPLUS_IDLE_SECONDS_ENV, base.surplus_idle_seconds),
            keepalive_seconds=_positive(environ, KEEPALIVE_MS_ENV, base.keepalive_seconds * 1000) / 1000,
            mode=mode,
            cpu_mode=cpu_mode,
            cpu_scale=_positive(environ, CPU_SCALE_ENV, base.cpu_scale),
            cgroup_root=environ.get(CGROUP_ROOT_ENV) or base.cgroup_root,
        )

    def localstack_environment(self) -> dict[str, str]:
        """What LocalStack itself must be told for this model (its limits, in throttle mode)."""
        env = {
            MAX_PER_FUNCTION_ENV: str(self.max_per_function),
            MAX_TOTAL_ENV: str(self.max_total),
            WARM_PER_FUNCTION_ENV: str(self.warm_per_function),
            SURPLUS_IDLE_SECONDS_ENV: f"{self.surplus_idle_seconds:g}",
            MODE_ENV: self.mode,
            CPU_MODE_ENV: self.cpu_mode,
            CPU_SCALE_ENV: f"{self.cpu_scale:g}",
            CGROUP_ROOT_ENV: self.cgroup_root,
        }
        if self.mode == MODE_THROTTLE:
            env |= {
                # the account's concurrency: excess invokes get TooManyRequestsException
                "LAMBDA_LIMITS_CONCURRENT_EXECUTIONS": str(self.max_total),
                "LAMBDA_LIMITS_MINIMUM_UNRESERVED_CONCURRENCY": "1",
                # API Gateway's internal client must not retry a throttle (AWS does not)
                "DISABLE_BOTO_RETRIES": "1",
            }
        return env
