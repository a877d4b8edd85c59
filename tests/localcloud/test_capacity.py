"""The capacity model on a real LocalStack with real runtimes, checked in the process tree.

Each LocalStack here is this module's own, with small bounds so that a handful of invokes
fills them: at most 2 runtimes per function and 2 in all, surplus reaped after 2 s idle, the
warm one after an 8 s keep-alive (LAMBDA_KEEPALIVE_MS), and a 1 s environment start timeout
(LAMBDA_RUNTIME_ENVIRONMENT_TIMEOUT). A second one runs the AWS-like ``throttle`` mode. Every
count comes from ``localcloud.census``: processes found in /proc, not PID files.
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from lambda_process_executor import procfs
from lambda_process_executor.capacity import MODE_QUEUE, MODE_THROTTLE, CapacitySettings
from localcloud import census
from localcloud.aws import client
from localcloud.services import localstack
from localcloud.settings import PROJECT_ROOT, Settings
from tests.localcloud.lambdas import (
    deploy_function,
    function_zip,
    helper_layer_zip,
    invoke,
    proxy_api,
    publish_layer,
)

pytestmark = pytest.mark.localstack
KEEPALIVE_S = 8.0  # short, so that a test watches the warm runtime go too


def _settings(name: str, port: int, mode: str) -> Settings:
    return Settings(
        local_dir=PROJECT_ROOT / ".local" / name,
        localstack_port=port,
        mongo_port=1,
        spotlight_port=1,
        mongodb_uri=None,
        lambda_keepalive_ms=int(KEEPALIVE_S * 1000),
        capacity=CapacitySettings(
            max_per_function=2,
            max_total=2,
            warm_per_function=1,
            surplus_idle_seconds=2.0,
            keepalive_seconds=KEEPALIVE_S,
            mode=mode,
        ),
    )


def _run_localstack(settings: Settings) -> Iterator[Settings]:
    service = localstack(settings, {"LAMBDA_RUNTIME_ENVIRONMENT_TIMEOUT": "1"})
    assert service.start() == "started"
    try:
        yield settings
    finally:
        service.stop()
        left = census.take(settings.local_dir / "localstack", None)
        assert left.orphans == [], f"runtimes left after LocalStack stopped: {left.orphans}"


@pytest.fixture(scope="module")
def cloud() -> Iterator[Settings]:
    yield from _run_localstack(
        _settings("test-capacity", int(os.environ.get("TEST_CAPACITY_PORT", "4594")), MODE_QUEUE)
    )


@pytest.fixture(scope="module")
def throttled_cloud() -> Iterator[Settings]:
    yield from _run_localstack(
        _settings("test-throttle", int(os.environ.get("TEST_THROTTLE_PORT", "4593")), MODE_THROTTLE)
    )


def _lambda(settings: Settings):
    return client(settings, "lambda", config=Config(retries={"max_attempts": 1}, read_timeout=60))


@pytest.fixture(scope="module")
def layer(cloud) -> str:
    return publish_layer(_lambda(cloud), "helper", helper_layer_zip())


def _probe(settings: Settings, layer_arn: str, timeout: int = 10, memory: int = 128) -> str:
    name = f"probe-{uuid.uuid4().hex[:8]}"
    deploy_function(
        _lambda(settings),
        name,
        "probe.handler",
        function_zip("probe"),
        layers=[layer_arn],
        timeout=timeout,
        memory=memory,
    )
    return name


def _localstack_pid(settings: Settings) -> int:
    pid = procfs.read_pid_file(settings.local_dir / "run" / "localstack.pid")
    assert pid is not None
    return pid


def _runtimes_of(settings: Settings, function: str | None = None) -> census.Census:
    """The census, keeping only ``function``'s runtimes (its task root names it) if given."""
    now = census.take(
        settings.local_dir / "localstack", procfs.read_pid_file(settings.local_dir / "run" / "localstack.pid")
    )
    if function:
        now.runtimes = [pid for pid in now.runtimes if f"/{function}-" in procfs.working_directory(pid)]
    return now


class Watch:
    """Samples the census every 0.1 s in the background: the peak count (of ``function``'s
    runtimes if given) and every orphan."""

    def __init__(self, settings: Settings, function: str | None = None) -> None:
        self.settings, self.function, self.peak, self.orphans = settings, function, 0, set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.1):
            now = _runtimes_of(self.settings, self.function)
            self.peak = max(self.peak, now.count)
            self.orphans.update(now.orphans)

    def __enter__(self) -> Watch:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()


