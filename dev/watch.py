"""`make watch`: the developer's loop. Deploys with hot reload (HOT_RELOAD=1: the executor serves
every function's code and the common layer from this working tree), then watches the tree: a
saved .py file reaches the next invoke without a deploy (that invoke is a cold start); a change
to template.yaml or to the dependencies is said plainly to need `make deploy-local`. Ctrl-C stops
watching; the stack keeps serving the working tree until the next plain deploy.

The reload itself is the executor's (a check of the files' modification times per invoke:
nothing to miss, no process to keep); this loop only tells what changed.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from lambda_process_executor.code_source import CodeSource
from localcloud.settings import PROJECT_ROOT

CODE = [PROJECT_ROOT / "functions", PROJECT_ROOT / "layers" / "common" / "python"]
NEEDS_DEPLOY = [
    PROJECT_ROOT / "template.yaml",
    PROJECT_ROOT / "layers" / "dependencies" / "requirements.txt",
    PROJECT_ROOT / "layers" / "sentry-relay" / "extensions" / "sentry-relay",
]
POLL_SECONDS = 0.5


def _stamps(paths: list[Path]) -> dict[Path, int]:
    return {path: path.stat().st_mtime_ns for path in paths if path.exists()}


def watch(log=print, rounds: int | None = None) -> None:
    """Tells each change until interrupted (or for ``rounds`` polls)."""
    code, deploy_inputs = CodeSource(PROJECT_ROOT, watched=tuple(CODE)), _stamps(NEEDS_DEPLOY)
    seen = code.fingerprint()
    while rounds is None or rounds > 0:
        time.sleep(POLL_SECONDS)
        rounds = None if rounds is None else rounds - 1
        now = code.fingerprint()
        if now != seen:
            log(f"{time.strftime('%H:%M:%S')} code changed: each function's next invoke runs it (cold)")
            seen = now
        changed = [p for p, stamp in _stamps(NEEDS_DEPLOY).items() if deploy_inputs.get(p) != stamp]
        for path in changed:
            log(
                f"{time.strftime('%X')} {path.relative_to(PROJECT_ROOT)} changed: needs make deploy-local "
                "(hot reload serves code, not the template, the dependencies or the extension)"
            )
        deploy_inputs = _stamps(NEEDS_DEPLOY)


def main() -> int:
    from deploy.local import main as deploy_main

    os.environ["HOT_RELOAD"] = "1"
    status = deploy_main(["deploy"])
    if status:
        return status
    print("make watch: functions run the working tree; save a file and invoke again (Ctrl-C stops watching)")
    try:
        watch()
    except KeyboardInterrupt:
        print("\nmake watch: stopped; the stack serves the working tree until a plain make deploy-local")
    return 0


if __name__ == "__main__":
    sys.exit(main())
