"""The per-environment init process: what AWS's Runtime Interface Emulator does, on the host.

LocalStack's executor starts one of these per execution environment. It serves two sides on
one loopback port:

* LocalStack -> init: ``POST /invoke`` (the protocol of LocalStack's own init binary);
* runtime -> init: the Lambda Runtime API (``/2018-06-01/runtime/...``) used by the real
  runtime client, ``python -m awslambdaric <handler>``, which runs as a child process.

It enforces the function's Timeout and MemorySize the way Lambda does (kill the runtime,
fail the invoke, re-initialise on the next one), measures memory from ``/proc``, and writes
the START / END / REPORT lines. Standard library only: it runs with LocalStack's interpreter
and must not add anything to the function's own environment.
"""

from __future__ import annotations

import contextlib
import ctypes
import http.client
import json
import math
import os
import queue
import signal
import subprocess
import sys
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

RUNTIME_API_PREFIX = "/2018-06-01/runtime"
MEMORY_POLL_SECONDS = 0.05  # the kernel's high-water mark catches peaks between polls
PARENT_POLL_SECONDS = 0.5
INIT_TIMEOUT_SECONDS = 10.0


@dataclass
class InitConfig:
    """Everything the executor decides for one environment, passed as a JSON file."""

    runtime_id: str
    runtime_endpoint: str
    port: int
    handler: str
    python: str
    task_root: str
    opt_dir: str
    log_path: str
    timeout_seconds: float
    memory_mb: int
    function_env: dict[str, str]
    runtime_version: str = "python:3.13"

    @classmethod
    def load(cls, path: str) -> InitConfig:
        return cls(**json.loads(Path(path).read_text()))


@dataclass
class Invocation:
    request_id: str
    function_arn: str
    payload: bytes
    trace_id: str
    deadline_ms: int = 0
    done: threading.Event = field(default_factory=threading.Event)
    result: bytes = b""
    is_error: bool = False


@dataclass
class Outcome:
    """How one invoke ended, from the init's point of view."""

    payload: bytes
    is_error: bool
    status: str | None = None  # "timeout" / "error" for the REPORT line, as AWS prints it
    error_type: str | None = None


def _error_body(request_id: str, error_type: str, message: str) -> bytes:
    body = {"errorType": error_type, "errorMessage": message, "requestId": request_id, "stackTrace": []}
    return json.dumps(body).encode()


def _set_parent_death_signal() -> None:
    """Runs in the runtime child before exec: die with the init, whatever kills it."""
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    pr_set_pdeathsig = 1
    libc.prctl(pr_set_pdeathsig, signal.SIGKILL)


def write_pid_file(path: Path, pid: int) -> None:
    """``<pid> <start time>``: lets ``make down`` stop exactly this process, never a reused PID."""
    try:
        start_time = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]
    except (FileNotFoundError, IndexError):
        return
    path.write_text(f"{pid} {start_time}\n")


def read_memory_kb(pid: int) -> tuple[int, int]:
    """(current RSS, peak RSS) of a process in kB, from /proc; (0, 0) once it is gone."""
    rss = hwm = 0
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    rss = int(line.split()[1])
                elif line.startswith("VmHWM:"):
                    hwm = int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError, ValueError):
        pass
    return rss, hwm


