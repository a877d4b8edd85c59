"""The environment a function process sees: AWS's variables, with real paths for a host.

Standard library only: LocalStack's executor and ``make invoke`` both use it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from lambda_process_executor.code_source import VARIABLES as EXECUTOR_VARIABLES

# LocalStack's own plumbing between it and its init: the function never sees these on AWS.
INIT_ONLY_VARIABLES = {
    "LOCALSTACK_RUNTIME_ID",
    "LOCALSTACK_RUNTIME_ENDPOINT",
    "LOCALSTACK_FUNCTION_ACCOUNT_ID",
    "LOCALSTACK_CHMOD_PATHS",
    "LOCALSTACK_USER",
    "LOCALSTACK_INIT_LOG_LEVEL",
    "LOCALSTACK_POST_INVOKE_WAIT_MS",
    "LOCALSTACK_MAX_PAYLOAD_SIZE",
    "AWS_LAMBDA_FUNCTION_TIMEOUT",
}


class UnsupportedRuntimeError(ValueError):
    pass


def python_tag(runtime: str) -> str:
    """``python3.13`` -> ``python3.13``: the folder name under ``/opt/python/lib``."""
    if not runtime or not runtime.startswith("python"):
        raise UnsupportedRuntimeError(
            f"The process executor runs Python functions only; runtime {runtime!r} is not supported."
        )
    return runtime


def function_environment(
    env_vars: Mapping[str, object],
    *,
    runtime: str,
    runtime_python: str,
    task_root: Path,
    opt_dir: Path,
    runtime_api: str,
    tmp_dir: Path,
    extra_layer_paths: Sequence[Path] = (),
    after_runtime: Sequence[str] = (),
) -> dict[str, str]:
    """The variables the function sees: LocalStack's (AWS's names), paths made real."""
    tag = python_tag(runtime)
    hidden = INIT_ONLY_VARIABLES | EXECUTOR_VARIABLES
    env = {key: str(value) for key, value in env_vars.items() if key not in hidden}
    layers = "".join(f":{path}" for path in extra_layer_paths)  # the working tree's, before /opt
    env.update(
        {
            "LAMBDA_TASK_ROOT": str(task_root),
            "LAMBDA_RUNTIME_DIR": str(Path(runtime_python).parent.parent),
            "AWS_LAMBDA_RUNTIME_API": runtime_api,
            "AWS_EXECUTION_ENV": f"AWS_Lambda_{tag}",
            "PATH": f"{Path(runtime_python).parent}:/usr/local/bin:/usr/bin:/bin:{opt_dir}/bin",
            "LD_LIBRARY_PATH": f"{opt_dir}/lib",
            # AWS's import order: task root, then the layers, then the runtime's own packages
            "PYTHONPATH": f"{task_root}{layers}:{opt_dir}/python/lib/{tag}/site-packages:{opt_dir}/python"
            + "".join(f":{path}" for path in after_runtime),
            "LANG": "en_US.UTF-8",
            # AWS's bootstrap is a shell script that execs the runtime in the task root
            "PWD": str(task_root),
            "SHLVL": "0",
            # not AWS's: its /tmp is the environment's own; here /tmp is the host's, shared
            "TMPDIR": str(tmp_dir),
        }
    )
    return env
