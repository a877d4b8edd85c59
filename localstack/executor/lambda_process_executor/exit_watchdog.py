"""LocalStack's process ends promptly once its services have stopped.

Two waits came after the last service had stopped, and neither guards anything:

- A SIGTERM that arrives while LocalStack answers a request to itself (the Lambda metrics it
  records in a thread after each invoke: the first loads CloudWatch, 1.8 s) leaves a gateway
  worker waiting forever for an event loop that is gone, and the interpreter's exit joins that
  worker: `make down` then waited its 15 s for SIGKILL. A timer, armed once every service has
  stopped (every Lambda environment with it, its extensions' SHUTDOWN included), exits.
- The interpreter's own teardown of LocalStack's modules took 2-4 s after any Lambda use
  (py-spy: the main thread busy in C, no Python frame). Once the services have stopped, the
  exit skips it: the log is flushed, then the process ends with LocalStack's exit code.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import sys
import threading
import time

EXIT_GRACE_SECONDS = 2.0  # an exit that does not hang takes well under a second from here
_services_stopped = threading.Event()


def _exit_after(grace: float) -> None:
    time.sleep(grace)
    _exit_now(0)


def _exit_now(code: int) -> None:
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a closed or broken log
            stream.flush()
    os._exit(code)


def _exit_without_teardown() -> None:
    """Last of the exit handlers (registered first): after a shutdown, no module teardown."""
    if _services_stopped.is_set():
        from localstack.runtime import current

        _exit_now(current.get_current_runtime().exit_code)


def arm(grace: float = EXIT_GRACE_SECONDS) -> None:
    """Called after LocalStack's services have stopped."""
    _services_stopped.set()
    threading.Thread(target=_exit_after, args=(grace,), name="exit-watchdog", daemon=True).start()


def register() -> None:
    """Once per process: LocalStack's after-services shutdown handlers arm the timer."""
    from localstack.runtime.shutdown import ON_AFTER_SERVICE_SHUTDOWN_HANDLERS

    ON_AFTER_SERVICE_SHUTDOWN_HANDLERS.unregister(arm)
    ON_AFTER_SERVICE_SHUTDOWN_HANDLERS.register(arm)
    atexit.unregister(_exit_without_teardown)
    atexit.register(_exit_without_teardown)