def _burst(settings: Settings, name: str, events: list[dict]) -> list[tuple]:
    lambda_client = _lambda(settings)
    with ThreadPoolExecutor(len(events)) as pool:
        return list(
            pool.map(
                lambda event: (time.monotonic(), *invoke(lambda_client, name, event), time.monotonic()),
                events,
            )
        )


def test_a_burst_runs_no_more_runtimes_than_the_bound_and_all_are_served(cloud, layer):
    name = _probe(cloud, layer)
    with Watch(cloud, name) as watch:
        results = _burst(cloud, name, [{"busy_seconds": 0.3}] * 10)
    assert [error for _, _, error, _, _ in results] == [None] * 10, results
    assert len({payload["pid"] for _, payload, _, _, _ in results}) <= 2
    assert 1 <= watch.peak <= 2, f"{watch.peak} runtimes at once"
    assert watch.orphans == set()


def test_surplus_runtimes_are_reaped_soon_after_the_burst_and_the_warm_one_after_its_keepalive(cloud, layer):
    name = _probe(cloud, layer)
    answered = max(ended for *_, ended in _burst(cloud, name, [{"busy_seconds": 0.8}] * 4))
    assert _runtimes_of(cloud, name).count == 2
    deadline = time.monotonic() + 10
    while _runtimes_of(cloud, name).count > 1:
        assert time.monotonic() < deadline, "the surplus runtime outlived 2 s of idle by 8 s"
        time.sleep(0.2)
    time.sleep(1)
    assert _runtimes_of(cloud, name).count == 1, "the warm one stays until the keep-alive"
    while _runtimes_of(cloud, name).count:
        idle = time.monotonic() - answered
        assert idle < KEEPALIVE_S + 10, f"the warm runtime outlived its {KEEPALIVE_S:g} s keep-alive by 10 s"
        time.sleep(0.2)
    assert time.monotonic() - answered >= KEEPALIVE_S - 0.5, "the warm runtime went before its keep-alive"


def test_an_invoke_waits_for_a_runtime_no_longer_than_its_timeout(cloud, layer):
    """The first pair frees its runtimes 2 s before the later ones' 6 s wait runs out, and the
    pair that takes them ends 2 s after it: a margin either way for a machine that runs another
    test worker (1.2 s was eaten once). A vCPU (1,769 MB) keeps the answer's own cost out of
    that margin (at 128 MB the runtime gets 7 % of a CPU for the work after the busy loop)."""
    name = _probe(cloud, layer, timeout=6, memory=1769)
    lambda_client = _lambda(cloud)
    invoke(lambda_client, name)  # cold start out of the way

    def timed(event: dict) -> tuple:
        return (*invoke(lambda_client, name, event), time.monotonic())

    with ThreadPoolExecutor(6) as pool:
        first = [pool.submit(invoke, lambda_client, name, {"busy_seconds": 4.0}) for _ in range(2)]
        time.sleep(0.2)
        started = time.monotonic()
        later = [pool.submit(timed, {"busy_seconds": 4.0}) for _ in range(4)]
        outcomes = [future.result() for future in later]
    assert [f.result()[1] for f in first] == [None, None]
    exhausted = [
        (payload, ended - started)
        for payload, error, _, ended in outcomes
        if error and payload["errorType"] == "Local.CapacityExhausted"
    ]
    assert len([1 for _, error, _, _ in outcomes if error is None]) == 2, outcomes
    assert len(exhausted) == 2, outcomes
    assert "LOCAL_LAMBDA_MAX_PER_FUNCTION" in exhausted[0][0]["errorMessage"]
    assert all(waited < 6 + 2 for _, waited in exhausted), "refused once its Timeout passed, not later"


def test_nested_invokes_finish_when_callers_fill_the_pool(cloud, layer):
    callee = _probe(cloud, layer)
    caller = f"caller-{uuid.uuid4().hex[:8]}"
    deploy_function(_lambda(cloud), caller, "caller.handler", function_zip("caller"), timeout=20)
    with Watch(cloud) as watch:
        results = _burst(cloud, caller, [{"callee": callee, "payload": {"busy_seconds": 0.3}}] * 4)
    for _, payload, error, _, _ in results:
        assert error is None and payload["callee_error"] is None, payload
    assert watch.peak == 3, "two callers fill the total; the callee runs one over it instead of deadlocking"


