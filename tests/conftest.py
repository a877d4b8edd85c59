"""Session-wide local services for the tests, isolated from a developer's running stack.

The tests start their own LocalStack, MongoDB server and Spotlight on other ports and under
``.local/test-cloud``, each on first use, and stop them by PID at the end of the session;
then they check that no process of theirs (services or Lambda environments) is left.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from typing import Any
from unittest import mock

import pytest

from lambda_process_executor import procfs
from lambda_process_executor.capacity import SURPLUS_IDLE_SECONDS_ENV, CapacitySettings
from localcloud import census
from localcloud.processes import ManagedProcess, ServiceError, process_start_time, read_pid_file
from localcloud.services import localstack, mongo, spotlight, start_all
from localcloud.settings import PROJECT_ROOT, Settings

# `make test` runs files on parallel workers (pytest-xdist, --dist loadfile): each worker has
# services of its own, on ports WORKER_PORT_STEP apart and in a state folder of its own (named
# so that no worker's folder is a prefix of another's: the leftover check matches by path).
WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")
WORKER_PORT_STEP = 100
_OFFSET = WORKER_PORT_STEP * int(WORKER.removeprefix("gw") or 0)

TEST_SETTINGS = Settings(
    local_dir=PROJECT_ROOT / ".local" / (f"test-{WORKER}-cloud" if WORKER else "test-cloud"),
    localstack_port=int(os.environ.get("TEST_LOCALSTACK_PORT", "4599")) + _OFFSET,
    mongo_port=int(os.environ.get("TEST_MONGO_PORT", "27099")) + _OFFSET,
    spotlight_port=int(os.environ.get("TEST_SPOTLIGHT_PORT", "8999")) + _OFFSET,
    mongodb_uri=None,
    # short: the many functions the tests create do not keep a runtime each for 10 minutes
    lambda_keepalive_ms=int(os.environ.get("TEST_LAMBDA_KEEPALIVE_MS", "20000")),
    # a burst's surplus runtimes go after 10 s idle, not 30: the crowd test waits for its memory
    # to come back (test_capacity pins the reaping itself on a LocalStack of its own)
    capacity=CapacitySettings.from_env({SURPLUS_IDLE_SECONDS_ENV: "10"} | dict(os.environ)),
)


# The files that take longest (pytest --durations, summed per file), longest first. `make test`
# passes --no-loadscope-reorder, so xdist hands whole files to the workers in this order (by
# default it orders them by their number of tests, which put these hour-glass files last and
# left one worker running them alone): the longest first, then the rest, keeps the two
# workers' totals within a file's length of each other.
LONGEST_FIRST = (
    "tests/browser/test_debug_page.py",
    "tests/deployment/test_deploy_aws.py",
    "tests/deployment/test_deployed_stack.py",
    "tests/scenarios/test_make_scenarios.py",
    "tests/reliability/test_restart.py",
    "tests/localcloud/test_lambda_executor.py",
    "tests/reliability/test_load_and_faults.py",
    "tests/localcloud/test_capacity.py",
    "tests/localcloud/test_sentry_relay.py",
    "tests/deployment/test_transaction_names_deployed.py",
    "tests/localcloud/test_services.py",
)


# Files that mostly wait, on a worker of their own when `make test` runs three (the SAM CLI's
# fixed polls: tests/support/scheduling.py); the two other workers take every other file.
OWN_WORKER = ("tests/deployment/test_deploy_aws.py",)


def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """--dist loadfile with three workers or more: OWN_WORKER's files run on the last one alone."""
    workers = config.getoption("numprocesses", None)
    if config.getoption("dist", None) == "loadfile" and isinstance(workers, int) and workers >= 3:
        from tests.support.scheduling import OwnWorkerScheduling

        return OwnWorkerScheduling(config, log, OWN_WORKER)
    return None


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    rank = {path: index for index, path in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.nodeid.split("::", 1)[0], len(LONGEST_FIRST)))


