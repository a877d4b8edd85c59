"""``python reload_spare.py HANDLER WATCHED_FOLDER...``: the runtime that serves the next hot reload.

Started ahead (by the executor, with the function's environment, beside the runtime it will
replace), it imports what the function's code imports from outside the watched folders: its
dependencies (the SDK and its integrations, the driver, the framework), the part of a cold
start that a save does not change. Then it waits on stdin. At the reload the executor writes
``go``: it runs the runtime client, whose Init imports the saved code only. Standard library
only; run as a file by the runtime's interpreter, so it must not leave its own folder on
sys.path (``python -m awslambdaric`` has the working directory there, and so does this).
"""

from __future__ import annotations

import ast
import contextlib
import importlib
import os
import sys
from pathlib import Path


def local_names(folders: list[Path]) -> set[str]:
    """Top-level module names the watched folders define (never imported ahead)."""
    names = set()
    for folder in folders:
        for entry in folder.iterdir() if folder.is_dir() else []:
            names.add(entry.name.removesuffix(".py"))
    return names


def imports_of(folders: list[Path]) -> set[str]:
    """Every absolute module name an ``import`` of the folders' code names, at any depth."""
    found: set[str] = set()
    for folder in folders:
        for path in folder.rglob("*.py"):
            try:
                tree = ast.parse(path.read_bytes())
            except (SyntaxError, ValueError, OSError):  # a file mid-edit: it is not imported ahead
                continue
            for node in ast.walk(tree):
                if isinstance(node, ast.Import):
                    found.update(alias.name for alias in node.names)
                elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                    found.add(node.module)
    return found


def import_ahead(folders: list[Path]) -> None:
    local = local_names(folders)
    for name in sorted(imports_of(folders)):
        if name.split(".")[0] in local:
            continue
        with contextlib.suppress(Exception):  # the function's own Init will say what is wrong
            importlib.import_module(name)
    for name in [m for m in sys.modules if m.split(".")[0] in local]:  # a dependency pulled one in
        del sys.modules[name]


def main(argv: list[str]) -> int:
    handler, folders = argv[1], [Path(folder) for folder in argv[2:]]
    sys.path[0] = os.getcwd()  # the task root, as under `python -m`; not this file's folder
    import awslambdaric.__main__ as runtime_client

    import_ahead(folders)
    if sys.stdin.readline().strip() != "go":
        return 0  # not needed: the executor closed it
    runtime_client.main(["awslambdaric", handler])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
