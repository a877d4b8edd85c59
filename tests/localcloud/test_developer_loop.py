"""The developer's loop on the real LocalStack: a saved file runs at the next invoke without a
deploy (hot reload, from a working tree of the project's shape), a syntax error comes back as
Lambda's error and the next save heals it, and an IDE's debugger (a DAP client) attaches to a
function's runtime, stops at a breakpoint and lets the invoke finish past the Timeout."""

from __future__ import annotations

import json
import os
import socket
import threading
import time
import uuid
from pathlib import Path

import pytest

from lambda_process_executor.code_source import CODE_ROOT_ENV, DEBUG_PORT_ENV, DEBUG_WAIT_ENV
from localcloud.aws import client
from tests.localcloud.lambdas import deploy_function, invoke, publish_layer, report_fields, zip_tree
from tests.support.dap import DebugClient

pytestmark = pytest.mark.localstack

HANDLER = """import greeting

def handler(event, context):
    {body}
    return {{"says": greeting.GREETING + " {version}"}}
"""


@pytest.fixture(scope="module")
def lambda_client(localstack_server):
    return client(localstack_server, "lambda")


@pytest.fixture
def tree(tmp_path) -> Path:
    """A working tree shaped like the project: functions/<service>, layers/common/python."""
    (tmp_path / "functions" / "hello").mkdir(parents=True)
    (tmp_path / "layers" / "common" / "python").mkdir(parents=True)
    write(tmp_path / "functions" / "hello" / "app.py", HANDLER.format(body="pass", version="v1"))
    write(tmp_path / "layers" / "common" / "python" / "greeting.py", 'GREETING = "hello"\n')
    return tmp_path


def write(path: Path, text: str) -> None:
    path.write_text(text)
    stat = path.stat()  # a save within the same mtime tick still counts as a change
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))


def deployed(lambda_client, tree: Path, env: dict[str, str], timeout: int = 10) -> str:
    """The tree's function, deployed once as a package and a layer."""
    greeting = tree / "layers" / "common" / "python" / "greeting.py"
    layer = publish_layer(lambda_client, "greeting", zip_tree({"python/greeting.py": greeting}))
    name = f"hello-{uuid.uuid4().hex[:8]}"
    code = zip_tree({"app.py": tree / "functions" / "hello" / "app.py"})
    deploy_function(lambda_client, name, "app.handler", code, layers=[layer], timeout=timeout, env=env)
    return name


def test_a_save_runs_at_the_next_invoke_and_warm_runtimes_stay_warm(lambda_client, tree):
    name = deployed(lambda_client, tree, {CODE_ROOT_ENV: str(tree)})
    assert invoke(lambda_client, name)[0] == {"says": "hello v1"}
    payload, _, tail = invoke(lambda_client, name)
    assert "Init Duration" not in report_fields(tail), "no change: the runtime stays warm"
    write(tree / "functions" / "hello" / "app.py", HANDLER.format(body="pass", version="v2"))
    payload, _, tail = invoke(lambda_client, name)
    assert payload == {"says": "hello v2"} and "Init Duration" in report_fields(tail), "a cold start"
    write(tree / "layers" / "common" / "python" / "greeting.py", 'GREETING = "hi"\n')
    assert invoke(lambda_client, name)[0] == {"says": "hi v2"}, "the common layer is served too"


def spare_of(tree: Path, timeout: float = 15.0) -> int:
    """The pid of the runtime waiting for the tree's next reload, found in the process table."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for entry in Path("/proc").iterdir():
            try:
                argv = (entry / "cmdline").read_bytes().split(b"\0")
            except (OSError, ValueError):
                continue
            if argv[1:2] and argv[1].endswith(b"reload_spare.py") and str(tree).encode() in b" ".join(argv):
                return int(entry.name)
        time.sleep(0.1)
    raise AssertionError(f"no spare runtime for {tree} within {timeout} s")


# colorsys: a module nothing but this code imports, so only the spare has it before the handler
AHEAD = """import os
import sys

AHEAD = "colorsys" in sys.modules
import colorsys  # noqa: E402


def handler(event, context):
    return {{"pid": os.getpid(), "ahead": AHEAD, "says": "{version}"}}
"""


def test_a_reload_runs_in_the_runtime_that_waited_with_the_dependencies_imported(lambda_client, tree):
    write(tree / "functions" / "hello" / "app.py", AHEAD.format(version="v1"))
    name = deployed(lambda_client, tree, {CODE_ROOT_ENV: str(tree)})
    first = invoke(lambda_client, name)[0]
    assert first["ahead"] is False, "a first cold start imports everything itself"
    waiting = spare_of(tree)  # started once the first Init was over
    write(tree / "functions" / "hello" / "app.py", AHEAD.format(version="v2"))
    second = invoke(lambda_client, name)[0]
    assert second["says"] == "v2" and second["pid"] == waiting, "the reload ran in the spare that waited"
    assert second["ahead"] is True, "the code's own imports were imported ahead"


def test_a_syntax_error_is_lambdas_error_and_the_next_save_heals_it(lambda_client, tree):
    name = deployed(lambda_client, tree, {CODE_ROOT_ENV: str(tree)})
    invoke(lambda_client, name)
    write(tree / "functions" / "hello" / "app.py", "def handler(event, context:\n    return 1\n")
    payload, error, tail = invoke(lambda_client, name)
    assert error and payload["errorType"] == "Runtime.UserCodeSyntaxError"
    assert "app.py" in payload["errorMessage"] and "line 1" in payload["errorMessage"]
    assert "Runtime.UserCodeSyntaxError" in tail, "the error is in the logs too"
    write(tree / "functions" / "hello" / "app.py", HANDLER.format(body="pass", version="v3"))
    assert invoke(lambda_client, name)[0] == {"says": "hello v3"}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_a_debugger_stops_at_a_breakpoint_and_the_invoke_outlives_the_timeout(lambda_client, tree):
    write(tree / "functions" / "hello" / "app.py", HANDLER.format(body="total = 1 + 1", version="v4"))
    port = free_port()
    env = {CODE_ROOT_ENV: str(tree), DEBUG_PORT_ENV: str(port), DEBUG_WAIT_ENV: "1"}
    name = deployed(lambda_client, tree, env, timeout=2)
    answer: dict = {}

    def call() -> None:
        answer.update(zip(("payload", "error", "tail"), invoke(lambda_client, name), strict=True))

    invoking = threading.Thread(target=call)
    invoking.start()
    debugger = DebugClient(port)
    try:
        debugger.attach_with_breakpoint(str(tree / "functions" / "hello" / "app.py"), 4)
        stopped = debugger.wait_for("event", "stopped")
        assert stopped["body"]["reason"] == "breakpoint"
        time.sleep(3)  # held past the function's 2 s Timeout
        debugger.send("continue", threadId=stopped["body"]["threadId"])
        invoking.join(30)
    finally:
        debugger.close()
    assert answer["error"] is None and answer["payload"] == {"says": "hello v4"}, json.dumps(answer)[:500]
