"""The executor answers as AWS did in LocalStack's AWS-recorded Lambda tests (docs/fidelity.md):
a CPython per runtime, the exec wrapper, Lambda's own error payloads and response limit, the
log tail, AWS's paths in stack traces, PWD/SHLVL and AWS's ulimits. Real runtimes, no LocalStack.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from lambda_process_executor import interpreters
from lambda_process_executor.capacity import CPU_HOST, CapacitySettings
from lambda_process_executor.confinement import Confinement
from lambda_process_executor.environment import UnsupportedRuntimeError
from lambda_process_executor.runtime import Invocation, InvokeResult, RuntimeProcess, RuntimeSpec
from localcloud.settings import PROJECT_ROOT, Settings

pytestmark = pytest.mark.runtime
CODE = Path(__file__).parent / "aws_answers"
WORK = PROJECT_ROOT / ".local" / "test-aws-answers"
PYTHONS = Settings.from_env().lambda_pythons
SETTINGS = {interpreters.setting_name(runtime): python for runtime, python in PYTHONS.items()}
HOST_CPU = Confinement(dataclasses.replace(CapacitySettings.defaults(), cpu_mode=CPU_HOST))


@pytest.fixture
def start(tmp_path) -> Iterator:
    started: list[RuntimeProcess] = []

    def runtime(runtime: str = "python3.13", timeout: float = 10.0, **env: str) -> RuntimeProcess:
        task_root = tmp_path / f"task-{len(started)}"
        shutil.copytree(CODE, task_root)
        python = interpreters.interpreter_for(runtime, SETTINGS)
        variables = {"AWS_REGION": "us-east-1", **env}
        spec = RuntimeSpec(
            "app.handler", python, str(task_root), str(tmp_path / "opt"), timeout, 512, runtime, variables
        )
        process = RuntimeProcess(spec, WORK / uuid.uuid4().hex, uuid.uuid4().hex, HOST_CPU)
        started.append(process)
        return process

    (tmp_path / "opt").mkdir()
    yield runtime
    for process in started:
        process.close()


def call(runtime: RuntimeProcess, event: dict[str, Any] | None = None) -> tuple[Any, InvokeResult]:
    arn = "arn:aws:lambda:us-east-1:000000000000:function:answers"
    result = runtime.invoke(Invocation(str(uuid.uuid4()), arn, json.dumps(event or {}).encode()))
    return json.loads(result.payload), result


@pytest.mark.parametrize("runtime", sorted(PYTHONS))
def test_each_python_runtime_runs_on_its_own_cpython(start, runtime):
    answer, result = call(start(runtime))
    assert not result.is_error, answer
    assert answer["python"] == runtime.removeprefix("python")
    assert answer["env"]["AWS_EXECUTION_ENV"] == f"AWS_Lambda_{runtime}"


def test_a_runtime_without_its_cpython_is_refused_naming_its_setting():
    with pytest.raises(UnsupportedRuntimeError, match="set LOCAL_LAMBDA_PYTHON_3_14 to"):
        interpreters.interpreter_for("python3.14", SETTINGS)
    wrong = {"LOCAL_LAMBDA_PYTHON_3_12": PYTHONS["python3.13"]}  # a 3.13 named for 3.12
    with pytest.raises(UnsupportedRuntimeError, match=r"LOCAL_LAMBDA_PYTHON_3_12=.* is not a CPython 3\.12"):
        interpreters.interpreter_for("python3.12", wrong)


def test_the_exec_wrapper_runs_the_runtime_and_aws_paths_name_it(start):
    answer, _ = call(start(AWS_LAMBDA_EXEC_WRAPPER="/var/task/wrapper"))
    assert answer["env"]["WRAPPER_VAR"] == "wrapped"
    assert answer["env"]["AWS_LAMBDA_EXEC_WRAPPER"] == "/var/task/wrapper"


def test_a_missing_exec_wrapper_exits_127_as_aws_bootstrap(start):
    answer, result = call(start(AWS_LAMBDA_EXEC_WRAPPER="/idontexist.sh"))
    assert result.is_error
    assert answer["errorType"] == "Runtime.ExitError"
    assert answer["errorMessage"].endswith("Error: Runtime exited with error: exit status 127")
    assert "/idontexist.sh: does not exist" in result.logs


def test_a_timeout_payload_has_aws_fields_only(start):
    answer, result = call(start(timeout=1.0), {"sleep": 3})
    assert result.is_error
    assert answer == {"errorType": "Sandbox.Timedout", "errorMessage": answer["errorMessage"]}
    assert answer["errorMessage"].endswith("Error: Task timed out after 1.00 seconds")


def test_a_response_over_6_mb_is_function_response_size_too_large_and_the_runtime_stays(start):
    runtime = start()
    answer, result = call(runtime, {"bytes": 7 * 1024 * 1024})
    assert result.is_error
    assert answer == {
        "errorMessage": "Response payload size exceeded maximum allowed payload size (6291556 bytes).",
        "errorType": "Function.ResponseSizeTooLarge",
    }
    fits, result = call(runtime, {"bytes": 6 * 1024 * 1024})
    assert not result.is_error and len(fits) == 6 * 1024 * 1024
    assert "INIT_START" not in result.logs, "the second invoke is warm"


def test_the_tail_has_no_init_start_but_the_log_does(start):
    _, result = call(start())
    assert result.logs.startswith("START RequestId:"), result.logs[:200]
    assert result.init_log.startswith("INIT_START Runtime Version: python:3.13")


def test_a_stack_trace_shows_var_task_as_aws(start):
    answer, result = call(start(), {"raise": "bad spin"})
    assert result.is_error and answer["errorType"] == "ValueError"
    assert any('File "/var/task/app.py"' in frame for frame in answer["stackTrace"]), answer["stackTrace"]


def test_pwd_shlvl_and_ulimits_are_aws(start):
    answer, _ = call(start())
    env = answer["env"]
    assert env["PWD"] == answer["cwd"] == env["LAMBDA_TASK_ROOT"]
    assert env["SHLVL"] == "0"
    assert answer["nofile"] == [1024, 1024]
    assert answer["stack"] == [8388608, -1]
    assert answer["memlock"] == [65536, 65536]
