"""`make debug FUNCTION=<logical id> [PORT=5678] [WAIT=1]`: attach a debugger to a deployed function.

The function's configuration gets LOCAL_LAMBDA_DEBUG_PORT (a configuration change: its next
invoke starts a new environment), and the executor starts that environment's runtime under
debugpy, listening on 127.0.0.1:PORT (with WAIT=1 it waits for the IDE before the function's
init), lifts the Timeout and keeps the function to one environment, as SAM CLI's `-d` does.
`make debug FUNCTION=<logical id> STOP=1` takes it off. docs/operations.md has the VS Code and
PyCharm configurations.
"""

from __future__ import annotations

import argparse
import json
import sys

from deploy.local import describe_deployment
from lambda_process_executor.code_source import DEBUG_PORT_ENV, DEBUG_WAIT_ENV
from localcloud import aws
from localcloud.settings import PROJECT_ROOT, Settings


def launch_configuration(port: int) -> dict:
    """VS Code's attach configuration. With hot reload (make watch) the runtime runs the working
    tree's files, so the workspace maps onto the project's own path."""
    return {
        "name": f"Attach to the local Lambda on {port}",
        "type": "debugpy",
        "request": "attach",
        "connect": {"host": "127.0.0.1", "port": port},
        "justMyCode": False,
        "pathMappings": [{"localRoot": "${workspaceFolder}", "remoteRoot": str(PROJECT_ROOT)}],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make debug", description=__doc__)
    parser.add_argument("function", help="logical id in template.yaml, e.g. UserServiceFunction")
    parser.add_argument("--port", type=int, default=5678)
    parser.add_argument("--wait", action="store_true", help="the runtime waits for the IDE before its init")
    parser.add_argument("--stop", action="store_true", help="take the debugger off the function")
    args = parser.parse_args(argv)
    if not 0 < args.port < 65536:
        parser.error(f"--port {args.port}: a TCP port (1-65535)")
    settings = Settings.from_env()
    deployment = describe_deployment(settings)
    if args.function not in deployment.functions:
        known = ", ".join(sorted(deployment.functions))
        parser.error(f"unknown FUNCTION {args.function!r}; the stack has: {known}")
    name = deployment.functions[args.function]
    lambda_client = aws.client(settings, "lambda")
    if args.stop:
        aws.update_function_environment(lambda_client, name, {DEBUG_PORT_ENV: "", DEBUG_WAIT_ENV: ""})
        print(f"{args.function}: no debugger; its next invoke starts a new environment")
        return 0
    changes = {DEBUG_PORT_ENV: str(args.port), DEBUG_WAIT_ENV: "1" if args.wait else ""}
    aws.update_function_environment(lambda_client, name, changes)
    print(
        f"{args.function} ({name}): its next invoke starts a runtime under debugpy on 127.0.0.1:{args.port}"
        f"{', waiting for the IDE before its init' if args.wait else ''}; Timeout lifted; one environment."
    )
    print("Attach your IDE (docs/operations.md, 'A debugger'); for VS Code, .vscode/launch.json:")
    print(json.dumps(launch_configuration(args.port), indent=2))
    print("Breakpoints in your files bind when the runtime runs them: deploy with hot reload (make watch).")
    print(f"Take it off: make debug FUNCTION={args.function} STOP=1")
    return 0


if __name__ == "__main__":
    sys.exit(main())
