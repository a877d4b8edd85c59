"""One runtime: the real runtime client in a process, and the Runtime API it talks to.

A ``RuntimeProcess`` is what AWS's Runtime Interface Emulator and the runtime are together,
minus the emulator's process: the Lambda Runtime API (``/2018-06-01/runtime/...``) is served
from a thread of the caller (LocalStack's process, or ``make invoke``), and the only process
is ``python -m awslambdaric <handler>``. It enforces the function's Timeout and MemorySize as
Lambda does (kill the runtime, fail the invoke; the next invoke initialises again), measures
memory from /proc, and writes the INIT_START / START / END / REPORT lines. Its confinement
(confinement.py) gives it AWS's CPU share for its MemorySize and freezes it whenever it waits
for the next event, as Lambda freezes an execution environment between invokes.

This class orders an environment's life: spawn, init, invoke, freeze, shutdown.

Standard library only: it runs with LocalStack's interpreter and must add nothing to the
function's own environment.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from lambda_process_executor import bootstrap, procfs, spares, ulimits
from lambda_process_executor.capacity import CapacitySettings
from lambda_process_executor.code_source import DEBUG_TIMEOUT_SECONDS, DebugOptions, code_source
from lambda_process_executor.confinement import Cell, Confinement
from lambda_process_executor.environment import function_environment
from lambda_process_executor.extensions import (
    PREFIX as EXTENSIONS_PREFIX,
)
from lambda_process_executor.extensions import (
    RUNTIME_SHUTDOWN_SECONDS,
    SHUTDOWN_LIMIT_SECONDS,
    Extensions,
    discover,
)
from lambda_process_executor.payloads import error_body, response_limit, too_large, with_aws_paths
from lambda_process_executor.report import report_line

RUNTIME_API_PREFIX = "/2018-06-01/runtime"
NEXT_PATH = f"{RUNTIME_API_PREFIX}/invocation/next"
INIT_ERROR_PATH = f"{RUNTIME_API_PREFIX}/init/error"
INVOCATION_PREFIX = f"{RUNTIME_API_PREFIX}/invocation/"
MEMORY_POLL_SECONDS = 0.05  # the kernel's high-water mark catches peaks between polls
INIT_TIMEOUT_SECONDS = 10.0
PID_FILE = "runtime.pid"
INITIALIZATION_TYPE_ENV = "AWS_LAMBDA_INITIALIZATION_TYPE"


@dataclass(frozen=True)
class RuntimeSpec:
    """Everything the runtimes of one function version share."""

    handler: str
    python: str  # the Lambda runtime environment's interpreter (awslambdaric + boto3)
    task_root: str
    opt_dir: str
    timeout_seconds: float
    memory_mb: int
    runtime: str  # "python3.13"
    env_vars: dict[str, str]  # AWS's variables as LocalStack (or the template) gives them

    @property
    def runtime_version(self) -> str:
        return self.runtime.replace("python", "python:")

    @property
    def provisioned(self) -> bool:
        """A provisioned-concurrency environment's: Init ahead of any invoke, with no burst."""
        return self.env_vars.get(INITIALIZATION_TYPE_ENV) == "provisioned-concurrency"


@dataclass
class Invocation:
    request_id: str
    function_arn: str
    payload: bytes
    trace_id: str = ""
    deadline_ms: int = 0
    done: threading.Event = field(default_factory=threading.Event)
    result: bytes = b""
    is_error: bool = False


@dataclass
class InvokeResult:
    request_id: str
    payload: bytes
    is_error: bool
    logs: str  # up to the response
    # with extensions, the caller has its answer before the Invoke phase ends: this waits for
    # every extension's Next and returns the rest of the log (their output, END and REPORT)
    settle: Callable[[], str] | None = None
    response_ms: float = 0.0  # from the invoke to the runtime's response
    init_log: str = ""  # a cold start's INIT_START line: in CloudWatch Logs, not in the tail


