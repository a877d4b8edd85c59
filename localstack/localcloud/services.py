"""The three local services, as ManagedProcesses built from the Settings."""

from __future__ import annotations

import os
import shutil
import sys
import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from lambda_process_executor import confinement, interpreters
from localcloud import http
from localcloud.processes import ManagedProcess, ServiceError, read_pid_file, stop_pid
from localcloud.settings import PROJECT_ROOT, Settings

SPOTLIGHT_DIR = PROJECT_ROOT / "localstack" / "spotlight"


def http_answers(url: str, expect: bytes | None = None) -> bool:
    return bool(http.answers(url, expect))


def cors_allows(url: str, origin: str) -> bool:
    """Whether a browser page at ``origin`` may POST to ``url`` (a CORS preflight)."""
    try:
        reply = http.request(
            url, "OPTIONS", headers={"Origin": origin, "Access-Control-Request-Method": "POST"}, timeout=2
        )
    except OSError:
        return False
    return reply.status < 400 and reply.headers.get("Access-Control-Allow-Origin") in (origin, "*")


def mongo_client(uri: str, timeout_ms: int = 5000) -> Any:
    """The tools' MongoDB client (the functions have their own factory in slot_common.mongo)."""
    from pymongo import MongoClient

    client: MongoClient[dict[str, Any]] = MongoClient(
        uri, serverSelectionTimeoutMS=timeout_ms, connectTimeoutMS=timeout_ms
    )
    return client


def mongo_answers(uri: str) -> bool:
    """Whether a MongoDB answers at ``uri`` (False too while its TLS files do not exist yet)."""
    from pymongo.errors import PyMongoError

    try:
        client = mongo_client(uri, timeout_ms=500)
    except (PyMongoError, OSError):
        return False
    try:
        client.admin.command("ping")
        return True
    except PyMongoError:
        return False
    finally:
        client.close()


def _base_env() -> dict[str, str]:
    """A clean environment: nothing of the caller's virtualenv or AWS profile leaks in."""
    keep = ("PATH", "HOME", "LANG", "LC_ALL", "TZ")
    env = {key: os.environ[key] for key in keep if key in os.environ}
    env.pop("VIRTUAL_ENV", None)
    return env


def localstack(settings: Settings, extra_env: dict[str, str] | None = None) -> ManagedProcess:
    """LocalStack with our executor; ``extra_env`` adds LocalStack settings (tests use it)."""
    root = settings.local_dir / "localstack"
    env = (
        _base_env()
        | {
            "GATEWAY_LISTEN": f"127.0.0.1:{settings.localstack_port}",
            # hypercorn honours the host of GATEWAY_LISTEN (twisted binds 0.0.0.0)
            "GATEWAY_SERVER": "hypercorn",
            "DNS_ADDRESS": "0",
            "SKIP_SSL_CERT_DOWNLOAD": "1",
            "DISABLE_EVENTS": "1",
            # the machine has /.dockerenv; LocalStack must not believe it runs in its container
            "OVERRIDE_IN_DOCKER": "0",
            "FILESYSTEM_ROOT": str(root / "filesystem"),
            "TMPDIR": str(root / "tmp"),
            "AWS_ACCESS_KEY_ID": "test",
            "AWS_SECRET_ACCESS_KEY": "test",
            "AWS_DEFAULT_REGION": settings.region,
            "LAMBDA_RUNTIME_EXECUTOR": "process",
            "LAMBDA_PROCESS_EXECUTOR_DIR": str(settings.lambda_envs_dir),
            "LAMBDA_KEEPALIVE_MS": str(settings.lambda_keepalive_ms),
            # debugpy for `make debug`, outside the runtime's own environment
            "LOCAL_LAMBDA_DEBUGPY": str(settings.debugpy_dir),
        }
        | {interpreters.setting_name(runtime): python for runtime, python in settings.lambda_pythons.items()}
        | settings.capacity.localstack_environment()
        | (extra_env or {})
    )
    for folder in ("filesystem", "tmp"):
        (root / folder).mkdir(parents=True, exist_ok=True)
    return ManagedProcess(
        name="localstack",
        command=[str(settings.localstack_python), "-m", "localstack.runtime.main"],
        env=env,
        cwd=root,
        run_dir=settings.local_dir / "run",
        ready=lambda: http_answers(f"{settings.localstack_url}/_localstack/health", b'"lambda"'),
        start_timeout=90,
        stop_timeout=15,
        explicit_hint="LOCALSTACK_ENDPOINT=http://127.0.0.1:<port> uses it as it is",
        after_stop=lambda: stop_lambda_environments(settings),
    )


