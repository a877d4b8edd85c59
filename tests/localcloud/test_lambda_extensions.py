"""The Lambda Extensions API in the executor, as AWS documents it: real runtimes with a real
extension process (tests/localcloud/extensions/recorder) from the layers' /opt/extensions,
in the executor's own RuntimeProcess (what LocalStack and `make invoke` run). The LocalStack
path (the answer before the extension is done, END/REPORT in CloudWatch) is in
test_sentry_relay.py."""

from __future__ import annotations

import json
import shutil
import time
import uuid
from dataclasses import replace
from pathlib import Path

import pytest

from lambda_process_executor import confinement
from lambda_process_executor.capacity import CapacitySettings
from lambda_process_executor.report import milliseconds, report_fields
from lambda_process_executor.runtime import Invocation, RuntimeProcess
from perf.lambda_clock import WORK_DIR, probe_spec

pytestmark = pytest.mark.runtime
RECORDER = Path(__file__).parent / "extensions" / "recorder"
ARN = "arn:aws:lambda:us-east-1:000000000000:function:clock-256"


@pytest.fixture
def environment(tmp_path):
    """A function (the clock probe) with the recorder extension in its /opt/extensions."""
    owner = confinement.for_owner(CapacitySettings.defaults(), WORK_DIR / "extensions")
    started: list[RuntimeProcess] = []

    def start(timeout: float = 10.0, **settings: str) -> tuple[RuntimeProcess, Path]:
        opt = tmp_path / f"opt-{len(started)}"
        (opt / "extensions").mkdir(parents=True)
        shutil.copy(RECORDER, opt / "extensions" / "recorder")
        spec = probe_spec(256, timeout=timeout, opt_dir=opt)
        record = tmp_path / f"recorder-{len(started)}.jsonl"
        env = spec.env_vars | {"RECORDER_LOG": str(record), **settings}
        spec = replace(spec, env_vars=env)
        runtime = RuntimeProcess(spec, WORK_DIR / "envs" / uuid.uuid4().hex, uuid.uuid4().hex, owner)
        started.append(runtime)
        return runtime, record

    yield start
    for runtime in started:
        runtime.close()
    owner.close()


def invoke(runtime: RuntimeProcess, event: dict | None = None):
    request_id = str(uuid.uuid4())
    return request_id, runtime.invoke(
        Invocation(request_id, ARN, json.dumps(event or {}).encode(), "Root=1-x")
    )


def records(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def wait_until(condition, seconds: float = 5.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"{condition} still false after {seconds} s"
        time.sleep(0.01)


def test_an_extension_registers_before_the_runtime_and_gets_invoke_then_shutdown(environment):
    runtime, record = environment()
    request_id, result = invoke(runtime)
    logs = result.logs + result.settle()
    assert "EXTENSION\tName: recorder\tState: Ready\tEvents: [INVOKE,SHUTDOWN]" in logs
    assert logs.index("EXTENSION") < logs.index(f"START RequestId: {request_id}")
    assert "Init Duration" in report_fields(logs, request_id)
    runtime.close()
    seen = records(record)
    registered = seen[0]
    assert registered["body"] == {"functionName": "clock-256", "functionVersion": "$LATEST", "handler": "",
                                  "accountId": "000000000000"}  # fmt: skip
    assert "LAMBDA_TASK_ROOT" not in registered["env"] and "AWS_LAMBDA_RUNTIME_API" in registered["env"]
    events = [r["event"] for r in seen if r["kind"] == "event"]
    assert events[0]["eventType"] == "INVOKE" and events[0]["requestId"] == request_id
    assert events[0]["invokedFunctionArn"] == ARN and events[0]["deadlineMs"] > time.time() * 1000 - 60_000
    assert events[0]["tracing"] == {"type": "X-Amzn-Trace-Id", "value": "Root=1-x"}
    assert events[-1]["eventType"] == "SHUTDOWN" and events[-1]["shutdownReason"] == "spindown"
    assert seen[-1]["kind"] == "exited", "the extension had the Shutdown phase to exit by itself"
    assert "recorder: INVOKE" in logs, "the extension's output belongs in the function's log"


def test_the_answer_comes_before_the_extension_is_done_and_the_freeze_after(environment):
    runtime, _ = environment(RECORDER_AFTER_INVOKE_MS="800")
    invoke(runtime)[1].settle()  # the cold start
    request_id, result = invoke(runtime)
    assert result.response_ms < 500, "the caller waited for the extension"
    assert not runtime.cell.frozen(), "frozen while an extension still works"
    rest = result.settle()
    assert milliseconds(report_fields(rest, request_id)["Duration"]) >= 800  # runtime + extensions
    wait_until(runtime.cell.frozen)


def test_an_extension_past_the_timeout_ends_the_invoke_as_a_timeout(environment):
    runtime, _ = environment(timeout=1.0, RECORDER_AFTER_INVOKE_MS="3000")
    request_id, result = invoke(runtime)
    rest = result.settle()
    assert report_fields(rest, request_id)["Status"] == "timeout"
    assert f"{request_id} Task timed out after 1.00 seconds" in rest
    request_id, result = invoke(runtime)
    assert result.settle is not None, result.payload
    assert "Init Duration" in report_fields(result.logs + result.settle(), request_id)


def test_the_shutdown_phase_is_bounded_by_2000_ms_then_sigkill(environment):
    runtime, record = environment(RECORDER_SHUTDOWN_MS="6000")
    invoke(runtime)[1].settle()
    pids = [member.process.pid for member in runtime.extensions.members]
    started = time.monotonic()
    runtime.close()
    assert time.monotonic() - started < 2.6
    assert not any(Path(f"/proc/{pid}").exists() for pid in pids)
    assert records(record)[-1]["kind"] == "event", "killed before it could exit by itself"


def test_an_extension_that_does_not_register_fails_the_init(environment):
    runtime, _ = environment(RECORDER_NO_REGISTER="1")
    _, result = invoke(runtime)
    assert result.is_error and json.loads(result.payload)["errorType"].startswith("Extension.")
