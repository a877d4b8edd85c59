"""Reliability on the deployed test stack: concurrent spins lose nothing, MongoDB outages
answer 503 fast and recover, a killed environment is replaced."""

from __future__ import annotations

import json
import os
import signal
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from demo.cold_start import force_cold_start
from deploy.local import Deployment
from dev.logs import report_of
from lambda_process_executor import procfs
from localcloud import aws, census
from localcloud.services import mongo
from perf.load import run_load
from tests.conftest import TEST_SETTINGS

pytestmark = pytest.mark.localstack
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def get(url: str, method: str = "GET", body: dict | None = None) -> tuple[int, dict]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(
        url, data=data, method=method, headers={"Content-Type": "application/json"}
    )
    try:
        with _OPENER.open(request, timeout=60) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def retire_warm_environments(deployment: Deployment) -> None:
    """A configuration change of every function of the stack: the environments that earlier tests
    left warm go (a memory leak's holds up to its MemorySize until the keep-alive ends)."""
    lambda_client = aws.client(TEST_SETTINGS, "lambda")
    with ThreadPoolExecutor(len(deployment.functions)) as pool:
        list(pool.map(lambda name: force_cold_start(lambda_client, name), deployment.functions.values()))


def test_a_crowd_at_once_is_served_and_nothing_moves_in_silence(deployed_stack):
    """40 spins at once, each with its own key and up to 3 retries (make load's code), from
    fresh environments: the memory measured is the burst's, whatever ran on the stack before."""
    retire_warm_environments(deployed_stack)
    report = run_load(
        TEST_SETTINGS, deployed_stack, spins=40, concurrency=40, users=5, bet=2, settle_seconds=90
    )
    assert report.problems == [], report
    assert report.accepted == 40, "every spin answered 200 after retries"
    assert report.silent_spins == 0 and report.orphans_seen == 0
    capacity = TEST_SETTINGS.capacity
    assert 2 <= report.runtimes_peak <= capacity.max_total + 1, "bounded, with one callee over at most"
    assert report.runtimes_rss_peak_mb <= 1500, "function environments' memory under the burst"
    assert report.back_within_2x_idle_after_s is not None, "memory came back after the burst"


def test_mongodb_down_answers_503_fast_and_recovers_without_redeploy(deployed_stack, mongo_server):
    api = deployed_stack.api_url
    by_function = [  # UserServiceFunction, AnalyticsFunction, GameEngineFunction
        [("GET", f"{api}/api/v1/users/user_1/balance", None),
         ("GET", f"{api}/api/v1/users/user_1/history?mode=optimized", None)],
        [("GET", f"{api}/api/v1/analytics/player-metrics/user_1?mode=optimized", None),
         ("GET", f"{api}/api/v1/analytics/daily-stats?days=1&mode=optimized", None)],
        [("POST", f"{api}/api/v1/spin", {"user_id": "user_1", "bet": 1})],
    ]  # fmt: skip
    routes = [route for group in by_function for route in group]
    # one thread per function, its routes one after another: each call finds its function's one
    # warm environment (a concurrent second call would start a cold one), and the outage's 2 s
    # server selection timeouts are waited per function, not per route
    with ThreadPoolExecutor(len(by_function)) as pool:

        def each(call):
            """call(route) for every route, in the routes' order."""
            done = pool.map(lambda group: [call(route) for route in group], by_function)
            return [result for group in done for result in group]

        # warm: the environments exist with connected clients
        assert [status for status, _, _ in each(timed_get)] == [200] * len(routes)
        server = mongo(TEST_SETTINGS)
        server.stop()
        try:
            for (_, url, _), (status, answer, elapsed) in zip(routes, each(timed_get), strict=True):
                assert status == 503, (url, status, answer)
                assert answer["error"].startswith("database unavailable"), answer
                assert elapsed < 3.5, f"{url} took {elapsed:.1f} s"
        finally:
            assert server.start() == "started"
        # the drivers' monitors find the server again on their own
        for (method, url, body), status in zip(routes, each(recovered), strict=True):
            assert status == 200, (url, get(url, method, body))


def timed_get(route: tuple[str, str, dict | None]) -> tuple[int, dict, float]:
    method, url, body = route
    started = time.monotonic()
    status, answer = get(url, method, body)
    return status, answer, time.monotonic() - started


def recovered(route: tuple[str, str, dict | None], within_s: float = 15) -> int:
    """The route's status once it answers 200, or its last one after ``within_s``."""
    method, url, body = route
    deadline = time.monotonic() + within_s
    while (status := get(url, method, body)[0]) != 200 and time.monotonic() < deadline:
        time.sleep(0.5)
    return status


def test_a_killed_environment_is_replaced_by_a_cold_one(deployed_stack):
    lambda_client = aws.client(TEST_SETTINGS, "lambda")
    name = deployed_stack.functions["UserServiceFunction"]
    event = (Path(__file__).resolve().parents[2] / "events" / "balance.json").read_bytes()
    first = lambda_client.invoke(FunctionName=name, Payload=event)
    assert "FunctionError" not in first
    killed = [
        pid
        for pid in census.lambda_runtimes(TEST_SETTINGS.local_dir / "localstack")
        if f"/{name}-" in procfs.working_directory(pid)
    ]
    assert killed, "the function's runtime runs"
    for pid in killed:
        os.kill(pid, signal.SIGKILL)
    time.sleep(0.5)
    since_ms = int(time.time() * 1000) - 1000
    again = lambda_client.invoke(FunctionName=name, Payload=event, LogType="Tail")
    assert "FunctionError" not in again
    # its REPORT comes after the relay extension's Next, in CloudWatch Logs
    report = report_of(TEST_SETTINGS, name, again["ResponseMetadata"]["RequestId"], since_ms)
    assert "Init Duration" in report
