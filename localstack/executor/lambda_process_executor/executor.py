"""LocalStack's side of the process executor: cheap environments over a pool of runtimes.

LocalStack drives environments through the ``RuntimeExecutor`` interface (start, invoke,
stop) and starts a new one whenever none is idle. Here an environment is a handle: it starts
no process. On invoke it borrows a runtime of its function from the ``RuntimePool`` (bounded
per function and in total, see capacity.py), runs the invocation there and gives it back.
A runtime is one process, ``python -m awslambdaric``; its Runtime API is served from a
thread of LocalStack's process. Code and layers are the ones LocalStack already unzipped;
layers are merged once per layer set into the folder that plays ``/opt``.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import shutil
import threading
import time
from collections.abc import Callable
from pathlib import Path

# LocalStack is installed in its own environment, not the dev one (where mypy would see this
# repository's localstack/ folder instead)
from localstack import config  # type: ignore[attr-defined]
from localstack.services.lambda_.invocation.lambda_models import FunctionVersion, InvocationResult
from localstack.services.lambda_.invocation.runtime_executor import LambdaRuntimeException, RuntimeExecutor

from lambda_process_executor import confinement, interpreters
from lambda_process_executor.capacity import CapacitySettings
from lambda_process_executor.environment import UnsupportedRuntimeError
from lambda_process_executor.payloads import error_body
from lambda_process_executor.pool import FunctionPool, RuntimePool
from lambda_process_executor.runtime import INITIALIZATION_TYPE_ENV, Invocation, RuntimeProcess, RuntimeSpec

LOG = logging.getLogger(__name__)

WORK_DIR_ENV = "LAMBDA_PROCESS_EXECUTOR_DIR"
REFUSAL_ERROR_TYPE = "Local.UnsupportedRuntime"
INITIALIZATION_TYPES = ("on-demand", "provisioned-concurrency", "snap-start")


def work_dir() -> Path:
    root = os.environ.get(WORK_DIR_ENV) or os.path.join(config.dirs.tmp, "lambda-process")
    return Path(root)


_POOL: RuntimePool | None = None
_POOL_LOCK = threading.Lock()


def runtime_pool() -> RuntimePool:
    """The one pool of this LocalStack process, sized by the capacity settings."""
    global _POOL
    with _POOL_LOCK:
        if _POOL is None:
            settings = CapacitySettings.from_env()
            confined = confinement.for_owner(settings, work_dir())
            LOG.info("%s", confined.describe())
            _POOL = RuntimePool(settings, work_dir(), confinement=confined)
        return _POOL


def _link_or_copy(source: str, target: str) -> None:
    """Layers later in the list replace files of earlier ones, as in /opt on AWS."""
    if os.path.lexists(target):
        os.unlink(target)
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)


def merged_layers_dir(function_version: FunctionVersion) -> Path:
    """The folder that plays /opt: every layer of the function, merged in the given order."""
    layers = function_version.config.layers or []
    # a layer version ARN repeats after LocalStack restarts (version 1 again): key by content too
    identity = "\n".join(
        f"{layer.layer_version_arn} {getattr(layer.code, 'code_sha256', '')}" for layer in layers
    )
    key = hashlib.sha1(identity.encode()).hexdigest()[:16]
    target = work_dir() / "opt" / key
    if target.exists():
        return target
    staging = target.with_name(f"{key}.{os.getpid()}.{time.monotonic_ns()}")
    staging.mkdir(parents=True)
    for layer in layers:
        if layer.code is None:
            continue
        layer.code.prepare_for_execution()
        shutil.copytree(
            layer.code.get_unzipped_code_location(),
            staging,
            copy_function=_link_or_copy,
            dirs_exist_ok=True,
            symlinks=True,
        )
    try:
        staging.rename(target)
    except OSError:  # another environment of the same layer set won the race
        shutil.rmtree(staging, ignore_errors=True)
    return target


def put_logs(env_vars: dict[str, str], text: str) -> None:
    """Lines of a function's log to its CloudWatch Logs stream (LocalStack's internal client)."""
    from localstack.aws.connect import connect_to

    lines = [line for line in text.splitlines() if line]
    if not lines:
        return
    group, stream = env_vars.get("AWS_LAMBDA_LOG_GROUP_NAME"), env_vars.get("AWS_LAMBDA_LOG_STREAM_NAME")
    region = env_vars.get("AWS_REGION") or env_vars.get("AWS_DEFAULT_REGION") or "us-east-1"
    account = env_vars.get("LOCALSTACK_FUNCTION_ACCOUNT_ID") or "000000000000"  # the function's own
    logs = connect_to(region_name=region, aws_access_key_id=account).logs
    events = [{"timestamp": int(time.time() * 1000), "message": line + "\n"} for line in lines]
    try:
        logs.put_log_events(logGroupName=group, logStreamName=stream, logEvents=events)
    except logs.exceptions.ResourceNotFoundException:
        with contextlib.suppress(logs.exceptions.ResourceAlreadyExistsException):
            logs.create_log_group(logGroupName=group)
        with contextlib.suppress(logs.exceptions.ResourceAlreadyExistsException):
            logs.create_log_stream(logGroupName=group, logStreamName=stream)
        logs.put_log_events(logGroupName=group, logStreamName=stream, logEvents=events)


def pool_key(function_version: FunctionVersion, initialization_type: str = "on-demand") -> str:
    """Runtimes are shared by environments of the same version with the same configuration and
    initialization type (a provisioned environment never serves an on-demand invoke)."""
    version_config = function_version.config
    identity = json.dumps(
        [
            function_version.qualified_arn,
            getattr(version_config.code, "code_sha256", ""),
            version_config.handler,
            version_config.runtime,
            version_config.timeout,
            version_config.memory_size,
            [layer.layer_version_arn for layer in version_config.layers or []],
            version_config.environment or {},
            initialization_type,
        ],
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256(identity.encode()).hexdigest()


class ProcessRuntimeExecutor(RuntimeExecutor):
    """One of LocalStack's execution environments: a handle that borrows pooled runtimes."""

    def __init__(self, id: str, function_version: FunctionVersion) -> None:
        super().__init__(id=id, function_version=function_version)
        self.spec: RuntimeSpec | None = None
        self.key = pool_key(function_version)
        self.current: RuntimeProcess | None = None
        self.settling: RuntimeProcess | None = None  # answered; its extensions end the Invoke phase
        self.stopped = False
        self.refusal = ""  # why this machine cannot run the function's runtime (first invoke says)
        self._logs = ""

    def start(self, env_vars: dict[str, str]) -> None:
        """Starts no process: the first invoke that finds no idle runtime starts one (cold)."""
        version_config = self.function_version.config
        if not version_config.code:
            raise LambdaRuntimeException(
                "Container image functions are not supported by the process executor."
            )
        self.key = pool_key(self.function_version, env_vars.get(INITIALIZATION_TYPE_ENV, "on-demand"))
        try:
            python = interpreters.interpreter_for(version_config.runtime)
        except UnsupportedRuntimeError as error:  # API calls work; the invoke says why it cannot run
            LOG.warning("%s", error)
            self.refusal, python = str(error), ""
        self.spec = RuntimeSpec(
            handler=version_config.handler,
            python=python,
            task_root=str(version_config.code.get_unzipped_code_location()),
            opt_dir=str(merged_layers_dir(self.function_version)),
            timeout_seconds=float(version_config.timeout),
            memory_mb=int(version_config.memory_size),
            runtime=version_config.runtime,
            env_vars={key: str(value) for key, value in env_vars.items()},
        )
        if self.spec.provisioned and not self.refusal:
            self._initialise_ahead()

    def _initialise_ahead(self) -> None:
        """Provisioned concurrency runs the Init phase before any invoke (AWS); an init that
        fails fails this environment, and LocalStack then reports the configuration FAILED
        and serves invokes on demand."""
        assert self.spec is not None
        pool = runtime_pool()
        borrowed = pool.acquire(self.key, self.spec, timeout=self.spec.timeout_seconds)
        if borrowed is None:
            raise LambdaRuntimeException(f"no room for a provisioned runtime of {self.key}")
        function_pool, runtime = borrowed
        try:
            failure, log = runtime.initialise()
        finally:
            pool.release(function_pool, runtime)  # a failed one is gone, and gives its room up
        try:
            put_logs(self.spec.env_vars, log)
        except Exception as error:
            LOG.warning("a provisioned init's log did not reach CloudWatch Logs: %r", error)
        if failure is not None:
            raise LambdaRuntimeException(f"provisioned concurrency init failed: {failure}")

    def stop(self) -> None:
        """Stopped by LocalStack (the function was deleted or updated, or its keep-alive passed).
        A runtime still working on an answer goes at once (LocalStack interrupts invocations on
        purpose); one whose caller has its answer ends its Invoke phase first and then shuts down
        (its extensions get SHUTDOWN and drain), as an environment does on AWS: a SIGKILL there
        lost what the relay extension was still sending."""
        self.stopped = True
        runtime = self.current
        if runtime is not None and runtime is not self.settling:
            runtime.kill()

    def invoke(self, payload: dict[str, str]) -> InvocationResult:
        if self.spec is None:
            raise LambdaRuntimeException(f"environment {self.id} was not started")
        request_id = payload["invoke-id"]
        if self.refusal:
            body = error_body(REFUSAL_ERROR_TYPE, self.refusal)
            return InvocationResult(request_id, body, True, "")
        invocation = Invocation(
            request_id=request_id,
            function_arn=payload["invoked-function-arn"],
            payload=payload["payload"].encode(),
            trace_id=payload.get("trace-id") or "",
        )
        pool = runtime_pool()
        borrowed = pool.acquire(self.key, self.spec, timeout=self.spec.timeout_seconds)
        if borrowed is None:
            return self._capacity_exhausted(request_id, pool)
        function_pool, runtime = borrowed
        self.current = runtime
        try:
            result = runtime.invoke(invocation)
        except BaseException:
            self.current = None
            pool.release(function_pool, runtime)
            raise
        self._logs = result.logs
        if result.init_log:
            self._log_init(result.init_log)
        if result.settle is None:
            self.current = None
            pool.release(function_pool, runtime)
        else:  # the caller has its answer; the extensions finish the Invoke phase meanwhile
            self.settling = runtime
            threading.Thread(
                target=self._settle, args=(result.settle, pool, function_pool, runtime), daemon=True
            ).start()
        return InvocationResult(request_id, result.payload, result.is_error, result.logs)

    def _settle(
        self,
        settle: Callable[[], str],
        pool: RuntimePool,
        function_pool: FunctionPool,
        runtime: RuntimeProcess,
    ) -> None:
        """Ends the Invoke phase after the answer: its log (the extensions' output, END and
        REPORT) goes to CloudWatch Logs directly, as LocalStack's own log handler would send it;
        the runtime goes back to the pool only then."""
        try:
            rest = settle()
        except Exception as error:  # never lose the runtime's place in the pool
            LOG.warning("ending an invoke with extensions failed: %r", error)
            rest = ""
        finally:
            if self.current is runtime:  # LocalStack may already run another invoke here
                self.current = None
            if self.settling is runtime:
                self.settling = None
            # before the REPORT shows: the runtime is free (or shut down, if stopped meanwhile)
            pool.release(function_pool, runtime, retire=self.stopped)
        try:
            put_logs(self.spec.env_vars if self.spec else {}, rest)
        except Exception as error:
            LOG.warning("the end of an invoke's log did not reach CloudWatch Logs: %r", error)

    def _log_init(self, line: str) -> None:
        """INIT_START goes to the stream before the invoke's log (LocalStack sends that, and
        returns its tail: AWS's tail has no INIT_START)."""
        try:
            put_logs(self.spec.env_vars if self.spec else {}, line)
        except Exception as error:
            LOG.warning("INIT_START did not reach CloudWatch Logs: %r", error)

    def _capacity_exhausted(self, request_id: str, pool: RuntimePool) -> InvocationResult:
        limits = pool.settings
        timeout = self.spec.timeout_seconds if self.spec else 0.0
        message = (
            f"RequestId: {request_id} Error: no execution environment of this function became free "
            f"within its Timeout ({timeout:g} s); the local cloud runs at most "
            f"{limits.max_per_function} per function and {limits.max_total} in all "
            "(LOCAL_LAMBDA_MAX_PER_FUNCTION, LOCAL_LAMBDA_MAX_TOTAL; docs/capacity.md)"
        )
        LOG.warning(message)
        return InvocationResult(request_id, error_body("Local.CapacityExhausted", message), True, "")

    def get_address(self) -> str:
        return "127.0.0.1"

    def get_endpoint_from_executor(self) -> str:
        return "127.0.0.1"

    def get_runtime_endpoint(self) -> str:
        """LocalStack's init callback URL: unused, the Runtime API is served in this process."""
        return f"http://127.0.0.1:{config.GATEWAY_LISTEN[0].port}/_localstack_lambda/{self.id}"

    def get_logs(self) -> str:
        return self._logs

    @classmethod
    def prepare_version(cls, function_version: FunctionVersion) -> None:
        if function_version.config.code:
            function_version.config.code.prepare_for_execution()
            merged_layers_dir(function_version)

    @classmethod
    def cleanup_version(cls, function_version: FunctionVersion) -> None:
        """The version is gone or replaced: its runtimes go. Merged layers are shared and kept."""
        for initialization_type in INITIALIZATION_TYPES:
            runtime_pool().close_pool(pool_key(function_version, initialization_type))

    @classmethod
    def validate_environment(cls) -> bool:
        found = interpreters.configured()
        if not any(os.access(python, os.X_OK) for python in found.values()):
            LOG.warning(
                "no Lambda runtime interpreter: set %s<major>_<minor> (e.g. %s) to the Python of a "
                "Lambda runtime environment (one with awslambdaric and boto3); got %r",
                interpreters.SETTING_PREFIX,
                interpreters.setting_name("python3.13"),
                found,
            )
            return False
        try:
            CapacitySettings.from_env()
        except ValueError as error:
            LOG.warning("Lambda capacity settings: %s", error)
            return False
        return True
