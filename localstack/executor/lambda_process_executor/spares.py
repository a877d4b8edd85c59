"""Hot reload's spare runtime: one process per watched runtime, started once the runtime's
Init is over, that has imported the function's dependencies ahead (``reload_spare.py``) and
waits. The next reload takes it, so the reload's Init imports only the saved code. Not used
with a debugger or an exec wrapper, which start the runtime client themselves. Standard
library only."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
from collections.abc import Callable
from pathlib import Path

SCRIPT = Path(__file__).with_name("reload_spare.py")


class ReloadSpare:
    """At most one waiting runtime for a function's next hot reload."""

    def __init__(self) -> None:
        self._process: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()
        self._closed = False

    def prepare(self, start: Callable[[], subprocess.Popen[bytes]]) -> None:
        """Starts a spare in the background unless one waits already."""

        def run() -> None:
            with self._lock:
                if self._closed or (self._process is not None and self._process.poll() is None):
                    return
                self._process = start()

        threading.Thread(target=run, name="reload-spare", daemon=True).start()

    def take(self) -> subprocess.Popen[bytes] | None:
        """The waiting spare, told to run the runtime client; None without one."""
        with self._lock:
            process, self._process = self._process, None
        if process is None or process.poll() is not None or process.stdin is None:
            return None
        try:
            process.stdin.write(b"go\n")
            process.stdin.close()
        except OSError:
            _kill(process)
            return None
        return process

    def stop(self) -> None:
        """No more spares: the one waiting goes."""
        with self._lock:
            self._closed = True
            process, self._process = self._process, None
        if process is not None:
            _kill(process)


def _kill(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
    process.wait()
