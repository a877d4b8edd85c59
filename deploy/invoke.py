"""`make invoke FUNCTION=<logical id> EVENT=events/<file>`: what `sam local invoke` does, without Docker.

The function runs from the template (handler, layers, environment, Timeout, MemorySize)
under the same init as the LocalStack executor (lambda_process_executor.runtime_init) and
the real runtime client. This command plays LocalStack's part: it receives the init's
ready / logs / result callbacks on a loopback port. The response goes to stdout, the
function's log (with its REPORT line) to stderr, as sam does.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import urllib.request
import uuid
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from deploy import build, template
from deploy.local import stack_name, stack_parameters
from localcloud.settings import PROJECT_ROOT, Settings

EXECUTOR_SOURCE = PROJECT_ROOT / "localstack" / "executor"
sys.path.insert(0, str(EXECUTOR_SOURCE))
from lambda_process_executor.environment import function_environment  # noqa: E402

WORK_DIR = PROJECT_ROOT / ".local" / "invoke"
LAYER_ARTIFACTS = {"DependenciesLayer": "dependencies-layer", "CommonLayer": "common-layer"}
_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class Callbacks:
    """LocalStack's side of the init protocol, for one invoke."""

    def __init__(self) -> None:
        self.ready = threading.Event()
        self.done = threading.Event()
        self.logs = ""
        self.result = b""
        self.is_error = False
        callbacks = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if self.path.endswith("/ready"):
                    callbacks.ready.set()
                elif self.path.endswith("/logs"):
                    callbacks.logs = json.loads(body)["logs"]
                elif self.path.endswith(("/response", "/error")):
                    callbacks.result, callbacks.is_error = body, self.path.endswith("/error")
                    callbacks.done.set()
                self.send_response(202)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/_local_lambda"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _resolve(value: Any, parameters: dict[str, str], names: dict[str, str]) -> str:
    """!Ref to a parameter or a function, !Sub with ${AWS::StackName}; literals as they are."""
    if isinstance(value, dict) and "Ref" in value:
        ref = value["Ref"]
        return parameters[ref] if ref in parameters else names[ref]
    if isinstance(value, dict) and "Fn::Sub" in value:
        return re.sub(r"\$\{([^}]+)\}", lambda m: {**parameters, **names}[m.group(1)], value["Fn::Sub"])
    return str(value)


def resolved_parameters(tpl: dict[str, Any], settings: Settings, stack: str) -> dict[str, str]:
    parameters = {name: str(spec.get("Default", "")) for name, spec in tpl.get("Parameters", {}).items()}
    parameters.update(stack_parameters(settings, stack))
    parameters.update(
        {"AWS::StackName": stack, "AWS::Region": settings.region, "AWS::AccountId": "000000000000"}
    )
    return parameters


def function_names(tpl: dict[str, Any], parameters: dict[str, str]) -> dict[str, str]:
    names = {}
    for logical_id, resource in tpl["Resources"].items():
        if resource["Type"] == "AWS::Serverless::Function":
            names[logical_id] = _resolve(
                resource["Properties"].get("FunctionName", logical_id), parameters, {}
            )
    return names


def _extract(archives: list[Path], target: Path) -> Path:
    """Unzips archives in order into ``target`` (later ones win, as layers in /opt), once."""
    if (target / ".complete").exists():
        return target
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    for archive in archives:
        with zipfile.ZipFile(archive) as content:
            content.extractall(target)
    (target / ".complete").touch()
    return target