def stop_lambda_environments(settings: Settings) -> int:
    """Stops every execution environment the executor left behind: its cgroup cells first (a
    frozen runtime must be thawed to die), then by its PID files."""
    confinement.sweep_dead_instances(Path(settings.capacity.cgroup_root), settings.lambda_envs_dir)
    stopped = 0
    for pid_file in sorted(settings.lambda_envs_dir.glob("envs/*/*.pid")):
        pid = read_pid_file(pid_file)
        if pid is not None:
            stop_pid(pid, timeout=2)
            stopped += 1
    shutil.rmtree(settings.lambda_envs_dir / "envs", ignore_errors=True)
    return stopped


def mongo(settings: Settings) -> ManagedProcess:
    """SecantusDB with SCRAM-SHA-256 and TLS; the user is provisioned before its first start."""
    data = settings.local_dir / "mongo" / "data"
    data.mkdir(parents=True, exist_ok=True)
    security = settings.mongo_secrets
    server = [
        str(Path(sys.executable).parent / "secantusd-py"),
        "--host", "127.0.0.1",
        "--port", str(settings.mongo_port),
        "--storage-path", str(data),
        *security.server_arguments(),
    ]  # fmt: skip
    run_dir = settings.local_dir / "run"

    def prepare() -> None:
        security.ensure_files()
        run_dir.mkdir(parents=True, exist_ok=True)
        security.provision(server, settings.mongo_port, run_dir / "mongo.log")

    return ManagedProcess(
        name="mongo",
        command=[*server, "--auth"],
        prepare=prepare,
        env=_base_env(),
        cwd=settings.local_dir,
        run_dir=settings.local_dir / "run",
        ready=lambda: mongo_answers(settings.effective_mongodb_uri),
        start_timeout=30,
        explicit_hint="MONGODB_URI=mongodb://127.0.0.1:<port>/ uses it as it is (the demo data goes into it)",
    )


def spotlight(settings: Settings) -> ManagedProcess:
    env = _base_env() | {
        "SPOTLIGHT_HOST": "127.0.0.1",
        "SPOTLIGHT_PORT": str(settings.spotlight_port),
        # origins (or exact host names) of pages that may send browser envelopes here
        "SPOTLIGHT_ALLOWED_ORIGINS": ",".join(settings.spotlight_allowed_origins),
        "NODE_ENV": "production",
    }
    return ManagedProcess(
        name="spotlight",
        command=["node", str(SPOTLIGHT_DIR / "server.mjs")],
        env=env,
        cwd=SPOTLIGHT_DIR,
        run_dir=settings.local_dir / "run",
        ready=lambda: http_answers(f"{settings.spotlight_url}/health", b"OK"),
        start_timeout=30,
        explicit_hint="SPOTLIGHT_URL=http://127.0.0.1:<port> uses it as it is",
    )


EXTERNAL = {  # the variable that names a server of each kind that make does not run
    "mongo": "MONGODB_URI",
    "localstack": "LOCALSTACK_ENDPOINT",
    "spotlight": "SPOTLIGHT_URL",
}


def all_services(settings: Settings) -> dict[str, ManagedProcess]:
    """The services make runs (make down stops them in reverse order); one named explicitly
    (EXTERNAL) is left out."""
    named = {
        "mongo": settings.mongodb_uri,
        "localstack": settings.localstack_endpoint,
        "spotlight": settings.spotlight_endpoint,
    }
    makers = {"mongo": mongo, "localstack": localstack, "spotlight": spotlight}
    return {name: make(settings) for name, make in makers.items() if not named[name]}


def start_all(services: Mapping[str, ManagedProcess]) -> dict[str, tuple[str | ServiceError, float]]:
    """Starts the services at once, each as ManagedProcess.start would: the wait is the slowest
    one's (MongoDB's first start, which restarts it to provision its user), not the sum.
    Returns, in the given order, each one's state or error and the seconds it took."""

    def start(service: ManagedProcess) -> tuple[str | ServiceError, float]:
        started = time.monotonic()
        try:
            outcome: str | ServiceError = service.start()
        except ServiceError as error:
            outcome = error
        except Exception as error:  # e.g. its program is missing: the others still count
            outcome = ServiceError(f"{service.name}: {error}")
        return outcome, time.monotonic() - started

    if not services:
        return {}
    with ThreadPoolExecutor(len(services)) as pool:
        futures = {name: pool.submit(start, service) for name, service in services.items()}
        return {name: future.result() for name, future in futures.items()}
