"""LocalStack's process ends even when its exit would hang.

A SIGTERM that arrives while LocalStack answers a request to itself (the Lambda metrics it
records in a thread after each invoke: the first loads CloudWatch, 1.8 s) leaves a gateway
worker waiting forever for an event loop that is gone, and the interpreter's exit joins that
worker: `make down` then waited its 15 s for SIGKILL. This arms a timer once every service has
stopped, every Lambda environment with it (its extensions' SHUTDOWN included): past it,
nothing is left to lose, and the process exits.
"""

from __future__ import annotations

import os
import threading
import time

EXIT_GRACE_SECONDS = 2.0  # an exit that does not hang takes well under a second from here


def _exit_after(grace: float) -> None:
    time.sleep(grace)
    os._exit(0)


def arm(grace: float = EXIT_GRACE_SECONDS) -> None:
    """Called after LocalStack's services have stopped."""
    threading.Thread(target=_exit_after, args=(grace,), name="exit-watchdog", daemon=True).start()


def register() -> None:
    """Once per process: LocalStack's after-services shutdown handlers arm the timer."""
    from localstack.runtime.shutdown import ON_AFTER_SERVICE_SHUTDOWN_HANDLERS

    ON_AFTER_SERVICE_SHUTDOWN_HANDLERS.unregister(arm)
    ON_AFTER_SERVICE_SHUTDOWN_HANDLERS.register(arm)
