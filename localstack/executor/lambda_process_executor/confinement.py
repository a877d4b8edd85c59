"""Lambda's clock for a runtime process: a CPU share in proportion to MemorySize, and a freeze
between invokes.

AWS gives a function MemorySize/1769 of a vCPU (1,769 MB = one vCPU, at most 6) and freezes
its execution environment once the runtime has asked for the next event. Here each runtime
gets a *cell*: a cgroup of its own (v2 ``cpu.max`` + ``cgroup.freeze``, or v1 ``cpu`` +
``freezer``), removed when the runtime stops. Where no cgroup can be written (not root,
macOS, a locked container) runtimes run on the host's CPU and are frozen with SIGSTOP /
SIGCONT; ``describe()`` says so in one line. ``LOCAL_LAMBDA_CPU=host`` turns both off.

Cells are grouped per *instance* (one owner process: LocalStack, or ``make invoke``) under
``<cgroup>/lambda-local/<work-dir hash>-<owner pid>``. A small janitor process
(janitor.py) watches the owner and sweeps its instance when the owner dies, even by kill -9:
a frozen cgroup-v1 runtime does not act on its parent-death SIGKILL until it is thawed.

Standard library only: LocalStack's process, ``make invoke``, the local cloud's start/stop,
the bench and the tests all use it.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from lambda_process_executor.capacity import CPU_AWS, CapacitySettings, machine_cores

AWS_MB_PER_VCPU = 1769  # "At 1,769 MB, a function has the equivalent of one vCPU"
AWS_MAX_VCPUS = 6  # at 10,240 MB
INIT_BURST_VCPUS = 2  # unthrottled during an on-demand Init, at every MemorySize
CPU_PERIOD_US = 100_000
GROUP = "lambda-local"
RELEASE_WAIT_SECONDS = 2.0


def cpu_cores(memory_mb: int, scale: float = 1.0, host_cores: int | None = None) -> float:
    """AWS's CPU for ``memory_mb`` in host cores: MemorySize/1769 vCPU times ``scale`` (host
    cores per AWS vCPU), capped at AWS's 6 vCPUs and at the host's cores."""
    vcpus = min(memory_mb / AWS_MB_PER_VCPU, AWS_MAX_VCPUS)
    return min(vcpus * scale, float(host_cores or machine_cores()))


def quota_us(cores: float) -> int:
    """The CFS quota per ``CPU_PERIOD_US`` for ``cores`` (the kernel's minimum is 1 ms)."""
    return max(1000, round(cores * CPU_PERIOD_US))


def instance_prefix(work_dir: Path) -> str:
    """What every instance of one work folder's owners is named by (one LocalStack, say)."""
    return hashlib.sha1(str(work_dir.resolve()).encode()).hexdigest()[:12]


def _write(path: Path, value: str) -> None:
    with open(path, "w") as handle:
        handle.write(value)


def _pids_in(cell_dirs: list[Path]) -> set[int]:
    pids: set[int] = set()
    for folder in cell_dirs:
        with contextlib.suppress(OSError, ValueError):
            pids |= {int(line) for line in (folder / "cgroup.procs").read_text().split()}
    return pids


def _rmdir(folder: Path) -> bool:
    try:
        folder.rmdir()
        return True
    except FileNotFoundError:
        return True
    except OSError:
        return False


class Cell:
    """One runtime's confinement. The base class confines nothing (``host``)."""

    def adopt(self, pid: int) -> None:
        """Puts a just-started runtime (and what it will start) into the cell."""

    def limit_cpu(self, cores: float) -> None:
        """At most ``cores`` host cores from now on."""

    def freeze(self) -> None:
        """No thread of the runtime runs until ``thaw``."""

    def thaw(self) -> None:
        """Undoes ``freeze``; also after a SIGKILL, so that a frozen runtime can die."""

    def release(self) -> None:
        """The runtime is gone: kills what is left in the cell and removes it."""

    def cpu_quota(self) -> float | None:
        """The cores the cell allows now, read back from the kernel (None: unlimited)."""
        return None

    def frozen(self) -> bool:
        """Whether the kernel holds the runtime frozen now."""
        return False


class SignalCell(Cell):
    """No cgroup: the process group is stopped and continued; the CPU is the host's."""

    def __init__(self) -> None:
        self.pid: int | None = None

    def adopt(self, pid: int) -> None:
        self.pid = pid

    def _signal(self, number: signal.Signals) -> None:
        if self.pid is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.pid, number)

    def freeze(self) -> None:
        self._signal(signal.SIGSTOP)

    def thaw(self) -> None:
        self._signal(signal.SIGCONT)

    def frozen(self) -> bool:
        with contextlib.suppress(OSError, IndexError):
            stat = Path(f"/proc/{self.pid}/stat").read_text()
            return stat.rsplit(")", 1)[1].split()[0] == "T"
        return False


