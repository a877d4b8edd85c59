"""``python -m lambda_process_executor.janitor OWNER_PID CGROUP_VERSION BASE [BASE ...]``

Waits for the owner (LocalStack, or ``make invoke``) to end, however it ends, then sweeps its
cgroup instance: every runtime left in a cell is killed and thawed (a frozen cgroup-v1
process does not act on its parent-death SIGKILL until then), and the folders are removed.
SIGTERM (the owner closing normally) sweeps at once. Standard library only.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import sys
import time
from pathlib import Path

from lambda_process_executor.confinement import sweep_instance


def wait_for_exit(pid: int) -> None:
    try:
        descriptor = os.pidfd_open(pid)
    except (ProcessLookupError, OSError):
        while os.path.exists(f"/proc/{pid}"):  # no pidfd (old kernel): poll
            time.sleep(0.2)
        return
    select.select([descriptor], [], [])
    os.close(descriptor)


class StopWaitingError(Exception):
    pass


def _stop(*_: object) -> None:
    raise StopWaitingError


def main(argv: list[str]) -> int:
    owner, version, bases = int(argv[0]), int(argv[1]), [Path(base) for base in argv[2:]]
    signal.signal(signal.SIGTERM, _stop)  # the owner closes normally: sweep now
    with contextlib.suppress(StopWaitingError):
        wait_for_exit(owner)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # finish the sweep
    sweep_instance(bases, version)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
