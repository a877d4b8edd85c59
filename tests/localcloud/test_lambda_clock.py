"""Lambda's clock: AWS's CPU share per MemorySize and the freeze between invokes.

Real runtimes (the executor's RuntimeProcess, as LocalStack and `make invoke` run them) in
real cgroups: the quota is read back from the kernel's files, the share measured as CPU time
over wall time in a CPU-bound run, the freeze seen by a background thread's counter, and the
cleanup checked in the cgroup tree itself. The targets' exact figures live in make bench.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from lambda_process_executor import confinement
from lambda_process_executor.capacity import CPU_HOST, CapacitySettings
from lambda_process_executor.runtime import RuntimeProcess
from localcloud.settings import PROJECT_ROOT
from perf.lambda_clock import WORK_DIR, call, probe_spec

pytestmark = [pytest.mark.runtime, pytest.mark.serial]
WORK = WORK_DIR
SETTINGS = CapacitySettings.defaults()
needs_cgroups = pytest.mark.skipif(
    confinement.for_owner(SETTINGS, WORK).kind == "signals", reason="no writable cgroup on this machine"
)


def our_cells(work_dir: Path = WORK) -> list[Path]:
    """Every cgroup folder of ``work_dir``'s owners, found by walking the real cgroup tree."""
    found = confinement.hierarchies(Path(SETTINGS.cgroup_root))
    if found is None:
        return []
    prefix = confinement.instance_prefix(work_dir)
    return [path for root in found[1] for path in (root / confinement.GROUP).glob(f"{prefix}-*")]