class SessionServices:
    """The tests' own services: each started on first use, those a fixture needs together at
    once (start_all), and every one stopped by its PID at the session's end, newest first; then
    neither it nor (for LocalStack) any of its Lambda environments may be left."""

    MAKERS = {"mongo": mongo, "localstack": localstack, "spotlight": spotlight}

    def __init__(self) -> None:
        self.running: dict[str, tuple[ManagedProcess, int | None]] = {}

    def ensure(self, *names: str) -> None:
        wanted = {name: self.MAKERS[name](TEST_SETTINGS) for name in names if name not in self.running}
        outcomes = start_all(wanted)
        for name, (state, _seconds) in outcomes.items():
            if state == "started":
                self.running[name] = (wanted[name], wanted[name].pid())
        for name, (state, _seconds) in outcomes.items():
            assert state == "started", f"{name} for the tests must be our own process, got: {state}"

    def stop_all(self) -> None:
        alive = []
        for name, (service, pid) in reversed(list(self.running.items())):
            leftovers = []
            if name == "localstack":  # its Lambda environments must go with it
                pid_files = TEST_SETTINGS.lambda_envs_dir.glob("envs/*/*.pid")
                leftovers = [(f.parent.name, read_pid_file(f)) for f in pid_files]
            try:
                service.stop()
            except ServiceError as error:  # the others are still stopped
                alive.append(f"{name}: {error}")
            alive += [f"{name} pid {pid}"] if pid and process_start_time(pid) else []
            alive += [f"lambda environment {env} pid {p}" for env, p in leftovers
                      if p and process_start_time(p)]  # fmt: skip
        self.running.clear()
        assert not alive, f"processes left after stopping the services: {alive}"


@pytest.fixture(scope="session", autouse=True)
def nothing_left_behind() -> Iterator[None]:
    """After every other session fixture has stopped what it started: the real process tree
    holds no descendant of this test session and no process running in, or naming, the tests'
    state folder; and the cgroup tree holds no runtime cell of an owner that is gone (or of this
    session)."""
    yield
    deadline = time.monotonic() + 10  # stopped processes may still be exiting
    while True:
        children = procfs.descendants(os.getpid())
        in_state = census.processes_in(TEST_SETTINGS.local_dir)
        cgroups = census.orphaned_cgroups()
        if not (children or in_state or cgroups) or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    described = [f"{pid}: {' '.join(procfs.command_line(pid))[:120]}" for pid in {*children, *in_state}]
    assert not described, "processes left by the tests:\n" + "\n".join(described)
    assert not cgroups, "cgroups left by the tests:\n" + "\n".join(map(str, cgroups))


@pytest.fixture(scope="session")
def cloud_settings() -> Settings:
    return TEST_SETTINGS


@pytest.fixture(scope="session")
def session_services() -> Iterator[SessionServices]:
    services = SessionServices()
    try:
        yield services
    finally:
        services.stop_all()


@pytest.fixture(scope="session")
def localstack_server(session_services) -> Settings:
    """A real LocalStack with the process executor, started for this test session."""
    session_services.ensure("localstack")
    return TEST_SETTINGS


@pytest.fixture(scope="session")
def mongo_server(session_services) -> str:
    """A real MongoDB wire-protocol server (SecantusDB) process; its URI."""
    session_services.ensure("mongo")
    return TEST_SETTINGS.effective_mongodb_uri


@pytest.fixture(scope="session")
def spotlight_server(session_services) -> str:
    """Spotlight for this test session; its base URL."""
    session_services.ensure("spotlight")
    return TEST_SETTINGS.spotlight_url


# The tests' stack runs a quicker CPU spike: primes below 300,000 (about 1 s at one vCPU, not
# 6). The tests pin what the spike shows (its spans, the two MemorySizes, the same numbers as its
# fix), not how long it takes: docs/benchmarks.md measures the demo's size. The timeout
# scenario's work has its own size (TIMEOUT_WORK_LIMIT), so it still runs into the Timeout.
# The game engine's Timeout is 8 s, not 15: the tests pin the kill, its warning 1.5 s before
# and the page's account of both, and wait for the timeout four times. A spin under the crowd
# test's 40 at once took up to 4 s here (its warning would come at 6.5 s; a spin past the
# Timeout is retried with its Idempotency-Key, which that test allows).
TEST_STACK_ENV = {"CPU_SPIKE_LIMIT": "300000", "GAME_ENGINE_TIMEOUT": "8"}


def deployed_timeout_s(deployment: Any, logical_id: str) -> int:
    """A deployed function's Timeout, as Lambda reports it (the stack's parameter applied)."""
    from localcloud import aws

    name = deployment.functions[logical_id]
    return aws.client(TEST_SETTINGS, "lambda").get_function_configuration(FunctionName=name)["Timeout"]


def deploy_test_stack(log=lambda _: None):
    """deploy-local's code, as the tests' stack is deployed (a redeploy that changes nothing too)."""
    from deploy.local import deploy_local
    from deploy.seed import SeedSize

    with mock.patch.dict(os.environ, TEST_STACK_ENV):
        return deploy_local(
            TEST_SETTINGS,
            name="slot-test",
            seed_size=SeedSize(users=10, history_per_user=400, games=10_000),
            log=log,
        )


@pytest.fixture(scope="session")
def deployed_stack(session_services):
    """The whole product deployed once per session to the test LocalStack (the services it
    needs and this worker has not started yet start at once)."""
    session_services.ensure("mongo", "localstack", "spotlight")
    return deploy_test_stack()