class Runtime:
    """One runtime process (``python -m awslambdaric``) and what it reported so far."""

    def __init__(self, config: InitConfig) -> None:
        self.config = config
        self.process: subprocess.Popen | None = None
        self.ready = threading.Event()
        self.init_error: bytes | None = None
        self.init_duration_ms: float | None = None
        self.peak_kb = 0
        self._started = 0.0
        # one queue per runtime process: a /next request left hanging by a killed runtime
        # holds the old queue and can never take an invocation meant for its successor
        self.invocations: queue.Queue[Invocation] = queue.Queue()

    def spawn(self) -> None:
        self.invocations = queue.Queue()
        self.ready.clear()
        self.init_error = None
        self.init_duration_ms = None
        self.peak_kb = 0
        self._started = time.perf_counter()
        log = open(self.config.log_path, "ab", buffering=0)  # noqa: SIM115 - handed to the child
        try:
            self.process = subprocess.Popen(
                [self.config.python, "-m", "awslambdaric", self.config.handler],
                cwd=self.config.task_root,
                env=self.config.function_env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=_set_parent_death_signal,
            )
        finally:
            log.close()
        write_pid_file(Path(self.config.log_path).with_name("runtime.pid"), self.process.pid)

    def mark_ready(self) -> None:
        if not self.ready.is_set():
            self.init_duration_ms = (time.perf_counter() - self._started) * 1000
            self.ready.set()

    def mark_init_error(self, body: bytes) -> None:
        self.init_error = body
        self.mark_ready()

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def wait_until_initialised(self, timeout: float) -> str | None:
        """Waits for the first /next (or an init error); returns why it failed, if it did."""
        deadline = time.monotonic() + timeout
        while not self.ready.wait(0.01):
            if not self.alive():
                return self.exit_reason()
            if time.monotonic() > deadline:
                self.kill()
                return f"Init timed out after {timeout:.2f} seconds"
        return None

    def sample_memory(self) -> int:
        """Peak RSS in kB since this runtime started (measured, the kernel's high-water mark)."""
        if self.process is not None:
            _, hwm = read_memory_kb(self.process.pid)
            self.peak_kb = max(self.peak_kb, hwm)
        return self.peak_kb

    def exit_reason(self) -> str:
        code = self.process.poll() if self.process else None
        if code is None:
            return "Runtime exited without providing a reason"
        if code < 0:
            return f"Runtime exited with error: signal: {signal.Signals(-code).name[3:].lower()}"
        return f"Runtime exited with error: exit status {code}"

    def kill(self) -> None:
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()