def wait_until(condition, seconds: float = 5.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"{condition} still false after {seconds} s"
        time.sleep(0.01)


@pytest.fixture
def confined() -> Iterator[confinement.Confinement]:
    owner = confinement.for_owner(SETTINGS, WORK)
    yield owner
    owner.close()
    assert not our_cells(), "cells left after the owner closed"


@pytest.fixture
def runtime_of(confined) -> Iterator:
    started: list[RuntimeProcess] = []

    def start(memory_mb: int, owner: confinement.Confinement | None = None) -> RuntimeProcess:
        runtime = RuntimeProcess(probe_spec(memory_mb), WORK / "envs" / uuid.uuid4().hex, uuid.uuid4().hex,
                                 owner or confined)  # fmt: skip
        started.append(runtime)
        return runtime

    yield start
    for runtime in started:
        runtime.close()


@needs_cgroups
@pytest.mark.parametrize(("memory_mb", "share", "tolerance"), [(256, 256 / 1769, 0.02), (1769, 1.0, 0.05)])
def test_a_runtime_gets_memory_over_1769_of_a_core(runtime_of, memory_mb, share, tolerance):
    runtime = runtime_of(memory_mb)
    burn = call(runtime, {"action": "burn", "seconds": 2.0})
    assert runtime.cell.cpu_quota() == pytest.approx(share, abs=0.001)  # read back from the kernel
    measured = burn["cpu_seconds"] / burn["wall_seconds"]
    assert measured == pytest.approx(share, abs=tolerance), f"{memory_mb} MB got {measured:.3f} of a core"


@needs_cgroups
@pytest.mark.skipif(confinement.machine_cores() < 2, reason="needs two cores")
def test_above_1769_mb_two_threads_get_more_than_one_core(runtime_of):
    burn = call(runtime_of(3008), {"action": "burn", "seconds": 2.0, "threads": 2})
    assert burn["cpu_seconds"] / burn["wall_seconds"] >= 1.6


@needs_cgroups
def test_the_init_phase_runs_unthrottled_then_the_share_applies(runtime_of):
    runtime = runtime_of(128)
    runtime._spawn()  # before its first /next: the Init phase
    assert runtime.cell.cpu_quota() == pytest.approx(min(2.0, confinement.machine_cores()), abs=0.001)
    call(runtime, {})
    assert runtime.cell.cpu_quota() == pytest.approx(128 / 1769, abs=0.001)


@needs_cgroups
def test_a_provisioned_init_gets_the_share_not_the_burst(runtime_of):
    """Provisioned concurrency "has no cpu burst" (docs/fidelity.md): its Init runs at the share."""
    runtime = runtime_of(128)
    runtime.spec.env_vars["AWS_LAMBDA_INITIALIZATION_TYPE"] = "provisioned-concurrency"
    runtime._spawn()
    assert runtime.cell.cpu_quota() == pytest.approx(128 / 1769, abs=0.001)
    call(runtime, {})


@pytest.mark.parametrize("backend", ["cgroup", "signals"])
def test_a_background_thread_makes_no_progress_between_invokes(runtime_of, backend, tmp_path):
    owner = None
    if backend == "signals":  # a machine with no writable cgroup
        owner = confinement.for_owner(replace(SETTINGS, cgroup_root=str(tmp_path)), WORK)
        assert owner.kind == "signals"
    elif confinement.for_owner(SETTINGS, WORK).kind == "signals":
        pytest.skip("no writable cgroup on this machine")
    runtime = runtime_of(256, owner)
    first = call(runtime, {})["counter"]
    time.sleep(2.0)  # idle: frozen
    second = call(runtime, {"sleep": 0.3})
    assert second["counter"] - second["during"] - first <= 5, "the thread ran while the runtime idled"
    assert second["during"] >= 50, "the thread did not resume on the next invoke"


def test_with_the_host_setting_nothing_is_confined(runtime_of):
    owner = confinement.for_owner(replace(SETTINGS, cpu_mode=CPU_HOST), WORK)
    runtime = runtime_of(256, owner)
    first = call(runtime, {})["counter"]
    time.sleep(0.5)
    assert call(runtime, {})["counter"] - first >= 100  # ran between the invokes
    assert runtime.cell.cpu_quota() is None


@needs_cgroups
def test_a_timeout_and_a_kill_work_on_a_frozen_runtime_and_leave_no_cell(runtime_of, confined):
    runtime = runtime_of(256)
    call(runtime, {})
    wait_until(runtime.cell.frozen)  # it asked for its next event: frozen
    pid = runtime.pid
    runtime.kill()
    assert not runtime.alive() and not Path(f"/proc/{pid}").exists()
    runtime.close()
    assert not [cell for base in confined.bases for cell in base.iterdir() if cell.is_dir()]


@needs_cgroups
def test_the_owners_death_by_kill_9_leaves_no_runtime_and_no_cell():
    """A frozen runtime of an owner killed -9: the janitor thaws it (so its parent-death
    SIGKILL lands) and removes the cells."""
    work = WORK / "killed-owner"
    script = f"""
import json, sys, uuid
sys.path[:0] = {[str(PROJECT_ROOT / "localstack" / "executor"), str(PROJECT_ROOT)]!r}
from pathlib import Path
from lambda_process_executor import confinement
from lambda_process_executor.capacity import CapacitySettings
from lambda_process_executor.runtime import RuntimeProcess
from perf.lambda_clock import probe_spec, call
owner = confinement.for_owner(CapacitySettings.defaults(), Path({str(work)!r}))
runtime = RuntimeProcess(probe_spec(256), Path({str(work)!r}) / uuid.uuid4().hex, uuid.uuid4().hex, owner)
call(runtime, {{}})
print(runtime.pid, flush=True)
sys.stdin.read()
"""
    owner = subprocess.Popen([sys.executable, "-c", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        runtime_pid = int(owner.stdout.readline())
        assert our_cells(work), "the runtime should be in a cell"
        os.kill(owner.pid, 9)
        owner.wait()
        deadline = time.monotonic() + 10
        while (our_cells(work) or Path(f"/proc/{runtime_pid}").exists()) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not Path(f"/proc/{runtime_pid}").exists(), "the frozen runtime outlived its owner"
        assert not our_cells(work), "cells left after the owner's kill -9"
    finally:
        if owner.poll() is None:
            owner.kill()
            owner.wait()


def test_without_a_writable_cgroup_the_local_cloud_says_so_in_one_line(tmp_path):
    env = dict(os.environ) | {"LOCAL_LAMBDA_CGROUP_ROOT": str(tmp_path), "LOCAL_DIR": str(tmp_path / "local")}
    status = subprocess.run(
        [sys.executable, "-m", "localcloud", "status"], env=env, capture_output=True, text=True, check=True
    )
    lines = [line for line in status.stdout.splitlines() if line.startswith("Lambda CPU:")]
    assert len(lines) == 1 and "UNTHROTTLED" in lines[0], status.stdout
