"""What the kernel says about a process, read from /proc: the one place that parses it.

Standard library only: LocalStack's process, ``make invoke``, the local cloud's start/stop,
the bench and the tests all use it.
"""

from __future__ import annotations

import os
from pathlib import Path

PROC = Path("/proc")


def _stat_fields(pid: int) -> list[str] | None:
    """Fields of /proc/<pid>/stat after the command name (which may hold spaces)."""
    try:
        return (PROC / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError, PermissionError, IndexError):
        return None


def process_start_time(pid: int) -> str | None:
    """The kernel's start time of a live (non-zombie) process, or None.

    A zombie is never reaped here: its exit status belongs to its owner (a Popen reaped behind
    its back reports exit status 0)."""
    fields = _stat_fields(pid)
    if fields is None or fields[0] == "Z":
        return None
    return fields[19]


SIGKILL_BIT = 1 << 8  # signal 9 in /proc's pending masks


def kill_pending(pid: int) -> bool:
    """Whether a SIGKILL waits for the process: a frozen (cgroup v1) process dies only once
    thawed, so until then it looks alive."""
    try:
        with open(PROC / str(pid) / "status") as status:
            for line in status:
                if line.startswith(("SigPnd:", "ShdPnd:")) and int(line.split()[1], 16) & SIGKILL_BIT:
                    return True
    except (FileNotFoundError, ProcessLookupError, PermissionError, ValueError):
        pass
    return False


def parent_pid(pid: int) -> int | None:
    fields = _stat_fields(pid)
    return int(fields[1]) if fields else None


def memory_kb(pid: int) -> tuple[int, int]:
    """(current RSS, peak RSS) of a process in kB; (0, 0) once it is gone."""
    rss = hwm = 0
    try:
        with open(PROC / str(pid) / "status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    rss = int(line.split()[1])
                elif line.startswith("VmHWM:"):
                    hwm = int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError, PermissionError, ValueError):
        pass
    return rss, hwm


def command_line(pid: int) -> list[str]:
    try:
        return (PROC / str(pid) / "cmdline").read_bytes().decode(errors="replace").split("\0")[:-1]
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return []


def working_directory(pid: int) -> str:
    try:
        return os.readlink(PROC / str(pid) / "cwd")
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return ""


def all_pids() -> list[int]:
    return [int(entry.name) for entry in PROC.iterdir() if entry.name.isdigit()]


def descends_from(pid: int, ancestor: int) -> bool | None:
    """Whether ``ancestor`` is up ``pid``'s parent chain; None when ``pid`` ended meanwhile."""
    current = pid
    for _ in range(64):
        parent = parent_pid(current)
        if parent is None:
            return None if current == pid else False
        if parent == ancestor:
            return True
        if parent <= 1:
            return False
        current = parent
    return False


def descendants(root: int) -> list[int]:
    """Every live process below ``root`` in the real process tree (not from PID files)."""
    children: dict[int, list[int]] = {}
    for pid in all_pids():
        parent = parent_pid(pid)
        if parent is not None and process_start_time(pid) is not None:
            children.setdefault(parent, []).append(pid)
    found, todo = [], list(children.get(root, []))
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, []))
    return found


def write_pid_file(path: Path, pid: int) -> None:
    """``<pid> <start time>``: lets ``make down`` stop exactly this process, never a reused PID."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"{pid} {process_start_time(pid) or ''}\n")


def read_pid_file(path: Path) -> int | None:
    """The PID recorded in ``path`` if that very process is still alive."""
    try:
        pid_text, _, start_time = path.read_text().strip().partition(" ")
        pid = int(pid_text)
    except (FileNotFoundError, ValueError):
        return None
    if not start_time or process_start_time(pid) != start_time:
        return None
    return pid