class RuntimeInit:
    """Serves LocalStack and the runtime, and runs invokes one at a time, like a sandbox."""

    def __init__(self, config: InitConfig) -> None:
        self.config = config
        self.runtime = Runtime(config)
        self.invokes: queue.Queue[Invocation] = queue.Queue()
        self.current: Invocation | None = None
        self.fresh_init = False  # the next REPORT carries Init Duration
        self.init_log_offset = 0  # where the output of the latest init starts
        self.invoke_started = 0.0
        self._connection: http.client.HTTPConnection | None = None

    # --- talking to LocalStack -------------------------------------------------------
    def _post(self, path: str, body: bytes, content_type: str = "application/json") -> None:
        """POST on one kept-alive connection (only the invoke thread posts); reconnect once."""
        endpoint = urllib.parse.urlsplit(self.config.runtime_endpoint)
        for attempt in (1, 2):
            if self._connection is None:
                self._connection = http.client.HTTPConnection(endpoint.hostname, endpoint.port, timeout=30)
            try:
                self._connection.request(
                    "POST", f"{endpoint.path}{path}", body=body, headers={"Content-Type": content_type}
                )
                self._connection.getresponse().read()
                return
            except (OSError, http.client.HTTPException):
                self._connection.close()
                self._connection = None
                if attempt == 2:
                    raise

    # --- logs ------------------------------------------------------------------------
    def _log(self, line: str) -> None:
        with open(self.config.log_path, "ab", buffering=0) as log:
            log.write(line.encode() + b"\n")

    def _log_offset(self) -> int:
        try:
            return os.path.getsize(self.config.log_path)
        except FileNotFoundError:
            return 0

    def _read_log(self, offset: int) -> str:
        with open(self.config.log_path, "rb") as log:
            log.seek(offset)
            return log.read().decode(errors="replace")

    # --- lifecycle -------------------------------------------------------------------
    def start_runtime(self) -> str | None:
        self._log(
            f"INIT_START Runtime Version: {self.config.runtime_version}.local\t"
            f"Runtime Version ARN: arn:aws:lambda:local::runtime:{self.config.runtime_version}"
        )
        self.runtime.spawn()
        self.fresh_init = True
        return self.runtime.wait_until_initialised(max(INIT_TIMEOUT_SECONDS, self.config.timeout_seconds))

    def report_ready(self) -> None:
        self._post(f"/status/{self.config.runtime_id}/ready", b"{}")

    def run_invocation(self, invocation: Invocation) -> None:
        offset = self._log_offset() if not self.fresh_init else self.init_log_offset
        self.invoke_started = time.perf_counter()
        outcome = self._execute(invocation)
        duration_ms = (time.perf_counter() - self.invoke_started) * 1000  # init excluded, as on AWS
        self._log(f"END RequestId: {invocation.request_id}")
        self._log(self._report_line(invocation.request_id, duration_ms, outcome))
        self.fresh_init = False
        logs = self._read_log(offset)
        self._post(f"/invocations/{invocation.request_id}/logs", json.dumps({"logs": logs}).encode())
        kind = "error" if outcome.is_error else "response"
        self._post(f"/invocations/{invocation.request_id}/{kind}", outcome.payload)
        self.init_log_offset = self._log_offset()

    def _execute(self, invocation: Invocation) -> Outcome:
        rid = invocation.request_id
        if not self.runtime.alive() and self.runtime.init_error is None:
            # killed by a timeout or the memory limit: this invoke is a cold start
            self.init_log_offset = self._log_offset()
            failure = self.start_runtime()
            self.invoke_started = time.perf_counter()
            if failure:
                self._log(f"START RequestId: {rid} Version: {self._version()}")
                return Outcome(
                    _error_body(rid, "Runtime.ExitError", f"RequestId: {rid} Error: {failure}"),
                    True,
                    "error",
                    "Runtime.ExitError",
                )
        self._log(f"START RequestId: {rid} Version: {self._version()}")
        if self.runtime.init_error is not None:
            error = self.runtime.init_error
            self.runtime.kill()
            self.runtime.init_error = None  # the next invoke initialises again, as on AWS
            error_type = json.loads(error).get("errorType", "Runtime.Unknown")
            return Outcome(error, True, "error", error_type)

        invocation.deadline_ms = int((time.time() + self.config.timeout_seconds) * 1000)
        deadline = time.monotonic() + self.config.timeout_seconds
        limit_kb = self.config.memory_mb * 1024
        self.current = invocation
        self.runtime.invocations.put(invocation)
        while not invocation.done.wait(MEMORY_POLL_SECONDS):
            if self.runtime.sample_memory() > limit_kb:
                self.runtime.kill()
                return self._exited(rid, "Runtime exited with error: signal: killed")
            if not self.runtime.alive():
                return self._exited(rid, self.runtime.exit_reason())
            if time.monotonic() >= deadline:
                self.runtime.kill()
                message = f"Task timed out after {self.config.timeout_seconds:.2f} seconds"
                self._log(f"{datetime.now(UTC):%Y-%m-%dT%H:%M:%S.%f}"[:-3] + f"Z {rid} {message}")
                return Outcome(
                    _error_body(rid, "Sandbox.Timedout", f"RequestId: {rid} Error: {message}"),
                    True,
                    "timeout",
                )
        self.runtime.sample_memory()
        self.current = None
        return Outcome(invocation.result, invocation.is_error)

    def _exited(self, rid: str, reason: str) -> Outcome:
        self.current = None
        self._drain_next()
        self._log(f"RequestId: {rid} Error: {reason}")
        return Outcome(
            _error_body(rid, "Runtime.ExitError", f"RequestId: {rid} Error: {reason}"),
            True,
            "error",
            "Runtime.ExitError",
        )

    def _drain_next(self) -> None:
        while True:
            try:
                self.runtime.invocations.get_nowait()
            except queue.Empty:
                return

    def _version(self) -> str:
        return self.config.function_env.get("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")

    def _report_line(self, rid: str, duration_ms: float, outcome: Outcome) -> str:
        parts = [
            f"REPORT RequestId: {rid}",
            f"Duration: {duration_ms:.2f} ms",
            f"Billed Duration: {math.ceil(duration_ms + (self._init_ms() or 0))} ms",
            f"Memory Size: {self.config.memory_mb} MB",
            f"Max Memory Used: {math.ceil(self.runtime.peak_kb / 1024)} MB",
        ]
        if self._init_ms() is not None:
            parts.append(f"Init Duration: {self._init_ms():.2f} ms")
        if outcome.status:
            parts.append(f"Status: {outcome.status}")
        if outcome.error_type:
            parts.append(f"Error Type: {outcome.error_type}")
        return "\t".join(parts)

    def _init_ms(self) -> float | None:
        return self.runtime.init_duration_ms if self.fresh_init else None

    def serve_invokes(self) -> None:
        while True:
            invocation = self.invokes.get()
            try:
                self.run_invocation(invocation)
            except Exception as error:  # never leave LocalStack waiting for an answer
                print(f"init: invoke {invocation.request_id} failed: {error!r}", file=sys.stderr, flush=True)
                body = _error_body(invocation.request_id, "Runtime.InitError", str(error))
                with contextlib.suppress(Exception):
                    self._post(f"/invocations/{invocation.request_id}/error", body)

    def shutdown(self, *_: object) -> None:
        self.runtime.kill()
        os._exit(0)