@dataclass
class _Outcome:
    payload: bytes
    is_error: bool
    status: str | None = None  # "timeout" / "error" for the REPORT line, as AWS prints it
    error_type: str | None = None


def _invoke_event(invocation: Invocation) -> dict[str, Any]:
    """The INVOKE event an extension's Next returns."""
    return {
        "eventType": "INVOKE",
        "deadlineMs": invocation.deadline_ms,
        "requestId": invocation.request_id,
        "invokedFunctionArn": invocation.function_arn,
        "tracing": {"type": "X-Amzn-Trace-Id", "value": invocation.trace_id},
    }


class _Spawner:
    """Starts every runtime from one long-lived thread.

    The kernel sends the parent-death signal when the *thread* that forked a child exits, so
    a runtime forked from a short-lived request thread would die with that thread. And
    ``preexec_fn`` is unsafe in a multithreaded process: ``setpriv --pdeathsig KILL`` sets the
    signal after the fork, in the child, instead.
    """

    def __init__(self) -> None:
        self._requests: queue.Queue[tuple[list[str], dict[str, Any], Future[subprocess.Popen[bytes]]]] = (
            queue.Queue()
        )
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def popen(self, argv: list[str], **kwargs: Any) -> subprocess.Popen[bytes]:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._serve, name="lambda-spawner", daemon=True)
                self._thread.start()
        future: Future[subprocess.Popen[bytes]] = Future()
        limits = ulimits.prefix(os.geteuid() == 0)  # AWS's resource limits, for every process of it
        self._requests.put((["setpriv", "--pdeathsig", "KILL", "--", *limits, *argv], kwargs, future))
        return future.result()

    def _serve(self) -> None:
        while True:
            argv, kwargs, future = self._requests.get()
            try:
                future.set_result(subprocess.Popen(argv, **kwargs))
            except Exception as error:  # handed to the caller
                future.set_exception(error)


SPAWNER = _Spawner()