class CgroupCell(Cell):
    """A cgroup per runtime: v1 (``cpu`` and ``freezer`` hierarchies) or v2 (one folder)."""

    def __init__(self, dirs: list[Path], version: int) -> None:
        self.dirs = dirs  # v1: [cpu, freezer]; v2: [the cgroup]
        self.version = version
        for folder in dirs:
            folder.mkdir(parents=True, exist_ok=True)

    @property
    def cpu_dir(self) -> Path:
        return self.dirs[0]

    @property
    def freezer_dir(self) -> Path:
        return self.dirs[-1]

    def adopt(self, pid: int) -> None:
        for folder in self.dirs:
            _write(folder / "cgroup.procs", str(pid))

    def limit_cpu(self, cores: float) -> None:
        if self.version == 2:
            _write(self.cpu_dir / "cpu.max", f"{quota_us(cores)} {CPU_PERIOD_US}")
        else:
            _write(self.cpu_dir / "cpu.cfs_period_us", str(CPU_PERIOD_US))
            _write(self.cpu_dir / "cpu.cfs_quota_us", str(quota_us(cores)))

    def cpu_quota(self) -> float | None:
        if self.version == 2:
            quota, period = (self.cpu_dir / "cpu.max").read_text().split()
        else:
            quota = (self.cpu_dir / "cpu.cfs_quota_us").read_text().strip()
            period = (self.cpu_dir / "cpu.cfs_period_us").read_text().strip()
        return None if quota in ("max", "-1") else int(quota) / int(period)

    def _set_frozen(self, frozen: bool) -> None:
        with contextlib.suppress(FileNotFoundError):
            if self.version == 2:
                _write(self.freezer_dir / "cgroup.freeze", "1" if frozen else "0")
            else:
                _write(self.freezer_dir / "freezer.state", "FROZEN" if frozen else "THAWED")

    def freeze(self) -> None:
        self._set_frozen(True)

    def frozen(self) -> bool:
        with contextlib.suppress(OSError):
            if self.version == 2:
                return "frozen 1" in (self.freezer_dir / "cgroup.events").read_text()
            return (self.freezer_dir / "freezer.state").read_text().strip() == "FROZEN"
        return False

    def thaw(self) -> None:
        self._set_frozen(False)

    def release(self) -> None:
        release_cell(self.dirs, self.version)


def release_cell(dirs: list[Path], version: int) -> bool:
    """Kills every process left in a cell, thaws it so they can die, and removes it."""
    cell = CgroupCell.__new__(CgroupCell)
    cell.dirs, cell.version = dirs, version
    deadline = time.monotonic() + RELEASE_WAIT_SECONDS
    while pids := _pids_in(dirs):
        for pid in pids:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        cell.thaw()
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    cell.thaw()
    return all(_rmdir(folder) for folder in dirs)


class Confinement:
    """How this owner confines its runtimes; the base class is ``host`` (no confinement)."""

    kind = "host"

    def __init__(self, settings: CapacitySettings) -> None:
        self.settings = settings

    def describe(self) -> str:
        return "Lambda CPU: the host's (LOCAL_LAMBDA_CPU=host): no CPU share, no freeze between invokes"

    def cell(self, name: str) -> Cell:
        return Cell()

    def invoke_cores(self, memory_mb: int) -> float:
        return cpu_cores(memory_mb, self.settings.cpu_scale)

    def init_cores(self, memory_mb: int) -> float:
        """The Init phase of an on-demand environment runs unthrottled, on up to two vCPUs,
        whatever the MemorySize (AWS's "burst CPU" during init; sources in docs/fidelity.md)."""
        return max(
            self.invoke_cores(memory_mb),
            cpu_cores(INIT_BURST_VCPUS * AWS_MB_PER_VCPU, self.settings.cpu_scale),
        )

    def close(self) -> None:
        """This owner stops: its cells go, and so does its janitor."""


class SignalConfinement(Confinement):
    kind = "signals"

    def __init__(self, settings: CapacitySettings, reason: str) -> None:
        super().__init__(settings)
        self.reason = reason

    def describe(self) -> str:
        return (
            f"Lambda CPU: no writable cgroup ({self.reason}): runtimes run UNTHROTTLED on the "
            "host's CPU, frozen with SIGSTOP between invokes; CPU-bound timings are faster than "
            "on AWS (docs/fidelity.md)"
        )

    def cell(self, name: str) -> Cell:
        return SignalCell()


