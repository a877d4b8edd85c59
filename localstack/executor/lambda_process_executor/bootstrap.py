"""The runtime's command line as AWS's bootstrap (/var/runtime/bootstrap) builds it.

AWS's bootstrap execs ``$AWS_LAMBDA_EXEC_WRAPPER python -m awslambdaric $_HANDLER`` when the
function sets that variable (OpenTelemetry's and other vendors' layers rely on it to change
the runtime's environment or arguments first), after checking that the wrapper exists (else
``<wrapper>: does not exist``, exit status 127) and is executable (exit status 126). The
function names it by AWS's paths (/var/task, /opt): they are read here as the task root and
the merged layers. Standard library only.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

EXEC_WRAPPER_ENV = "AWS_LAMBDA_EXEC_WRAPPER"
AWS_TASK_ROOT = "/var/task"
AWS_OPT = "/opt"


def host_path(path: str, task_root: Path, opt_dir: Path) -> str:
    """An AWS path (/var/task/..., /opt/...) as it lies on this host."""
    for aws, host in ((AWS_TASK_ROOT, task_root), (AWS_OPT, opt_dir)):
        if path == aws or path.startswith(aws + "/"):
            return str(host) + path[len(aws) :]
    return path


def _failing(message: str, status: int) -> list[str]:
    """A runtime that says why on its output and exits as AWS's bootstrap does."""
    return ["/bin/sh", "-c", 'echo "$1"; exit "$2"', "bootstrap", message, str(status)]


def command(env: Mapping[str, str], runtime: list[str], task_root: Path, opt_dir: Path) -> list[str]:
    """``runtime`` (the runtime client's argv) behind the function's exec wrapper, if it has one."""
    wrapper = env.get(EXEC_WRAPPER_ENV, "")
    if not wrapper:
        return runtime
    path = host_path(wrapper, task_root, opt_dir)
    if not os.path.isfile(path):
        return _failing(f"{wrapper}: does not exist", 127)
    if not os.access(path, os.X_OK):
        return _failing(f"{wrapper}: is not an executable", 126)
    return [path, *runtime]
