"""The code stays small-functioned: a function over 60 lines says why in its docstring."""

from __future__ import annotations

import ast
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]
ROOTS = [
    "deploy",
    "dev",
    "demo",
    "perf",
    "localstack/localcloud",
    "localstack/executor",
    "layers/common",
    "functions",
]
MAX_LINES = 60


def test_long_functions_say_why():
    long = []
    for root in ROOTS:
        for path in sorted((PROJECT / root).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                    lines = node.end_lineno - node.lineno + 1
                    if lines > MAX_LINES and "Long because" not in (ast.get_docstring(node) or ""):
                        long.append(f"{path.relative_to(PROJECT)}:{node.lineno} {node.name} ({lines} lines)")
    assert long == [], "functions over 60 lines without a reason:\n" + "\n".join(long)
