"""Who is running: the local cloud's Lambda runtimes, counted in the real process tree.

Not from PID files: a runtime is any ``awslambdaric`` process whose working directory (its
task root, unzipped by LocalStack) lies in LocalStack's state folder; it is accounted for
when it descends from the LocalStack process, an orphan otherwise.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from lambda_process_executor import confinement, procfs
from lambda_process_executor.capacity import DEFAULT_CGROUP_ROOT


@dataclass
class Census:
    localstack_pid: int | None
    localstack_rss_mb: float = 0.0
    runtimes: list[int] = field(default_factory=list)
    runtimes_rss_mb: float = 0.0
    orphans: list[int] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.runtimes)


def _rss_mb(pids: list[int]) -> float:
    return round(sum(procfs.memory_kb(pid)[0] for pid in pids) / 1024, 1)


def runs_in(pid: int, folder: Path) -> bool:
    return procfs.working_directory(pid).startswith(f"{folder.resolve()}/")


def processes_in(folder: Path) -> list[int]:
    """Every live process (ours excepted) that runs in ``folder`` or names it on its command line."""
    root = str(folder.resolve())
    return [
        pid
        for pid in procfs.all_pids()
        if pid != os.getpid()
        and procfs.process_start_time(pid) is not None
        and (runs_in(pid, folder) or any(root in argument for argument in procfs.command_line(pid)))
    ]


def lambda_runtimes(state_dir: Path) -> list[int]:
    """Every live runtime process of the LocalStack whose state folder is ``state_dir``."""
    return [
        pid
        for pid in procfs.all_pids()
        if "awslambdaric" in procfs.command_line(pid)
        and procfs.process_start_time(pid) is not None
        and runs_in(pid, state_dir)
    ]


def take(state_dir: Path, localstack_pid: int | None) -> Census:
    accounted: list[int] = []
    orphans: list[int] = []
    for pid in lambda_runtimes(state_dir):
        below = procfs.descends_from(pid, localstack_pid) if localstack_pid else False
        if below is None:  # ended while we looked
            continue
        (accounted if below else orphans).append(pid)
    return Census(
        localstack_pid=localstack_pid,
        localstack_rss_mb=_rss_mb([localstack_pid]) if localstack_pid else 0.0,
        runtimes=accounted,
        runtimes_rss_mb=_rss_mb(accounted + orphans),
        orphans=[pid for pid in orphans if procfs.process_start_time(pid) is not None],
    )


def cgroups_of(work_dir: Path, root: str = DEFAULT_CGROUP_ROOT) -> list[Path]:
    """Every cgroup folder (instances and their cells) of ``work_dir``'s owners, read in the
    real cgroup tree."""
    found = []
    for _, bases in confinement.leftover_instances(Path(root), work_dir):
        for base in bases:
            found += [base, *(cell for cell in base.iterdir() if cell.is_dir())] if base.is_dir() else []
    return found


def orphaned_cgroups(root: str = DEFAULT_CGROUP_ROOT) -> list[Path]:
    """Instances of any work folder whose owner is gone, or is this process: left behind."""
    found = confinement.hierarchies(Path(root))
    if found is None:
        return []
    group = found[1][0] / confinement.GROUP
    instances = [path for path in group.iterdir() if path.is_dir()] if group.is_dir() else []
    return [
        path
        for path in instances
        if not path.name.rsplit("-", 1)[-1].isdigit()
        or int(path.name.rsplit("-", 1)[1]) == os.getpid()
        or procfs.process_start_time(int(path.name.rsplit("-", 1)[1])) is None
    ]
