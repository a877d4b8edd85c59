"""Background processes that are started once, found again by PID file, and stopped by PID.

A PID file holds the PID and the kernel's start time of that process, so a recycled PID
is never mistaken for ours. Stopping signals the process group the process leads.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from lambda_process_executor.procfs import process_start_time, read_pid_file, write_pid_file

__all__ = ["ManagedProcess", "process_start_time", "read_pid_file", "stop_pid", "write_pid_file"]


class ServiceError(RuntimeError):
    """A service could not be started or stopped; the message says what to read."""


def stop_pid(pid: int, timeout: float, group: bool = True) -> bool:
    """SIGTERM, wait, then SIGKILL: the process (group) is gone when this returns. False if it
    took the SIGKILL (it did not end by itself within ``timeout``)."""
    start_time = process_start_time(pid)
    send = os.killpg if group else os.kill
    for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 5.0)):
        try:
            send(pid, sig)
        except (ProcessLookupError, PermissionError):
            return sig == signal.SIGTERM
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if process_start_time(pid) != start_time:
                return sig == signal.SIGTERM
            time.sleep(0.05)
    raise ServiceError(f"process {pid} survived SIGKILL")


def tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return "(no log)"


@dataclass
class ManagedProcess:
    """One long-running service process with its PID file, log file and readiness probe."""

    name: str
    command: list[str]
    env: dict[str, str]
    cwd: Path
    run_dir: Path
    ready: Callable[[], bool]
    start_timeout: float = 60.0
    stop_timeout: float = 10.0
    after_stop: Callable[[], None] = field(default=lambda: None)
    explicit_hint: str = "see README, 'Local services'"  # how to use a server that is not ours
    prepare: Callable[[], None] = field(default=lambda: None)  # runs before each start of ours

    @property
    def pid_path(self) -> Path:
        return self.run_dir / f"{self.name}.pid"

    @property
    def log_path(self) -> Path:
        return self.run_dir / f"{self.name}.log"

    def pid(self) -> int | None:
        return read_pid_file(self.pid_path)

    def start(self) -> str:
        """Starts the process unless it (or something answering for it) already runs."""
        if self.pid() is not None:
            self._wait_ready(None)
            return "already running"
        if self.ready():
            raise ServiceError(
                f"{self.name}: its port already answers, but not for a process `make up` started; "
                f"stop that process, choose another port, or name it explicitly ({self.explicit_hint})"
            )
        self.run_dir.mkdir(parents=True, exist_ok=True)
        try:
            self.prepare()
        except Exception as error:
            raise ServiceError(f"{self.name}: preparing failed: {error}") from error
        with open(self.log_path, "ab") as log:
            process = subprocess.Popen(
                self.command,
                cwd=self.cwd,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        write_pid_file(self.pid_path, process.pid)
        try:
            self._wait_ready(process)
        except ServiceError:
            self.stop()
            raise
        return "started"

    def _wait_ready(self, process: subprocess.Popen[bytes] | None) -> None:
        deadline = time.monotonic() + self.start_timeout
        while not self.ready():
            exited = process.poll() if process else (None if self.pid() else "?")
            if exited is not None:
                raise ServiceError(
                    f"{self.name} exited (code {exited}) before it was ready; "
                    f"log {self.log_path}:\n{tail(self.log_path)}"
                )
            if time.monotonic() > deadline:
                raise ServiceError(
                    f"{self.name} did not answer within {self.start_timeout:.0f} s; "
                    f"log {self.log_path}:\n{tail(self.log_path)}"
                )
            time.sleep(0.1)

    def stop(self) -> str:
        """Stops what this project started: "stopped", "killed" (it did not end on SIGTERM
        within its stop timeout) or "was not running" (nothing of ours)."""
        pid = self.pid()
        outcome = "was not running"
        if pid is not None:
            outcome = (
                "stopped"
                if stop_pid(pid, self.stop_timeout)
                else f"killed: no exit {self.stop_timeout:.0f} s after SIGTERM"
            )
        self.pid_path.unlink(missing_ok=True)
        self.after_stop()
        return outcome