class _RuntimeAPIServer(ThreadingHTTPServer):
    """A killed process's open request (its Next) ends in a reset: expected, not an error."""

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class RuntimeProcess:
    """One execution environment: one runtime process, served and watched from threads."""

    def __init__(
        self, spec: RuntimeSpec, env_dir: Path, runtime_id: str, confinement: Confinement | None = None
    ) -> None:
        self.spec = spec
        self.env_dir = env_dir
        self.runtime_id = runtime_id
        self.confinement = confinement or Confinement(CapacitySettings.defaults())
        self.cell: Cell | None = None
        self.code = code_source(spec.env_vars, Path(spec.task_root), Path(spec.opt_dir))
        self.debug = DebugOptions.of(spec.env_vars)
        self._code_seen = (0, 0)
        self._frozen_lock = threading.Lock()
        self._runtime_waiting = False
        self._stopping = False  # shutting down or killed: nothing may freeze the cell any more
        self._frozen = False
        self.log_path = env_dir / "function.log"
        (env_dir / "tmp").mkdir(parents=True, exist_ok=True)
        self.process: subprocess.Popen[bytes] | None = None
        self.ready = threading.Event()
        self.init_error: bytes | None = None
        self.init_duration_ms: float | None = None
        self.peak_kb = 0
        self.current: Invocation | None = None
        self.invocations: queue.Queue[Invocation] = queue.Queue()
        self._spawned_at = 0.0
        self._server = _RuntimeAPIServer(("127.0.0.1", 0), _runtime_api_handler(self))
        self._server.daemon_threads = True
        threading.Thread(
            target=self._server.serve_forever, name=f"runtime-api-{runtime_id[:8]}", daemon=True
        ).start()
        self.function_env = function_environment(
            spec.env_vars,
            runtime=spec.runtime,
            runtime_python=spec.python,
            task_root=self.code.task_root,
            opt_dir=Path(spec.opt_dir),
            runtime_api=f"127.0.0.1:{self._server.server_address[1]}",
            tmp_dir=env_dir / "tmp",
            extra_layer_paths=self.code.layer_paths,
            after_runtime=[self.debug.debugpy] if self.debug.port and self.debug.debugpy else [],
        )
        self.extensions = Extensions(self.function_env, self._freeze_if_idle)
        spare_fits = (
            self.code.watched and not self.debug.port and not spec.env_vars.get(bootstrap.EXEC_WRAPPER_ENV)
        )
        self.spare = spares.ReloadSpare() if spare_fits else None

    # --- the process -----------------------------------------------------------------
    @property
    def timeout_seconds(self) -> float:
        """The function's Timeout; lifted while a debugger may hold the runtime (as SAM CLI)."""
        return DEBUG_TIMEOUT_SECONDS if self.debug.port else self.spec.timeout_seconds

    @property
    def aws_paths(self) -> dict[str, str]:
        """{this host's folder: the path AWS shows} for the task root and the layers."""
        return {str(self.code.task_root): bootstrap.AWS_TASK_ROOT, self.spec.opt_dir: bootstrap.AWS_OPT}

    def code_changed(self) -> bool:
        """Hot reload: a file of the working tree changed since this runtime started."""
        return bool(self.code.watched) and self.code.fingerprint() != self._code_seen

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    def alive(self) -> bool:
        """The runtime and every extension run (an extension that died resets the environment)."""
        process = self.process
        if process is None or process.poll() is not None or not self.extensions.alive():
            return False
        return not procfs.kill_pending(process.pid)  # killed while frozen: as good as gone

    def _retire_for_reload(self) -> None:
        """The old runtime's Shutdown phase before the new code's Init. On AWS a new version's
        environment starts beside the old one, whose shutdown nobody waits for; here the two
        share this cell, so the shutdown gets the Init phase's CPU, which the next step sets
        anyway (at 256 MB the two interpreters' exits took ~110 ms at the invoke share)."""
        if self.cell is not None:
            self.cell.limit_cpu(self.confinement.init_cores(self.spec.memory_mb))
        self.shut_down("spindown")

    def _spawn(self) -> None:
        self.kill()  # what is left of an earlier life (an extension outliving a crashed runtime)
        with self._frozen_lock:
            self._stopping = False  # a new life: frozen between its invokes again
        # one queue per runtime process: a /next left hanging by a killed runtime holds the
        # old queue and can never take an invocation meant for its successor
        self.invocations = queue.Queue()
        self.ready.clear()
        self.init_error = None
        self.init_duration_ms = None
        self.peak_kb = 0
        self._spawned_at = time.perf_counter()
        if self.cell is None:
            self.cell = self.confinement.cell(self.runtime_id)
        # the Init phase's CPU first (AWS's burst, which provisioned concurrency does not get),
        # the share from the runtime's first /next
        share = self.confinement.invoke_cores if self.spec.provisioned else self.confinement.init_cores
        self.cell.limit_cpu(share(self.spec.memory_mb))
        self.process = None
        if not self._start_extensions():
            return
        if self.code.watched:
            self._code_seen = self.code.fingerprint()
        self.process = (self.spare.take() if self.spare else None) or self._launch(
            bootstrap.command(
                self.function_env,
                self.debug.command(self.spec.python, self.spec.handler),
                self.code.task_root,
                Path(self.spec.opt_dir),
            ),
            stdin=subprocess.DEVNULL,
        )
        procfs.write_pid_file(self.env_dir / PID_FILE, self.process.pid)
        self.cell.adopt(self.process.pid)

    def _launch(self, argv: list[str], stdin: int) -> subprocess.Popen[bytes]:
        """A process of the function's: its environment, the task root, output to its log."""
        with open(self.log_path, "ab", buffering=0) as log:
            return SPAWNER.popen(argv, cwd=str(self.code.task_root), env=self.function_env, stdin=stdin,
                                 stdout=log, stderr=subprocess.STDOUT, start_new_session=True)  # fmt: skip

    def _start_spare(self) -> subprocess.Popen[bytes]:
        folders = [str(folder) for folder in self.code.watched]
        return self._launch(
            [self.spec.python, str(spares.SCRIPT), self.spec.handler, *folders], subprocess.PIPE
        )

    def _start_extensions(self) -> bool:
        """Extension init, before the runtime's: each registers and calls Next; False (and an
        init error) if one does not."""
        self.extensions = Extensions(self.function_env, self._freeze_if_idle)
        paths = discover(Path(self.spec.opt_dir))
        if not paths:
            return True
        self.extensions.start(paths, self._spawn_extension)
        failure = self.extensions.wait_ready(time.monotonic() + INIT_TIMEOUT_SECONDS)
        for line in self.extensions.ready_lines():
            self._log(line)
        if failure:
            self.mark_init_error(
                json.dumps({"errorType": failure.split(":")[0], "errorMessage": failure}).encode()
            )
            return False
        return True

    def _spawn_extension(self, argv: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
        with open(self.log_path, "ab", buffering=0) as log:  # extensions' output: the function's log
            process = SPAWNER.popen(argv, cwd=self.spec.opt_dir, env=env, stdin=subprocess.DEVNULL,
                                    stdout=log, stderr=subprocess.STDOUT, start_new_session=True)  # fmt: skip
        procfs.write_pid_file(self.env_dir / f"extension-{process.pid}.pid", process.pid)
        if self.cell is not None:
            self.cell.adopt(process.pid)
        return process

    def mark_ready(self) -> None:
        if not self.ready.is_set():
            self.init_duration_ms = (time.perf_counter() - self._spawned_at) * 1000
            if self.spare is not None:  # the next reload's runtime, once this Init is over
                self.spare.prepare(self._start_spare)
            if self.cell is not None:
                self.cell.limit_cpu(self.confinement.invoke_cores(self.spec.memory_mb))
            self.ready.set()

    def wait_for_next(self, waiting_on: queue.Queue[Invocation]) -> Invocation | None:
        """The runtime asked for the next event: frozen until there is one, as on AWS, once
        every extension waits too."""
        with self._frozen_lock:
            self._runtime_waiting = True
        self._freeze_if_idle()
        invocation = waiting_on.get()
        with self._frozen_lock:
            self._runtime_waiting = False
            self._thaw()
        return invocation

    def _freeze_if_idle(self) -> None:
        with self._frozen_lock:
            # a debugger's adapter runs in the cell and must answer the IDE between invokes
            idle = self._runtime_waiting and not self._frozen and not self.debug.port and not self._stopping
            if idle and self.extensions.all_in_next():
                if self.cell is not None:
                    self.cell.freeze()
                self._frozen = True

    def _thaw(self) -> None:
        """Under the lock."""
        if self._frozen and self.cell is not None:
            self.cell.thaw()
        self._frozen = False

    def mark_init_error(self, body: bytes) -> None:
        self.init_error = body
        self.mark_ready()

    def _wait_until_initialised(self, timeout: float) -> str | None:
        """Waits for the first /next (or an init error); returns why it failed, if it did."""
        deadline = time.monotonic() + timeout
        while not self.ready.wait(0.01):
            if not self.alive():
                return self._exit_reason()
            if time.monotonic() > deadline:
                self.kill()
                return f"Init timed out after {timeout:.2f} seconds"
        return None

    def _sample_memory(self) -> int:
        """Peak RSS in kB since this runtime started (measured, the kernel's high-water mark)."""
        if self.process is not None:
            _, hwm = procfs.memory_kb(self.process.pid)
            self.peak_kb = max(self.peak_kb, hwm)
        return self.peak_kb

    def rss_kb(self) -> int:
        return procfs.memory_kb(self.process.pid)[0] if self.process is not None and self.alive() else 0

    def _exit_reason(self) -> str:
        code = self.process.poll() if self.process else None
        if code is None:
            return "Runtime exited without providing a reason"
        if code < 0:
            return f"Runtime exited with error: signal: {signal.Signals(-code).name[3:].lower()}"
        return f"Runtime exited with error: exit status {code}"

    def kill(self) -> None:
        """SIGKILL to the runtime and every extension (thawed, so that they act on it)."""
        processes = [m.process for m in self.extensions.members]
        processes += [self.process] if self.process is not None else []
        with self._frozen_lock:  # no Next that is still in flight may freeze the cell again
            self._runtime_waiting = False
            self._stopping = True
            for process in processes:
                if process.returncode is None:  # a reaped PID may belong to someone else now
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(process.pid, signal.SIGKILL)
            if self.cell is not None:
                self.cell.thaw()  # a frozen process acts on SIGKILL only once thawed (cgroup v1)
            self._frozen = False
        for process in processes:
            process.wait()
        self.extensions.release_waiters()
        if self.process is not None:
            self.invocations.put(None)  # type: ignore[arg-type]  # its Next handler returns

    def shut_down(self, reason: str) -> None:
        """The Shutdown phase: SIGTERM to the runtime (300 ms), SHUTDOWN to the extensions,
        2,000 ms in all, then SIGKILL. Without extensions, SIGKILL at once (as AWS does)."""
        if self.extensions.members and self.process is not None:
            deadline = time.monotonic() + SHUTDOWN_LIMIT_SECONDS
            with self._frozen_lock:  # from now on nothing freezes: a late Next must not stop the drain
                self._stopping = True
                self._thaw()
            if self.process.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(RUNTIME_SHUTDOWN_SECONDS)
            self.extensions.shut_down(reason, deadline)
        self.kill()

    def close(self) -> None:
        """Shuts the environment down, removes its cell, stops its Runtime API and its folder."""
        if self.spare is not None:
            self.spare.stop()
        self.shut_down("spindown")
        if self.cell is not None:
            self.cell.release()
            self.cell = None
        self._server.shutdown()
        self._server.server_close()
        shutil.rmtree(self.env_dir, ignore_errors=True)

    # --- logs ------------------------------------------------------------------------
    def _log(self, line: str) -> None:
        with open(self.log_path, "ab", buffering=0) as log:
            log.write(line.encode() + b"\n")

    def _log_offset(self) -> int:
        try:
            return os.path.getsize(self.log_path)
        except FileNotFoundError:
            return 0

    def _read_log(self, offset: int) -> str:
        with open(self.log_path, "rb") as log:
            log.seek(offset)
            return log.read().decode(errors="replace")

    def _init_start_line(self) -> str:
        return (
            f"INIT_START Runtime Version: {self.spec.runtime_version}.local\t"
            f"Runtime Version ARN: arn:aws:lambda:local::runtime:{self.spec.runtime_version}"
        )

    def initialise(self) -> tuple[str | None, str]:
        """The Init phase ahead of any invoke (provisioned concurrency): why it failed, if it
        did, and its log (INIT_START, the function's output). A runtime that is already up
        is left as it is."""
        if self.alive():
            return None, ""
        offset = self._log_offset()
        self._log(self._init_start_line())
        self._spawn()
        failure = self._wait_until_initialised(max(INIT_TIMEOUT_SECONDS, self.timeout_seconds))
        if failure is None and self.init_error is not None:
            failure = json.loads(self.init_error).get("errorMessage", "init error")
        if failure is not None and self.alive():
            self._reset("failure")
        return failure, self._read_log(offset)

    # --- one invoke ------------------------------------------------------------------
    def invoke(self, invocation: Invocation) -> InvokeResult:
        """Runs one invocation, initialising first when there is no live runtime (a cold start)."""
        offset = self._log_offset()
        fresh_init = False
        started = time.perf_counter()
        failure = None
        if self.alive() and self.code_changed():  # hot reload: the next invoke runs the new code
            self._retire_for_reload()
        init_line = ""
        if not self.alive():
            fresh_init = True
            init_line = self._init_start_line()
            self._log(init_line)
            offset = self._log_offset()  # CloudWatch gets INIT_START; the invoke's tail does not (AWS)
            self._spawn()
            failure = self._wait_until_initialised(max(INIT_TIMEOUT_SECONDS, self.timeout_seconds))
            started = time.perf_counter()  # init is not part of Duration, as on AWS
        rid = invocation.request_id
        self._log(f"START RequestId: {rid} Version: {self._version()}")
        if failure:
            outcome = _Outcome(
                error_body("Runtime.ExitError", f"RequestId: {rid} Error: {failure}"),
                True,
                "error",
                "Runtime.ExitError",
            )
        else:
            outcome = self._execute(invocation)
        response_ms = (time.perf_counter() - started) * 1000
        init_ms = self.init_duration_ms if fresh_init else None
        if self.extensions.members and self.alive():  # the Invoke phase goes on after the answer
            deadline = time.monotonic() + max(0.0, invocation.deadline_ms / 1000 - time.time())

            def settle() -> str:
                return self._settle(rid, started, init_ms, outcome, deadline)

            return InvokeResult(
                rid, outcome.payload, outcome.is_error, self._read_log(offset), settle, response_ms, init_line
            )
        self._end(rid, started, init_ms, outcome)
        logs = self._read_log(offset)
        return InvokeResult(rid, outcome.payload, outcome.is_error, logs, None, response_ms, init_line)

    def _settle(
        self, rid: str, started: float, init_ms: float | None, outcome: _Outcome, deadline: float
    ) -> str:
        """After the answer: until every extension has called Next (the function's Timeout bounds
        the whole Invoke phase), then END and REPORT; the log written meanwhile."""
        offset = self._log_offset()
        if not self.extensions.wait_all_in_next(deadline):
            self._timed_out(rid)
            outcome = _Outcome(outcome.payload, outcome.is_error, "timeout")
        self._end(rid, started, init_ms, outcome)
        return self._read_log(offset)

    def _end(self, rid: str, started: float, init_ms: float | None, outcome: _Outcome) -> None:
        duration_ms = (time.perf_counter() - started) * 1000  # runtime and extensions, as AWS counts
        self._log(f"END RequestId: {rid}")
        self._log(
            report_line(
                rid,
                duration_ms,
                self.spec.memory_mb,
                self.peak_kb,
                init_ms,
                outcome.status,
                outcome.error_type,
            )
        )

    def _reset(self, reason: str) -> None:
        """An invoke failed (timeout, memory): the runtime goes at once, the extensions get
        SHUTDOWN with the reason; the next invoke initialises again, as on AWS."""
        if self.process is not None and self.process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
        self.shut_down(reason)

    def _timed_out(self, rid: str) -> None:
        self._reset("timeout")
        message = f"Task timed out after {self.spec.timeout_seconds:.2f} seconds"
        self._log(f"{datetime.now(UTC):%Y-%m-%dT%H:%M:%S.%f}"[:-3] + f"Z {rid} {message}")

    def _execute(self, invocation: Invocation) -> _Outcome:
        rid = invocation.request_id
        if self.init_error is not None:
            error = self.init_error
            self._reset("failure")  # the next invoke initialises again, as on AWS
            error_type = json.loads(error).get("errorType", "Runtime.Unknown")
            return _Outcome(error, True, "error", error_type)
        timeout = self.timeout_seconds
        invocation.deadline_ms = int((time.time() + timeout) * 1000)
        deadline = time.monotonic() + timeout
        limit_kb = self.spec.memory_mb * 1024
        self.current = invocation
        self.extensions.deliver(_invoke_event(invocation))
        self.invocations.put(invocation)
        try:
            while not invocation.done.wait(MEMORY_POLL_SECONDS):
                if self._sample_memory() > limit_kb:
                    self._reset("failure")
                    return self._exited(rid, "Runtime exited with error: signal: killed")
                if not self.alive():
                    reason = self._exit_reason()
                    self._reset("failure")
                    return self._exited(rid, reason)
                if time.monotonic() >= deadline:
                    self._timed_out(rid)
                    message = f"Task timed out after {timeout:.2f} seconds"
                    return _Outcome(
                        error_body("Sandbox.Timedout", f"RequestId: {rid} Error: {message}"),
                        True,
                        "timeout",
                    )
            self._sample_memory()
            oversized = too_large(invocation.result, response_limit(self.spec.env_vars))
            if oversized is not None:  # the environment stays warm, as on AWS
                return _Outcome(oversized, True)
            return _Outcome(invocation.result, invocation.is_error)
        finally:
            self.current = None

    def _exited(self, rid: str, reason: str) -> _Outcome:
        while not self.invocations.empty():  # nobody will take it now
            with contextlib.suppress(queue.Empty):
                self.invocations.get_nowait()
        self._log(f"RequestId: {rid} Error: {reason}")
        return _Outcome(
            error_body("Runtime.ExitError", f"RequestId: {rid} Error: {reason}"),
            True,
            "error",
            "Runtime.ExitError",
        )

    def _version(self) -> str:
        return self.function_env.get("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")


def _runtime_api_handler(runtime: RuntimeProcess) -> type[BaseHTTPRequestHandler]:
    """The Lambda Runtime API of one runtime, as AWS's emulator serves it, and its Extensions API.

    Long because it is one HTTP handler class: the API's routes read best side by side."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # small request/response pairs: no 40 ms delayed-ACK stalls

        def log_message(self, *args: object) -> None:  # keep the function's log clean
            pass

        def _reply(self, status: int, body: bytes = b"{}", headers: dict[str, str] | None = None) -> None:
            self.send_response(status)
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            if "Content-Type" not in (headers or {}):
                self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _extensions(self, body: bytes = b"") -> None:
            status, answer, headers = runtime.extensions.handle(self.command, self.path, self.headers, body)
            self._reply(status, answer, headers)

        def do_GET(self) -> None:
            if self.path.startswith(EXTENSIONS_PREFIX):
                self._extensions()
                return
            if self.path != NEXT_PATH:
                self._reply(HTTPStatus.NOT_FOUND, b'{"errorMessage": "not found"}')
                return
            waiting_on = runtime.invocations
            runtime.mark_ready()
            invocation = runtime.wait_for_next(waiting_on)
            if invocation is None:  # the runtime was killed: nobody reads this answer
                return
            self._reply(
                HTTPStatus.OK,
                invocation.payload,
                {
                    "Content-Type": "application/json",
                    "Lambda-Runtime-Aws-Request-Id": invocation.request_id,
                    "Lambda-Runtime-Deadline-Ms": str(invocation.deadline_ms),
                    "Lambda-Runtime-Invoked-Function-Arn": invocation.function_arn,
                    "Lambda-Runtime-Trace-Id": invocation.trace_id,
                },
            )

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            if self.path.startswith(EXTENSIONS_PREFIX):
                self._extensions(body)
                return
            if self.path == INIT_ERROR_PATH:
                runtime.mark_init_error(with_aws_paths(body, runtime.aws_paths))
                self._reply(HTTPStatus.ACCEPTED)
                return
            if not self.path.startswith(INVOCATION_PREFIX):
                self._reply(HTTPStatus.NOT_FOUND, b'{"errorMessage": "not found"}')
                return
            request_id, _, kind = self.path[len(INVOCATION_PREFIX) :].partition("/")
            current = runtime.current
            if current is None or current.request_id != request_id or kind not in ("response", "error"):
                self._reply(HTTPStatus.BAD_REQUEST, b'{"errorMessage": "unknown invocation"}')
                return
            if kind == "error":
                body = with_aws_paths(body, runtime.aws_paths)
            current.result, current.is_error = body, kind == "error"
            current.done.set()
            self._reply(HTTPStatus.ACCEPTED)

    return Handler
