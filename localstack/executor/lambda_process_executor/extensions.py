"""The Lambda Extensions API of one execution environment, as AWS documents it (2020-01-01).

External extensions are the executables in ``/opt/extensions`` of the merged layers. They
start before the runtime (their init is part of Init Duration), ``Register`` for INVOKE
and/or SHUTDOWN, and loop on ``Next``. The caller gets a response as soon as the runtime
posts it; the environment is frozen only once the runtime and every extension wait in Next.
At shutdown each extension gets a SHUTDOWN event and the phase has 2,000 ms in all, then
SIGKILL. Served from the Runtime API's own server (``AWS_LAMBDA_RUNTIME_API``); RuntimeProcess
orders the phases, this module keeps the extensions' state.

Standard library only.
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from pathlib import Path
from typing import Any

PREFIX = "/2020-01-01/extension"
REGISTER_PATH = f"{PREFIX}/register"
NEXT_PATH = f"{PREFIX}/event/next"
ERROR_PATHS = (f"{PREFIX}/init/error", f"{PREFIX}/exit/error")
REGISTER_WAIT_SECONDS = 2.0
SHUTDOWN_LIMIT_SECONDS = 2.0  # the whole Shutdown phase with external extensions
RUNTIME_SHUTDOWN_SECONDS = 0.3  # of which the runtime gets this much after its SIGTERM
EVENTS = ("INVOKE", "SHUTDOWN")
# the runtime's own variables, which AWS does not give extensions
RUNTIME_ONLY_VARIABLES = {
    "AWS_EXECUTION_ENV",
    "AWS_LAMBDA_LOG_GROUP_NAME",
    "AWS_LAMBDA_LOG_STREAM_NAME",
    "AWS_XRAY_CONTEXT_MISSING",
    "AWS_XRAY_DAEMON_ADDRESS",
    "LAMBDA_RUNTIME_DIR",
    "LAMBDA_TASK_ROOT",
    "_AWS_XRAY_DAEMON_ADDRESS",
    "_AWS_XRAY_DAEMON_PORT",
    "_HANDLER",
    "PYTHONPATH",
}

Reply = tuple[int, bytes, dict[str, str]]


def discover(opt_dir: Path) -> list[Path]:
    """The files in ``/opt/extensions``, in name order (at most 10, as on AWS), each made
    executable: Lambda "interprets each file as an executable bootstrap", and an unzip here
    may not keep the mode."""
    folder = opt_dir / "extensions"
    if not folder.is_dir():
        return []
    found = [path for path in sorted(folder.iterdir()) if path.is_file()][:10]
    for path in found:
        if not os.access(path, os.X_OK):
            path.chmod(path.stat().st_mode | 0o755)
    return found


def extension_environment(function_env: dict[str, str]) -> dict[str, str]:
    return {key: value for key, value in function_env.items() if key not in RUNTIME_ONLY_VARIABLES}


@dataclass(eq=False)
class Extension:
    path: Path
    process: subprocess.Popen[bytes]
    identifier: str = ""
    events: tuple[str, ...] = ()
    inbox: queue.Queue[dict[str, Any]] = field(default_factory=queue.Queue)
    in_next: bool = False  # blocked in Next: done with the current event
    started_next: bool = False  # called Next at least once: its init is over
    failed: str = ""

    @property
    def name(self) -> str:
        return self.path.name


class Extensions:
    """The extensions of one runtime process's life (a new set on every cold start)."""

    def __init__(self, function_env: dict[str, str], on_idle: Callable[[], None]) -> None:
        self.function_env = function_env
        self.on_idle = on_idle  # called whenever an extension starts waiting in Next
        self.members: list[Extension] = []
        self.expected: set[str] = set()
        self.changed = threading.Condition()

    # --- lifecycle, driven by RuntimeProcess ---------------------------------------------
    def start(
        self, paths: list[Path], spawn: Callable[[list[str], dict[str, str]], subprocess.Popen[bytes]]
    ) -> None:
        env = extension_environment(self.function_env)
        with self.changed:
            self.expected = {path.name for path in paths}
        for path in paths:  # one by one: an extension may register before the next one starts
            member = Extension(path, spawn([str(path)], env))
            with self.changed:
                self.members.append(member)
                self.changed.notify_all()

    def release_waiters(self) -> None:
        """Ends every blocked Next of extensions that were killed (their threads return)."""
        for member in self.members:
            member.inbox.put(None)  # type: ignore[arg-type]

    def alive(self) -> bool:
        return all(member.process.poll() is None for member in self.members)

    def wait_ready(self, deadline: float) -> str | None:
        """Until every extension has registered and called Next; why not, if it failed."""
        with self.changed:
            while not all(member.started_next for member in self.members):
                for member in self.members:
                    if member.failed:
                        return f"Extension.InitError: {member.name}: {member.failed}"
                    if member.process.poll() is not None:
                        return f"Extension.Crash: {member.name} exited with {member.process.returncode}"
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    unready = [m.name for m in self.members if not m.started_next]
                    return f"Extension.InitError: {', '.join(unready)} did not register and call Next in time"
                self.changed.wait(min(remaining, 0.05))
        return None

    def ready_lines(self) -> list[str]:
        return [
            f"EXTENSION\tName: {m.name}\tState: Ready\tEvents: [{','.join(m.events)}]" for m in self.members
        ]

    def all_in_next(self) -> bool:
        return all(member.in_next for member in self.members)

    def deliver(self, event: dict[str, Any]) -> None:
        """An event to every extension registered for its type."""
        with self.changed:
            for member in self.members:
                if event["eventType"] in member.events:
                    member.in_next = False
                    member.inbox.put(event)

    def wait_all_in_next(self, deadline: float) -> bool:
        with self.changed:
            while not self.all_in_next():
                remaining = deadline - time.monotonic()
                if remaining <= 0 or not self.alive():
                    return self.all_in_next()
                self.changed.wait(min(remaining, 0.05))
        return True

    def shut_down(self, reason: str, deadline: float) -> None:
        """SHUTDOWN to the extensions that asked for it; waits for them to exit (or to call
        Next again) until ``deadline``, then the caller kills what is left."""
        self.deliver(
            {"eventType": "SHUTDOWN", "shutdownReason": reason, "deadlineMs": int(deadline_ms(deadline))}
        )
        with self.changed:
            while any(m.process.poll() is None and not m.in_next for m in self.members):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return
                self.changed.wait(min(remaining, 0.02))

    # --- the API --------------------------------------------------------------------------
    def _member(self, identifier: str | None) -> Extension | None:
        return next((m for m in self.members if identifier and m.identifier == identifier), None)

    def register(self, name: str | None, body: bytes, accept: str | None) -> Reply:
        with self.changed:  # its Popen may not have returned yet
            self.changed.wait_for(
                lambda: name not in self.expected or any(m.name == name for m in self.members),
                timeout=REGISTER_WAIT_SECONDS,
            )
            member = next((m for m in self.members if m.name == name and not m.identifier), None)
        if member is None:
            return _error(
                HTTPStatus.FORBIDDEN, "Extension.UnknownExtension", f"not an extension here: {name!r}"
            )
        try:
            events = tuple(json.loads(body or b"{}").get("events", []))
        except (ValueError, AttributeError):
            return _error(HTTPStatus.BAD_REQUEST, "InvalidRequestFormat", "the body must be JSON")
        if any(event not in EVENTS for event in events):
            return _error(HTTPStatus.BAD_REQUEST, "InvalidEventType", f"events must be among {EVENTS}")
        with self.changed:
            member.identifier, member.events = str(uuid.uuid4()), events
            self.changed.notify_all()
        env = self.function_env
        answer = {
            "functionName": env.get("AWS_LAMBDA_FUNCTION_NAME", ""),
            "functionVersion": env.get("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST"),
            "handler": env.get("_HANDLER", ""),
        }
        if accept == "accountId":
            answer["accountId"] = env.get("LOCALSTACK_FUNCTION_ACCOUNT_ID", "000000000000")
        return HTTPStatus.OK, json.dumps(answer).encode(), {"Lambda-Extension-Identifier": member.identifier}

    def next_event(self, identifier: str | None) -> Reply:
        """Blocks until the extension's next event (the environment may freeze meanwhile)."""
        member = self._member(identifier)
        if member is None:
            return _error(HTTPStatus.FORBIDDEN, "Extension.InvalidExtensionIdentifier", "unknown identifier")
        with self.changed:  # done with its events only if none waits (a SHUTDOWN may)
            member.in_next = member.inbox.empty()
            member.started_next = True
            self.changed.notify_all()
        self.on_idle()
        event = member.inbox.get()
        if event is None:  # the environment is gone: nobody reads this answer
            return _error(HTTPStatus.INTERNAL_SERVER_ERROR, "Extension.Stopped", "the environment stopped")
        headers = {"Lambda-Extension-Identifier": member.identifier,
                   "Lambda-Extension-Event-Identifier": str(uuid.uuid4())}  # fmt: skip
        return HTTPStatus.OK, json.dumps(event).encode(), headers

    def report_error(self, identifier: str | None, error_type: str | None, path: str) -> Reply:
        member = self._member(identifier)
        if member is None:
            return _error(HTTPStatus.FORBIDDEN, "Extension.InvalidExtensionIdentifier", "unknown identifier")
        with self.changed:
            member.failed = f"{path.rsplit('/', 2)[-2]} error {error_type or 'unknown'}"
            self.changed.notify_all()
        return HTTPStatus.ACCEPTED, b'{"status": "OK"}', {}

    def handle(self, method: str, path: str, headers: Any, body: bytes) -> Reply:
        identifier = headers.get("Lambda-Extension-Identifier")
        if method == "POST" and path == REGISTER_PATH:
            return self.register(
                headers.get("Lambda-Extension-Name"), body, headers.get("Lambda-Extension-Accept-Feature")
            )
        if method == "GET" and path == NEXT_PATH:
            return self.next_event(identifier)
        if method == "POST" and path in ERROR_PATHS:
            return self.report_error(identifier, headers.get("Lambda-Extension-Function-Error-Type"), path)
        return _error(HTTPStatus.NOT_FOUND, "NotFound", f"{method} {path}")


def deadline_ms(deadline: float) -> float:
    """A monotonic deadline as epoch milliseconds, as events carry it."""
    return (time.time() + (deadline - time.monotonic())) * 1000


def _error(status: int, error_type: str, message: str) -> Reply:
    return status, json.dumps({"errorType": error_type, "errorMessage": message}).encode(), {}