class CgroupConfinement(Confinement):
    """Cells under ``<hierarchy>/lambda-local/<instance>/<runtime>`` for each hierarchy used."""

    def __init__(self, settings: CapacitySettings, hierarchies: list[Path], version: int, work_dir: Path):
        super().__init__(settings)
        self.version = version
        self.kind = f"cgroup v{version}"
        self.prefix = instance_prefix(work_dir)
        self.instance = f"{self.prefix}-{os.getpid()}"
        self.hierarchies = hierarchies
        self.bases = [root / GROUP / self.instance for root in hierarchies]
        self._janitor: subprocess.Popen[bytes] | None = None

    def describe(self) -> str:
        return (
            f"Lambda CPU: AWS's share (MemorySize/{AWS_MB_PER_VCPU} of a vCPU x "
            f"{self.settings.cpu_scale:g}, {self.kind}), frozen between invokes"
        )

    def prepare(self) -> None:
        """Makes the instance's folders (v2: with the cpu controller enabled down to them)."""
        for base in self.bases:
            base.mkdir(parents=True, exist_ok=True)
        if self.version == 2:
            for folder in (self.hierarchies[0], self.hierarchies[0] / GROUP, self.bases[0]):
                _write(folder / "cgroup.subtree_control", "+cpu")

    def cell(self, name: str) -> Cell:
        if self._janitor is None:
            self.prepare()
            self._janitor = start_janitor(os.getpid(), self.version, self.bases)
        return CgroupCell([base / name for base in self.bases], self.version)

    def close(self) -> None:
        sweep_instance(self.bases, self.version)
        if self._janitor is not None:
            self._janitor.terminate()
            self._janitor.wait()
            self._janitor = None


def start_janitor(owner: int, version: int, bases: list[Path]) -> subprocess.Popen[bytes]:
    """A process that outlives the owner by the time it takes to sweep its cells."""
    return subprocess.Popen(
        [sys.executable, "-m", "lambda_process_executor.janitor", str(owner), str(version), *map(str, bases)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # not in the owner's process group: `make down` kills that
        env=dict(os.environ) | {"PYTHONPATH": str(Path(__file__).resolve().parents[1])},
    )


def sweep_instance(bases: list[Path], version: int) -> bool:
    """Releases every cell of an instance, then the instance's folders (and the group's, when
    nobody else uses it)."""
    names = {cell.name for base in bases if base.is_dir() for cell in base.iterdir() if cell.is_dir()}
    released = all(release_cell([base / name for base in bases], version) for name in sorted(names))
    for base in bases:
        if _rmdir(base):
            _rmdir(base.parent)
    return released


def hierarchies(root: Path) -> tuple[int, list[Path]] | None:
    """(version, hierarchies) of the cgroup mounts under ``root`` that have what we need."""
    if (root / "cgroup.controllers").is_file():  # the unified hierarchy only (v2)
        if "cpu" in (root / "cgroup.controllers").read_text().split():
            return 2, [root]
        return None
    if (root / "cpu" / "cpu.cfs_quota_us").is_file() and (root / "freezer" / "tasks").is_file():
        return 1, [root / "cpu", root / "freezer"]
    return None


def leftover_instances(root: Path, work_dir: Path) -> list[tuple[int, list[Path]]]:
    """Instances of ``work_dir``'s owners that are still in the cgroup tree, alive or not."""
    found = hierarchies(root)
    if found is None:
        return []
    version, roots = found
    prefix = instance_prefix(work_dir)
    group = roots[0] / GROUP
    names = sorted(p.name for p in group.glob(f"{prefix}-*")) if group.is_dir() else []
    return [(version, [r / GROUP / name for r in roots]) for name in names]


def sweep_dead_instances(root: Path, work_dir: Path) -> int:
    """Sweeps the instances of ``work_dir`` whose owner is gone; returns how many."""
    swept = 0
    for version, bases in leftover_instances(root, work_dir):
        owner = int(bases[0].name.rsplit("-", 1)[1])
        if _alive(owner):
            continue
        sweep_instance(bases, version)
        swept += 1
    return swept


def _probe(version: int, roots: list[Path]) -> None:
    """Does what a runtime's cell needs (folders, a quota, a freeze) on a throwaway cell, and
    leaves nothing: the instance's own folders come with its first runtime."""
    probe = CgroupConfinement.__new__(CgroupConfinement)
    probe.version, probe.hierarchies = version, roots
    probe.bases = [root / GROUP / f"probe-{os.getpid()}" for root in roots]
    try:
        probe.prepare()
        cell = CgroupCell([base / "cell" for base in probe.bases], version)
        cell.limit_cpu(0.5)
        cell.freeze()
        cell.thaw()
    finally:
        sweep_instance(probe.bases, version)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    with contextlib.suppress(FileNotFoundError):
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    return False


def for_owner(settings: CapacitySettings, work_dir: Path, sweep: bool = True) -> Confinement:
    """The best confinement this machine allows for the settings, probed by writing; with
    ``sweep``, instances of ``work_dir`` whose owner died are removed first."""
    if settings.cpu_mode != CPU_AWS:
        return Confinement(settings)
    root = Path(settings.cgroup_root)
    found = hierarchies(root)
    if found is None:
        return SignalConfinement(settings, f"no cgroup v2 cpu controller nor v1 cpu+freezer under {root}")
    version, roots = found
    try:
        _probe(version, roots)
    except OSError as error:
        return SignalConfinement(settings, f"{roots[0]}: {error.strerror or error}")
    if sweep:
        sweep_dead_instances(root, work_dir)
    return CgroupConfinement(settings, roots, version, work_dir)
