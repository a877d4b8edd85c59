"""Where a runtime's code comes from, and how it is launched: the deployed package, or the
working tree (hot reload); plainly, or under a debugger.

Both are switched per function by variables the executor reads and the function never sees
(`make watch` and `make debug` set them): ``LOCAL_LAMBDA_CODE_ROOT`` (the project's working
tree: the function's own folder under ``functions/`` and the code layers under
``layers/*/python`` come before the deployed package; a change to any of their files makes the
next invoke a cold start) and ``LOCAL_LAMBDA_DEBUG_PORT`` (debugpy listens there,
``LOCAL_LAMBDA_DEBUG_WAIT`` waits for the IDE; the Timeout is lifted and the function gets one
environment, as SAM CLI does). Standard library only.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

CODE_ROOT_ENV = "LOCAL_LAMBDA_CODE_ROOT"
DEBUG_PORT_ENV = "LOCAL_LAMBDA_DEBUG_PORT"
DEBUG_WAIT_ENV = "LOCAL_LAMBDA_DEBUG_WAIT"
DEBUGPY_ENV = "LOCAL_LAMBDA_DEBUGPY"  # where debugpy is installed (a folder for PYTHONPATH)
VARIABLES = {CODE_ROOT_ENV, DEBUG_PORT_ENV, DEBUG_WAIT_ENV}
DEBUG_TIMEOUT_SECONDS = 36_000.0  # SAM CLI's while a debugger may be attached


@dataclass(frozen=True)
class CodeSource:
    task_root: Path
    layer_paths: tuple[Path, ...] = ()  # on sys.path after the task root, before /opt
    watched: tuple[Path, ...] = ()  # folders whose change means new code

    def fingerprint(self) -> tuple[int, int]:
        """(files, newest change) of the watched folders: a save changes it."""
        count, newest = 0, 0
        for folder in self.watched:
            for directory, subdirs, files in os.walk(folder):
                subdirs[:] = [d for d in subdirs if d != "__pycache__" and not d.startswith(".")]
                for name in files:
                    if not name.endswith(".py") or name.startswith("."):  # an editor's lock files
                        continue
                    try:  # a file saved by rename may be gone between the walk and the stat
                        changed = os.lstat(os.path.join(directory, name)).st_mtime_ns
                    except FileNotFoundError:
                        continue
                    count += 1
                    newest = max(newest, changed)
        return count, newest


def _top_level(folder: Path) -> set[str]:
    return {p.name for p in folder.iterdir() if not p.name.startswith((".", "__pycache__"))}


def working_tree(root: Path, package: Path, opt_dir: Path) -> CodeSource:
    """The working tree's twin of a deployed function: the folder under ``functions/`` with the
    package's top-level modules, and each ``layers/*/python`` whose packages the merged layers
    hold too."""
    names = {n.removesuffix(".py") for n in _top_level(package) if not n.endswith(".pyc")}
    candidates = [f for f in sorted((root / "functions").iterdir()) if f.is_dir()]
    folder = next((f for f in candidates if {n.removesuffix(".py") for n in _top_level(f)} >= names), None)
    if folder is None:
        raise LookupError(f"no folder under {root / 'functions'} holds {sorted(names)}")
    deployed = _top_level(opt_dir / "python") if (opt_dir / "python").is_dir() else set()
    layers = tuple(
        python
        for python in sorted((root / "layers").glob("*/python"))
        if _top_level(python) & deployed - {"lib"}
    )
    return CodeSource(folder, layers, (folder, *layers))


def code_source(env_vars: Mapping[str, str], package: Path, opt_dir: Path) -> CodeSource:
    root = env_vars.get(CODE_ROOT_ENV, "")
    if not root:
        return CodeSource(package)
    return working_tree(Path(root), package, opt_dir)


@dataclass(frozen=True)
class DebugOptions:
    port: int = 0  # 0: no debugger
    wait: bool = False
    debugpy: str = ""

    @classmethod
    def of(cls, env_vars: Mapping[str, str]) -> DebugOptions:
        port = env_vars.get(DEBUG_PORT_ENV, "")
        if not port:
            return cls()
        if not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError(f"{DEBUG_PORT_ENV}={port!r} is not a TCP port")
        wait = env_vars.get(DEBUG_WAIT_ENV, "").lower() in ("1", "true", "yes")
        return cls(int(port), wait, os.environ.get(DEBUGPY_ENV, ""))

    def command(self, python: str, handler: str) -> list[str]:
        """The runtime's command line: the runtime client, under debugpy when debugging."""
        if not self.port:
            return [python, "-m", "awslambdaric", handler]
        wait = ["--wait-for-client"] if self.wait else []
        listen = ["--listen", f"127.0.0.1:{self.port}"]
        return [python, "-m", "debugpy", *listen, *wait, "-m", "awslambdaric", handler]