def make_handler(init: RuntimeInit) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # small request/response pairs: no 40 ms delayed-ACK stalls

        def log_message(self, *args: object) -> None:  # keep the function's log clean
            pass

        def _body(self) -> bytes:
            length = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(length) if length else b""

        def _reply(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
            self.send_response(status)
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.send_header("Content-Type", (headers or {}).get("Content-Type", "application/json"))
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            if self.path == f"{RUNTIME_API_PREFIX}/invocation/next":
                waiting_on = init.runtime.invocations
                init.runtime.mark_ready()
                invocation = waiting_on.get()
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
            else:
                self._reply(HTTPStatus.NOT_FOUND, b'{"errorMessage": "not found"}')

        def do_POST(self) -> None:
            body = self._body()
            path = self.path
            if path == "/invoke":
                data = json.loads(body)
                init.invokes.put(
                    Invocation(
                        request_id=data["invoke-id"],
                        function_arn=data["invoked-function-arn"],
                        payload=data["payload"].encode(),
                        trace_id=data.get("trace-id") or "",
                    )
                )
                self._reply(HTTPStatus.OK, b"{}")
            elif path == f"{RUNTIME_API_PREFIX}/init/error":
                init.runtime.mark_init_error(body)
                self._reply(HTTPStatus.ACCEPTED, b"{}")
            elif path.startswith(f"{RUNTIME_API_PREFIX}/invocation/"):
                request_id, _, kind = path[len(RUNTIME_API_PREFIX) + len("/invocation/") :].partition("/")
                current = init.current
                if current is None or current.request_id != request_id or kind not in ("response", "error"):
                    self._reply(HTTPStatus.BAD_REQUEST, b'{"errorMessage": "unknown invocation"}')
                    return
                current.result, current.is_error = body, kind == "error"
                current.done.set()
                self._reply(HTTPStatus.ACCEPTED, b"{}")
            else:
                self._reply(HTTPStatus.NOT_FOUND, b'{"errorMessage": "not found"}')

    return Handler


def watch_parent(init: RuntimeInit, parent_pid: int) -> None:
    """LocalStack may die without stopping us (kill -9): then the environment goes too."""
    while os.getppid() == parent_pid:
        time.sleep(PARENT_POLL_SECONDS)
    init.shutdown()


def main(config_path: str) -> None:
    config = InitConfig.load(config_path)
    init = RuntimeInit(config)
    signal.signal(signal.SIGTERM, init.shutdown)
    signal.signal(signal.SIGINT, init.shutdown)
    threading.Thread(target=watch_parent, args=(init, os.getppid()), daemon=True).start()
    server = ThreadingHTTPServer(("127.0.0.1", config.port), make_handler(init))
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    init.init_log_offset = init._log_offset()
    init.start_runtime()  # cold start now, as the Docker init does; failures surface on invoke
    init.report_ready()
    init.serve_invokes()


if __name__ == "__main__":
    main(sys.argv[1])