def invoke(
    logical_id: str, event: bytes, settings: Settings, log=lambda line: print(line, file=sys.stderr)
) -> tuple[bytes, bool, str]:
    """(result, is_error, function log) of one cold invoke."""
    tpl = template.load()
    specs = template.functions(tpl)
    if logical_id not in specs:
        raise SystemExit(f"unknown FUNCTION {logical_id!r}; the template has: {', '.join(sorted(specs))}")
    spec = specs[logical_id]
    functions, layers = build.build_all(log=lambda _: None)
    by_name = {artifact.name: artifact for artifact in [*layers, *functions.values()]}
    code = functions[spec.code_uri.strip("/").split("/")[-1]]
    layer_files = [by_name[LAYER_ARTIFACTS[layer]].path for layer in spec.layers]
    task_root = _extract([code.path], WORK_DIR / code.path.stem)
    opt_key = hashlib.sha256("".join(str(p) for p in layer_files).encode()).hexdigest()[:16]
    opt_dir = _extract(layer_files, WORK_DIR / f"opt-{opt_key}")

    stack = stack_name()
    parameters = resolved_parameters(tpl, settings, stack)
    names = function_names(tpl, parameters)
    name = names[logical_id]
    env_dir = WORK_DIR / f"env-{uuid.uuid4().hex[:12]}"
    (env_dir / "tmp").mkdir(parents=True)
    callbacks = Callbacks()
    runtime_id = uuid.uuid4().hex
    port = _free_port()
    env = {key: _resolve(value, parameters, names) for key, value in spec.environment.items()}
    env.update(
        {
            "AWS_LAMBDA_FUNCTION_NAME": name,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory_size),
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
            "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{name}",
            "AWS_LAMBDA_LOG_STREAM_NAME": f"local/[$LATEST]{runtime_id}",
            "AWS_REGION": settings.region,
            "AWS_DEFAULT_REGION": settings.region,
            "AWS_ACCESS_KEY_ID": "test",
            "AWS_SECRET_ACCESS_KEY": "test",
            "AWS_ENDPOINT_URL": settings.localstack_url,
            "_HANDLER": spec.handler,
            "TZ": ":UTC",
        }
    )
    config = {
        "runtime_id": runtime_id,
        "runtime_endpoint": callbacks.endpoint,
        "port": port,
        "handler": spec.handler,
        "python": str(settings.lambda_python),
        "task_root": str(task_root),
        "opt_dir": str(opt_dir),
        "log_path": str(env_dir / "function.log"),
        "timeout_seconds": float(spec.timeout),
        "memory_mb": spec.memory_size,
        "runtime_version": spec.runtime.replace("python", "python:"),
        "function_env": function_environment(
            env,
            runtime=spec.runtime,
            runtime_python=str(settings.lambda_python),
            task_root=task_root,
            opt_dir=opt_dir,
            runtime_api=f"127.0.0.1:{port}",
            tmp_dir=env_dir / "tmp",
        ),
    }
    (env_dir / "init.json").write_text(json.dumps(config))
    log(f"invoke: {logical_id} ({name}), handler {spec.handler}")
    log(
        f"invoke: Timeout {spec.timeout} s, MemorySize {spec.memory_size} MB, layers {', '.join(spec.layers)}"
    )
    init = subprocess.Popen(
        [sys.executable, "-m", "lambda_process_executor.runtime_init", str(env_dir / "init.json")],
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": str(EXECUTOR_SOURCE)},
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        if not callbacks.ready.wait(60):
            raise SystemExit("the init did not become ready in 60 s")
        request = {
            "invoke-id": str(uuid.uuid4()),
            "invoked-function-arn": f"arn:aws:lambda:{settings.region}:000000000000:function:{name}",
            "payload": event.decode(),
            "trace-id": "",
        }
        _NO_PROXY.open(
            urllib.request.Request(
                f"http://127.0.0.1:{port}/invoke", data=json.dumps(request).encode(), method="POST"
            ),
            timeout=10,
        ).read()
        if not callbacks.done.wait(spec.timeout + 30):
            raise SystemExit("no result from the init")
        return callbacks.result, callbacks.is_error, callbacks.logs
    finally:
        init.terminate()
        try:
            init.wait(5)
        except subprocess.TimeoutExpired:
            init.kill()
            init.wait()
        callbacks.close()
        shutil.rmtree(env_dir, ignore_errors=True)


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make invoke", description=__doc__)
    parser.add_argument("function", help="logical id in template.yaml, e.g. UserServiceFunction")
    parser.add_argument("event", help="event file, e.g. events/history-n-plus-one.json ('-' for stdin)")
    args = parser.parse_args(argv)
    event = sys.stdin.buffer.read() if args.event == "-" else Path(args.event).read_bytes()
    result, is_error, logs = invoke(args.function, event, Settings.from_env())
    sys.stderr.write(logs)
    sys.stdout.write(result.decode(errors="replace") + "\n")
    return 1 if is_error else 0


if __name__ == "__main__":
    sys.exit(main())
