"""Lambda's clock, measured: the CPU share a runtime gets per MemorySize and the freeze between
invokes, in real runtimes of a probe function (perf/probes/clock.py) under the executor's own
confinement. `make bench` writes these figures to docs/benchmarks.md; the tests use the same
probe with tolerances.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import replace
from pathlib import Path
from typing import Any

from lambda_process_executor import confinement
from lambda_process_executor.capacity import CPU_HOST, CapacitySettings
from lambda_process_executor.runtime import Invocation, RuntimeProcess, RuntimeSpec
from localcloud.settings import PROJECT_ROOT, Settings

PROBES = Path(__file__).parent / "probes"
WORK_DIR = PROJECT_ROOT / ".local" / "lambda-clock"
IDLE_GAP_SECONDS = 2.0


def probe_spec(memory_mb: int, timeout: float = 20.0, opt_dir: Path = WORK_DIR / "opt") -> RuntimeSpec:
    """The clock probe as a function of ``memory_mb``: no layers, AWS's variables."""
    name = f"clock-{memory_mb}"
    opt_dir.mkdir(parents=True, exist_ok=True)
    return RuntimeSpec(
        handler="clock.handler",
        python=str(Settings.from_env().lambda_python),
        task_root=str(PROBES),
        opt_dir=str(opt_dir),
        timeout_seconds=timeout,
        memory_mb=memory_mb,
        runtime="python3.13",
        env_vars={
            "AWS_LAMBDA_FUNCTION_NAME": name,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(memory_mb),
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{name}",
            "AWS_LAMBDA_LOG_STREAM_NAME": "local",
            "AWS_REGION": "us-east-1",
        },
    )


def call(runtime: RuntimeProcess, event: dict[str, Any]) -> dict[str, Any]:
    """One invoke of the probe; its decoded answer (an error raises)."""
    arn = "arn:aws:lambda:us-east-1:000000000000:function:clock"
    result = runtime.invoke(Invocation(str(uuid.uuid4()), arn, json.dumps(event).encode()))
    if result.is_error:
        raise RuntimeError(result.payload.decode(errors="replace"))
    answer: dict[str, Any] = json.loads(result.payload)
    return answer


def new_runtime(memory_mb: int, owner: confinement.Confinement) -> RuntimeProcess:
    runtime_id = uuid.uuid4().hex
    return RuntimeProcess(probe_spec(memory_mb), WORK_DIR / "envs" / runtime_id, runtime_id, owner)


def cpu_share(memory_mb: int, threads: int, owner: confinement.Confinement, seconds: float = 3.0) -> float:
    """Cores used by ``threads`` busy threads for ``seconds``: CPU time over wall time."""
    runtime = new_runtime(memory_mb, owner)
    try:
        burn = call(runtime, {"action": "burn", "seconds": seconds, "threads": threads})
    finally:
        runtime.close()
    return float(burn["cpu_seconds"] / burn["wall_seconds"])


def idle_progress(owner: confinement.Confinement) -> dict[str, int]:
    """A background thread's ticks (one per ms) across an idle gap between two invokes, and
    during the next invoke."""
    runtime = new_runtime(256, owner)
    try:
        first = call(runtime, {})["counter"]
        time.sleep(IDLE_GAP_SECONDS)
        second = call(runtime, {"sleep": 0.3})
    finally:
        runtime.close()
    return {"between": second["counter"] - second["during"] - first, "during_next": second["during"]}


def measure(settings: CapacitySettings) -> dict[str, Any]:
    """What `make bench` reports: the share at three sizes, and the freeze against the host's."""
    owner = confinement.for_owner(settings, WORK_DIR)
    host = confinement.for_owner(replace(settings, cpu_mode=CPU_HOST), WORK_DIR)
    try:
        return {
            "confinement": owner.describe(),
            "share": {
                "256": cpu_share(256, 1, owner),
                "1769": cpu_share(1769, 1, owner),
                "3008x2": cpu_share(3008, 2, owner),
            },
            "idle": {"aws": idle_progress(owner), "host": idle_progress(host)},
            "idle_gap_s": IDLE_GAP_SECONDS,
        }
    finally:
        owner.close()
