"""Which interpreter runs which Lambda runtime: ``python3.12`` runs on a CPython 3.12, never
silently on another version (its error payloads, its standard library and its syntax differ).

One setting per runtime, ``LOCAL_LAMBDA_PYTHON_3_12=/path/to/bin/python``: the interpreter of
a Lambda runtime environment (awslambdaric and boto3 only; `make envs` builds one for every
Python the machine has). A runtime whose setting is missing, or names an interpreter of
another version or without awslambdaric, is refused with a message that names the setting.
Standard library only.
"""

from __future__ import annotations

import functools
import os
import subprocess
from collections.abc import Mapping

from lambda_process_executor.environment import UnsupportedRuntimeError, python_tag

SETTING_PREFIX = "LOCAL_LAMBDA_PYTHON_"
LEGACY_PYTHON_ENV = "LAMBDA_PROCESS_RUNTIME_PYTHON"  # the python3.13 one, before this mapping
LEGACY_RUNTIME = "python3.13"
PROBE = "import sys, awslambdaric; print('%d.%d' % sys.version_info[:2])"


def version_of(runtime: str) -> str:
    """``python3.12`` -> ``3.12``."""
    return python_tag(runtime).removeprefix("python")


def setting_name(runtime: str) -> str:
    """``python3.12`` -> ``LOCAL_LAMBDA_PYTHON_3_12``."""
    return SETTING_PREFIX + version_of(runtime).replace(".", "_")


def configured(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """Every runtime that has an interpreter setting: {``python3.12``: path}."""
    environ = os.environ if environ is None else environ
    found = {
        "python" + name.removeprefix(SETTING_PREFIX).replace("_", "."): value
        for name, value in environ.items()
        if name.startswith(SETTING_PREFIX) and value
    }
    if environ.get(LEGACY_PYTHON_ENV):
        found.setdefault(LEGACY_RUNTIME, environ[LEGACY_PYTHON_ENV])
    return found


@functools.lru_cache(maxsize=32)
def _probe(python: str) -> str:
    """The interpreter's ``major.minor`` if it can run awslambdaric, else why not."""
    try:
        done = subprocess.run([python, "-c", PROBE], capture_output=True, text=True, timeout=30, check=False)
    except OSError as error:
        return f"cannot run: {error.strerror}"
    if done.returncode != 0:
        return "cannot import awslambdaric"
    return done.stdout.strip()


def interpreter_for(runtime: str, environ: Mapping[str, str] | None = None) -> str:
    """The interpreter for ``runtime``, or UnsupportedRuntimeError naming the setting to set."""
    version, name = version_of(runtime), setting_name(runtime)
    python = configured(environ).get(runtime, "")
    if not python:
        raise UnsupportedRuntimeError(
            f"Runtime {runtime} needs a CPython {version} on this machine: set {name} to the "
            f"interpreter of a Lambda runtime environment for it (awslambdaric and boto3; "
            f"`make envs` builds one for every Python {version} it finds). See docs/configuration.md."
        )
    found = _probe(python)
    if found != version:
        raise UnsupportedRuntimeError(
            f"Runtime {runtime}: {name}={python} is not a CPython {version} with awslambdaric ({found})."
        )
    return python
