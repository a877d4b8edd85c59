"""The resource limits AWS gives a function's processes (recorded by LocalStack's AWS-validated
``test_runtime_ulimits``: 1,024 open files, 742 processes, 8 MB stack, 64 kB locked memory),
applied to a runtime by ``prlimit`` before it starts.

A hard limit is only ever lowered: a host whose hard limit is already below AWS's keeps its own (an
unprivileged process cannot raise it). The process limit counts every process of the user, not
of the environment as in AWS's sandbox, so it applies only to root (which it does not bind):
for a developer's account it would count their desktop too. Standard library only.
"""

from __future__ import annotations

import resource
import shutil

UNLIMITED = resource.RLIM_INFINITY
AWS_LIMITS = {  # prlimit's option: (resource, soft, hard)
    "--nofile": (resource.RLIMIT_NOFILE, 1024, 1024),
    "--nproc": (resource.RLIMIT_NPROC, 742, 742),
    "--core": (resource.RLIMIT_CORE, 10737418240, 10737418240),
    "--stack": (resource.RLIMIT_STACK, 8388608, UNLIMITED),
    "--memlock": (resource.RLIMIT_MEMLOCK, 65536, 65536),
}


def _lowered(current: int, wanted: int) -> int:
    if current == UNLIMITED:
        return wanted
    return current if wanted == UNLIMITED else min(current, wanted)


def _text(value: int) -> str:
    return "unlimited" if value == UNLIMITED else str(value)


def prefix(is_root: bool) -> list[str]:
    """``prlimit --nofile=1024:1024 ... --``: AWS's limits as far as this host allows."""
    prlimit = shutil.which("prlimit")
    if prlimit is None:
        return []
    options = []
    for option, (kind, soft, hard) in AWS_LIMITS.items():
        if kind == resource.RLIMIT_NPROC and not is_root:
            continue
        _, current_hard = resource.getrlimit(kind)
        new_hard = _lowered(current_hard, hard)
        new_soft = soft if new_hard == UNLIMITED else min(soft, new_hard)  # a soft limit may rise to the hard
        options.append(f"{option}={_text(new_soft)}:{_text(new_hard)}")
    return [prlimit, *options, "--"]
