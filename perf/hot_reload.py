"""How fast a save reaches an invoke (hot reload), measured for `make bench`.

A copy of the working tree's code (functions/ and the code layers) plays the tree; a runtime of
a template function serves it, as `make watch` has the executor do. Each round appends a line
that prints a new mark to the function's app.py, then invokes until an invoke's log shows the
mark: the time from the write to that answer (the caller's, before the extensions end the
Invoke phase) is one sample.
"""

from __future__ import annotations

import json
import shutil
import time
import uuid
from pathlib import Path
from typing import Any

from dev.events import EVENTS, api_gateway_event
from dev.invoke import WORK_DIR, function_runtime
from lambda_process_executor import confinement
from lambda_process_executor.code_source import CODE_ROOT_ENV
from lambda_process_executor.runtime import Invocation
from localcloud.settings import PROJECT_ROOT, Settings

TREE = WORK_DIR / "hot-reload-tree"
FUNCTION, SERVICE, EVENT = "UserServiceFunction", "user_service", "balance.json"


def copy_tree() -> Path:
    shutil.rmtree(TREE, ignore_errors=True)
    ignore = shutil.ignore_patterns("__pycache__", ".chalice")
    shutil.copytree(PROJECT_ROOT / "functions", TREE / "functions", ignore=ignore)
    shutil.copytree(PROJECT_ROOT / "layers" / "common", TREE / "layers" / "common", ignore=ignore)
    return TREE


def measure(settings: Settings, rounds: int = 5) -> dict[str, Any]:
    """Milliseconds from a save to the first answer of the new code, per round."""
    tree = copy_tree()
    app = tree / "functions" / SERVICE / "app.py"
    spec = next(e for e in EVENTS if e.file == EVENT)
    event = json.dumps(api_gateway_event(spec)).encode()
    owner = confinement.for_owner(settings.capacity, WORK_DIR)
    runtime, arn = function_runtime(FUNCTION, settings, owner, log=lambda _: None,
                                    executor_env={CODE_ROOT_ENV: str(tree)})  # fmt: skip
    samples: list[float] = []
    invokes: list[int] = []

    def call() -> tuple[str, float]:
        """The invoke's log up to its answer (a new mark is printed at import, in Init) and when
        the answer came. The extensions' end of the Invoke phase comes after the answer, so it
        is waited for but not counted."""
        result = runtime.invoke(Invocation(str(uuid.uuid4()), arn, event))
        answered = time.perf_counter()
        if result.settle:
            result.settle()
        return result.logs, answered

    try:
        call()  # the first cold start: not a reload
        for number in range(rounds):
            mark = f"hot-reload-mark-{number}-{uuid.uuid4().hex[:6]}"
            with open(app, "a") as source:
                source.write(f'\nprint("{mark}")\n')
            saved, tries = time.perf_counter(), 0
            while True:
                tries += 1
                logs, answered = call()
                if mark in logs:
                    break
            samples.append((answered - saved) * 1000)
            invokes.append(tries)
            call()  # warm again: no change, no reload
    finally:
        runtime.close()
        owner.close()
        shutil.rmtree(tree, ignore_errors=True)
    return {"function": FUNCTION, "save_to_answer_ms": samples, "invokes_needed": invokes}
