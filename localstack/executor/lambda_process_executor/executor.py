"""LocalStack's side of the process executor: one init process per execution environment.

LocalStack drives environments through the ``RuntimeExecutor`` interface (start, invoke,
stop). Each environment here is a ``runtime_init`` process on a free loopback port, which
LocalStack talks to with the same protocol as its Docker init; the function itself runs
below it as ``python -m awslambdaric``. Code and layers are the ones LocalStack already
unzipped; layers are merged once per layer set into the folder that plays ``/opt``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import time
from concurrent.futures import TimeoutError as FutureTimeout
from pathlib import Path

from localstack import config
from localstack.services.lambda_.invocation.executor_endpoint import ExecutorEndpoint
from localstack.services.lambda_.invocation.lambda_models import FunctionVersion, InvocationResult
from localstack.services.lambda_.invocation.runtime_executor import LambdaRuntimeException, RuntimeExecutor
from localstack.utils.net import get_free_tcp_port

from lambda_process_executor.environment import UnsupportedRuntimeError, function_environment
from lambda_process_executor.runtime_init import write_pid_file

LOG = logging.getLogger(__name__)

RUNTIME_PYTHON_ENV = "LAMBDA_PROCESS_RUNTIME_PYTHON"
WORK_DIR_ENV = "LAMBDA_PROCESS_EXECUTOR_DIR"
STOP_GRACE_SECONDS = 3.0


def work_dir() -> Path:
    root = os.environ.get(WORK_DIR_ENV) or os.path.join(config.dirs.tmp, "lambda-process")
    return Path(root)


def runtime_python() -> str:
    return os.environ.get(RUNTIME_PYTHON_ENV, "")


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


class ProcessRuntimeExecutor(RuntimeExecutor):
    """An execution environment that is a local process tree instead of a container."""

    def __init__(self, id: str, function_version: FunctionVersion) -> None:
        super().__init__(id=id, function_version=function_version)
        self.executor_endpoint = ExecutorEndpoint(id, container_address="127.0.0.1")
        self.env_dir = work_dir() / "envs" / id
        self.process: subprocess.Popen | None = None

    def start(self, env_vars: dict[str, str]) -> None:
        self.executor_endpoint.start()
        version_config = self.function_version.config
        if not version_config.code:
            raise LambdaRuntimeException(
                "Container image functions are not supported by the process executor."
            )
        port = get_free_tcp_port()
        self.executor_endpoint.container_port = port
        tmp_dir = self.env_dir / "tmp"
        tmp_dir.mkdir(parents=True, exist_ok=True)
        task_root = Path(version_config.code.get_unzipped_code_location())
        opt_dir = merged_layers_dir(self.function_version)
        init_config = {
            "runtime_id": self.id,
            "runtime_endpoint": self.get_runtime_endpoint(),
            "port": port,
            "handler": version_config.handler,
            "python": runtime_python(),
            "task_root": str(task_root),
            "opt_dir": str(opt_dir),
            "log_path": str(self.env_dir / "function.log"),
            "timeout_seconds": float(version_config.timeout),
            "memory_mb": int(version_config.memory_size),
            "runtime_version": version_config.runtime.replace("python", "python:"),
            "function_env": self._function_environment(
                env_vars,
                task_root=task_root,
                opt_dir=opt_dir,
                runtime_api=f"127.0.0.1:{port}",
                tmp_dir=tmp_dir,
            ),
        }
        config_path = self.env_dir / "init.json"
        config_path.write_text(json.dumps(init_config))
        with open(self.env_dir / "init.log", "ab") as init_log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "lambda_process_executor.runtime_init", str(config_path)],
                cwd=self.env_dir,
                env={"PATH": os.environ.get("PATH", "/usr/bin:/bin")},
                stdin=subprocess.DEVNULL,
                stdout=init_log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        write_pid_file(self.env_dir / "init.pid", self.process.pid)
        self._wait_for_ready()

    def _function_environment(self, env_vars: dict[str, str], **paths: Path | str) -> dict[str, str]:
        try:
            runtime = self.function_version.config.runtime
            return function_environment(env_vars, runtime=runtime, runtime_python=runtime_python(), **paths)
        except UnsupportedRuntimeError as error:
            raise LambdaRuntimeException(str(error)) from None

    def _wait_for_ready(self) -> None:
        while True:
            try:
                self.executor_endpoint.startup_future.result(timeout=0.05)
                return
            except FutureTimeout:
                if self.process.poll() is not None:
                    log = (self.env_dir / "init.log").read_text(errors="replace")[-2000:]
                    raise LambdaRuntimeException(f"Lambda init process exited early: {log}") from None

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(STOP_GRACE_SECONDS)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        try:
            self.executor_endpoint.shutdown()
        except Exception as error:
            LOG.debug("Error while stopping executor endpoint %s: %s", self.id, error)
        shutil.rmtree(self.env_dir, ignore_errors=True)

    def get_address(self) -> str:
        return "127.0.0.1"

    def get_endpoint_from_executor(self) -> str:
        return "127.0.0.1"

    def get_runtime_endpoint(self) -> str:
        port = config.GATEWAY_LISTEN[0].port
        return f"http://127.0.0.1:{port}{self.executor_endpoint.get_endpoint_prefix()}"

    def invoke(self, payload: dict[str, str]) -> InvocationResult:
        return self.executor_endpoint.invoke(payload)

    def get_logs(self) -> str:
        try:
            return (self.env_dir / "function.log").read_text(errors="replace")
        except FileNotFoundError:
            return ""

    @classmethod
    def prepare_version(cls, function_version: FunctionVersion) -> None:
        if function_version.config.code:
            function_version.config.code.prepare_for_execution()
            merged_layers_dir(function_version)

    @classmethod
    def cleanup_version(cls, function_version: FunctionVersion) -> None:
        """Merged layer folders are shared by layer set and kept; code is LocalStack's."""

    @classmethod
    def validate_environment(cls) -> bool:
        python = runtime_python()
        if not python or not os.access(python, os.X_OK):
            LOG.warning(
                "%s must name the Python interpreter of the Lambda runtime environment "
                "(one with awslambdaric and boto3); got %r",
                RUNTIME_PYTHON_ENV,
                python,
            )
            return False
        return True