def test_a_burst_with_a_tiny_start_timeout_leaves_no_orphan(cloud, layer):
    """LocalStack's environment start timer is 1 s here: starts that lose the race must not
    leave a process (environments start none; runtimes belong to the pool)."""
    name = _probe(cloud, layer)
    with Watch(cloud, name) as watch:
        _burst(cloud, name, [{"busy_seconds": 0.1}] * 16)
    assert watch.orphans == set() and watch.peak <= 2
    assert _runtimes_of(cloud).orphans == []


def test_deleting_a_function_while_it_runs_leaves_no_process(cloud, layer):
    name = _probe(cloud, layer, timeout=20)
    lambda_client = _lambda(cloud)
    with ThreadPoolExecutor(1) as pool:
        running = pool.submit(invoke, lambda_client, name, {"busy_seconds": 15})
        deadline = time.monotonic() + 10
        while _runtimes_of(cloud, name).count == 0:
            assert time.monotonic() < deadline
            time.sleep(0.1)
        lambda_client.delete_function(FunctionName=name)
        deadline = time.monotonic() + 10
        while _runtimes_of(cloud, name).count:
            assert time.monotonic() < deadline, "the deleted function's runtime is still running"
            time.sleep(0.2)
        running.result(timeout=30)


def test_killing_localstack_takes_every_runtime_and_cgroup_with_it(cloud, layer):
    """Last in this module: it kills the module's LocalStack (kill -9, no clean-up of ours),
    with one runtime busy and one frozen between invokes."""
    name = _probe(cloud, layer, timeout=30)
    lambda_client = _lambda(cloud)
    pool = ThreadPoolExecutor(1)
    pool.submit(invoke, lambda_client, name, {"busy_seconds": 25})
    deadline = time.monotonic() + 15
    while _runtimes_of(cloud, name).count < 1:
        assert time.monotonic() < deadline
        time.sleep(0.1)
    invoke(lambda_client, name, {})  # a second runtime, frozen once it has answered
    runtimes = _runtimes_of(cloud, name).runtimes
    assert len(runtimes) == 2 and census.cgroups_of(cloud.lambda_envs_dir)
    os.kill(_localstack_pid(cloud), signal.SIGKILL)
    deadline = time.monotonic() + 10
    while any(procfs.process_start_time(pid) for pid in runtimes) or census.cgroups_of(cloud.lambda_envs_dir):
        assert time.monotonic() < deadline, (
            f"runtimes {[p for p in runtimes if procfs.process_start_time(p)]} or cgroups "
            f"{census.cgroups_of(cloud.lambda_envs_dir)} outlived LocalStack"
        )
        time.sleep(0.1)
    assert census.take(cloud.local_dir / "localstack", None).orphans == []
    pool.shutdown(wait=True, cancel_futures=True)


def _get(url: str) -> tuple[int, bytes]:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url, timeout=60) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def test_throttle_mode_refuses_excess_invokes_as_aws_does(throttled_cloud):
    layer_arn = publish_layer(_lambda(throttled_cloud), "helper", helper_layer_zip())
    name = _probe(throttled_cloud, layer_arn)
    lambda_client = _lambda(throttled_cloud)

    def direct(_: int) -> str:
        try:
            return invoke(lambda_client, name, {"busy_seconds": 1.5})[1] or "ok"
        except ClientError as error:
            return error.response["Error"]["Code"]

    with Watch(throttled_cloud, name) as watch, ThreadPoolExecutor(6) as pool:
        outcomes = list(pool.map(direct, range(6)))
    assert outcomes.count("ok") >= 1 and outcomes.count("TooManyRequestsException") >= 1, outcomes
    assert set(outcomes) <= {"ok", "TooManyRequestsException"}
    assert watch.peak <= 2

    arn = lambda_client.get_function(FunctionName=name)["Configuration"]["FunctionArn"]
    apigw = client(throttled_cloud, "apigateway")
    lambda_client.update_function_configuration(FunctionName=name, Handler="probe.api_handler")
    lambda_client.get_waiter("function_updated_v2").wait(FunctionName=name)
    api_id = proxy_api(apigw, name, arn)
    url = f"{throttled_cloud.localstack_url}/_aws/execute-api/{api_id}/test/busy?busy=1.5"
    with ThreadPoolExecutor(6) as pool:
        answers = list(pool.map(lambda _: _get(url), range(6)))
    statuses = sorted(status for status, _ in answers)
    assert 200 in statuses and 500 in statuses and 502 not in statuses, statuses
    throttled = next(body for status, body in answers if status == 500)
    assert json.loads(throttled) == {"message": "Internal server error"}
