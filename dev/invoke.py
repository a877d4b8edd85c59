"""`make invoke FUNCTION=<logical id> EVENT=events/<file>`: what `sam local invoke` does, without Docker.

The function runs from the template (handler, layers, environment, Timeout, MemorySize) in
the same runtime as on the LocalStack executor (lambda_process_executor.runtime: the real
runtime client in one process, the Runtime API served from this one). The response goes to
stdout, the function's log (with its REPORT line) to stderr, as sam does.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import shutil
import sys
import uuid
import zipfile
from pathlib import Path
from typing import Any

from deploy import build, template
from deploy.local import stack_name, stack_parameters
from lambda_process_executor import confinement
from lambda_process_executor.code_source import CODE_ROOT_ENV, DEBUG_PORT_ENV, DEBUG_WAIT_ENV, DEBUGPY_ENV
from lambda_process_executor.runtime import Invocation, RuntimeProcess, RuntimeSpec
from localcloud.settings import PROJECT_ROOT, Settings

WORK_DIR = PROJECT_ROOT / ".local" / "invoke"
LAYER_ARTIFACTS = {
    "DependenciesLayer": "dependencies-layer",
    "CommonLayer": "common-layer",
    "SentryRelayLayer": "sentry-relay-layer",
}


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


def unpacked_code(spec: template.FunctionSpec) -> tuple[Path, Path]:
    """(task root, the folder that plays /opt): the function's build and its layers, unzipped."""
    functions, layers = build.build_all(log=lambda _: None)
    by_name = {artifact.name: artifact for artifact in [*layers, *functions.values()]}
    code = functions[spec.code_uri.strip("/").split("/")[-1]]
    layer_files = [by_name[LAYER_ARTIFACTS[layer]].path for layer in spec.layers]
    opt_key = hashlib.sha256("".join(str(p) for p in layer_files).encode()).hexdigest()[:16]
    return _extract([code.path], WORK_DIR / code.path.stem), _extract(
        layer_files, WORK_DIR / f"opt-{opt_key}"
    )


def aws_environment(
    name: str, spec: template.FunctionSpec, settings: Settings, runtime_id: str
) -> dict[str, str]:
    """The variables AWS (and LocalStack) set for every function."""
    return {
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


def function_runtime(
    logical_id: str,
    settings: Settings,
    owner: confinement.Confinement,
    memory_mb: int | None = None,
    log=lambda line: print(line, file=sys.stderr),
    executor_env: dict[str, str] | None = None,
) -> tuple[RuntimeProcess, str]:
    """(a runtime of a template function, its ARN): not started, so its first invoke is cold.
    ``memory_mb`` replaces the template's MemorySize (power-tune)."""
    tpl = template.load()
    parameters = resolved_parameters(tpl, settings, stack_name())
    specs = template.functions(tpl, parameters)
    if logical_id not in specs:
        raise SystemExit(f"unknown FUNCTION {logical_id!r}; the template has: {', '.join(sorted(specs))}")
    spec = specs[logical_id]
    task_root, opt_dir = unpacked_code(spec)
    names = function_names(tpl, parameters)
    name, runtime_id = names[logical_id], uuid.uuid4().hex
    env = {key: _resolve(value, parameters, names) for key, value in spec.environment.items()}
    memory_mb = memory_mb or spec.memory_size
    runtime_spec = RuntimeSpec(
        handler=spec.handler,
        python=str(settings.lambda_python),
        task_root=str(task_root),
        opt_dir=str(opt_dir),
        timeout_seconds=float(spec.timeout),
        memory_mb=memory_mb,
        runtime=spec.runtime,
        env_vars=env
        | aws_environment(name, spec, settings, runtime_id)
        | {"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(memory_mb)}
        | (executor_env or {}),
    )
    log(f"invoke: {logical_id} ({name}), handler {spec.handler}")
    log(f"invoke: Timeout {spec.timeout} s, MemorySize {memory_mb} MB, layers {', '.join(spec.layers)}")
    runtime = RuntimeProcess(runtime_spec, WORK_DIR / f"env-{runtime_id[:12]}", runtime_id, owner)
    return runtime, f"arn:aws:lambda:{settings.region}:000000000000:function:{name}"


def invoke(
    logical_id: str,
    event: bytes,
    settings: Settings,
    log=lambda line: print(line, file=sys.stderr),
    executor_env: dict[str, str] | None = None,
) -> tuple[bytes, bool, str]:
    """(result, is_error, function log) of one cold invoke, in the executor's own runtime, with
    AWS's CPU share for the function's MemorySize; ``executor_env`` carries hot reload and the
    debugger's options (code_source.py)."""
    owner = confinement.for_owner(settings.capacity, WORK_DIR)
    log(f"invoke: {owner.describe()}")
    os.environ.setdefault(DEBUGPY_ENV, str(settings.debugpy_dir))
    runtime, arn = function_runtime(logical_id, settings, owner, log=log, executor_env=executor_env)
    try:
        result = runtime.invoke(Invocation(request_id=str(uuid.uuid4()), function_arn=arn, payload=event))
        rest = result.settle() if result.settle else ""  # extensions end the Invoke phase
        return result.payload, result.is_error, result.logs + rest
    finally:
        runtime.close()
        owner.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make invoke", description=__doc__)
    parser.add_argument("function", help="logical id in template.yaml, e.g. UserServiceFunction")
    parser.add_argument("event", help="event file, e.g. events/history-n-plus-one.json ('-' for stdin)")
    parser.add_argument(
        "--hot-reload", action="store_true", help="run the working tree's code, not the build"
    )
    parser.add_argument("--debug-port", type=int, default=0, help="run under debugpy on 127.0.0.1:PORT")
    parser.add_argument("--wait", action="store_true", help="with --debug-port: wait for the IDE first")
    args = parser.parse_args(argv)
    event = sys.stdin.buffer.read() if args.event == "-" else Path(args.event).read_bytes()
    executor_env = {CODE_ROOT_ENV: str(PROJECT_ROOT)} if args.hot_reload else {}
    if args.debug_port:
        executor_env |= {DEBUG_PORT_ENV: str(args.debug_port), DEBUG_WAIT_ENV: "1" if args.wait else ""}
    result, is_error, logs = invoke(args.function, event, Settings.from_env(), executor_env=executor_env)
    sys.stderr.write(logs)
    sys.stdout.write(result.decode(errors="replace") + "\n")
    return 1 if is_error else 0


if __name__ == "__main__":
    sys.exit(main())
