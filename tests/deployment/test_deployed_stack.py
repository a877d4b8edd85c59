"""The deployed stack on a real LocalStack: every route through API Gateway, the page, a
re-deploy that changes nothing, and make invoke."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from demo import spotlight as spotlight_feed
from demo.scenario_catalog import by_id
from demo.scenarios import Call, call
from dev import events
from dev.logs import read_logs
from localcloud.services import spotlight
from tests.conftest import TEST_SETTINGS, TEST_STACK_ENV, deploy_test_stack, deployed_timeout_s

pytestmark = pytest.mark.localstack
PROJECT = Path(__file__).resolve().parents[2]
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def request(url: str, method: str = "GET", body: object = None, headers: dict | None = None, timeout=60):
    data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
    headers = dict(headers or {})
    if data is not None:
        headers.setdefault("Content-Type", "application/json")
    try:
        with _OPENER.open(
            urllib.request.Request(url, data=data, method=method, headers=headers), timeout=timeout
        ) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def url_for(deployment, spec: events.EventSpec) -> str:
    path = re.sub(r"\{(\w+)\}", lambda m: spec.path_parameters[m.group(1)], spec.resource)
    query = "&".join(f"{k}={v}" for k, v in spec.query.items())
    return f"{deployment.api_url}{path}" + (f"?{query}" if query else "")


SLOW_OR_FATAL = {"timeout.json", "memory-leak.json", "cpu-spike.json"}


@pytest.mark.parametrize(
    "spec", [s for s in events.EVENTS if s.file not in SLOW_OR_FATAL], ids=lambda s: s.file
)
def test_every_route_answers_through_api_gateway(deployed_stack, spec):
    status, headers, body = request(url_for(deployed_stack, spec), spec.method, spec.body)
    assert status == 200, body[:500]
    assert json.loads(body)
    assert headers.get("X-Cold-Start") in ("true", "false")


PAIRS = [
    ("history-n-plus-one.json", "history-optimized.json"),
    ("player-metrics-five-queries.json", "player-metrics-one-aggregation.json"),
    ("daily-stats-slow.json", "daily-stats-indexed.json"),
    ("connection-churn.json", "balance.json"),
    ("cold-start-eager.json", "cold-start-lazy.json"),
]


@pytest.mark.parametrize(("slow", "fast"), PAIRS)
def test_each_fix_returns_the_same_body_as_its_anti_pattern(deployed_stack, slow, fast):
    by_file = {spec.file: spec for spec in events.EVENTS}
    answers = [
        request(url_for(deployed_stack, by_file[name]), by_file[name].method, by_file[name].body)
        for name in (slow, fast)
    ]
    assert answers[0][0] == answers[1][0] == 200
    assert json.loads(answers[0][2]) == json.loads(answers[1][2])


def test_cpu_spike_and_its_fix_compute_the_same_numbers(deployed_stack):
    bodies = []
    for mode in ("antipattern", "optimized"):
        status, _, body = request(
            f"{deployed_stack.api_url}/api/v1/spin?mode={mode}",
            "POST",
            {"user_id": "user_5", "bet": 1, "cpu_intensive": True},
        )
        assert status == 200, body
        bodies.append(json.loads(body)["cpu"])
    assert bodies[0] == bodies[1] and bodies[0]["primes_found"] > 0


def test_bad_input_through_api_gateway_is_4xx_json(deployed_stack):
    api = deployed_stack.api_url
    cases = [
        (f"{api}/api/v1/spin", "POST", b"{nope", 400),
        (f"{api}/api/v1/spin", "POST", {"user_id": "user_1", "bet": -1}, 400),
        (f"{api}/api/v1/spin", "POST", {"user_id": "ghost", "bet": 1}, 404),
        (f"{api}/api/v1/users/ghost/balance", "GET", None, 404),
        (f"{api}/api/v1/analytics/daily-stats?days=999", "GET", None, 400),
    ]
    for url, method, body, expected in cases:
        status, _, raw = request(url, method, body)
        assert status == expected, (url, raw)
        assert "error" in json.loads(raw)


def test_cors_allows_the_page_origin_and_sentrys_headers(deployed_stack):
    origin = deployed_stack.website_url.rstrip("/")
    status, headers, _ = request(
        f"{deployed_stack.api_url}/api/v1/spin",
        "OPTIONS",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "sentry-trace,baggage",
        },
    )
    assert status == 200
    assert headers["Access-Control-Allow-Origin"] == origin
    assert {"sentry-trace", "baggage"} <= set(headers["Access-Control-Allow-Headers"].lower().split(","))
    _, headers, _ = request(
        f"{deployed_stack.api_url}/api/v1/users/user_1/balance", headers={"Origin": origin}
    )
    assert headers.get("Access-Control-Allow-Origin") == origin


def test_the_page_is_served_by_the_website_endpoint_and_path_style(deployed_stack):
    host = deployed_stack.website_url.split("//", 1)[1].split("/", 1)[0]
    status, _headers, body = request(f"{TEST_SETTINGS.localstack_url}/", headers={"Host": host})
    assert status == 200 and b"Debug panel" in body
    status, _, config = request(f"{TEST_SETTINGS.localstack_url}/config.js", headers={"Host": host})
    assert status == 200 and deployed_stack.api_url.encode() in config
    status, _, body = request(deployed_stack.page_url)
    assert status == 200 and b"Debug panel" in body


def test_the_website_bucket_is_read_only_to_the_public(deployed_stack):
    host = deployed_stack.website_url.split("//", 1)[1].split("/", 1)[0]
    status, _, _ = request(
        f"{TEST_SETTINGS.localstack_url}/index.html", "PUT", b"defaced", headers={"Host": host}
    )
    assert status >= 400


def test_a_second_deploy_changes_nothing(deployed_stack):
    """A deploy right after a deploy changes nothing: the build is reproducible. (The one
    before it converges: tests before this one change the functions' configuration at run
    time, as the page's forced cold start does.)"""
    deploy_test_stack()
    viewer = spotlight(TEST_SETTINGS)
    before = viewer.pid()
    started = time.monotonic()
    again = deploy_test_stack()
    assert again.stack_change == "unchanged"
    assert viewer.pid() == before, "Spotlight (and every trace it holds) outlives a redeploy"
    assert again.api_id == deployed_stack.api_id
    assert time.monotonic() - started < 60


def test_make_invoke_runs_a_function_from_an_event_file(deployed_stack):
    env = os.environ | {
        "LOCALSTACK_PORT": str(TEST_SETTINGS.localstack_port),
        "MONGO_PORT": str(TEST_SETTINGS.mongo_port),
        "SPOTLIGHT_PORT": str(TEST_SETTINGS.spotlight_port),
        "STACK_NAME": "slot-test",
        "LOCAL_DIR": str(TEST_SETTINGS.local_dir),  # the test cloud's MongoDB credentials
    }
    result = subprocess.run(
        [sys.executable, "-m", "dev.invoke", "UserServiceFunction", "events/history-optimized.json"],
        cwd=PROJECT, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    response = json.loads(result.stdout)
    assert response["statusCode"] == 200 and len(json.loads(response["body"])["games"]) == 20
    assert re.search(r"REPORT RequestId: \S+\tDuration: [\d.]+ ms.*Init Duration", result.stderr)


def test_logs_of_a_function_show_its_report_lines(deployed_stack):
    request(f"{deployed_stack.api_url}/api/v1/users/user_1/balance")
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        lines = read_logs(TEST_SETTINGS, deployed_stack.functions["UserServiceFunction"])
        if any("REPORT RequestId" in line for line in lines):
            return
        time.sleep(0.5)
    raise AssertionError("no REPORT line in the user service's logs")


@pytest.fixture(scope="module")
def timed_out(deployed_stack) -> Call:
    """One run of the timeout scenario, in a trace of its own, read by the two tests below."""
    return call(deployed_stack.api_url, by_id("timeout").antipattern, timeout=120)


def test_timeout_scenario_is_killed_at_the_timeout_and_the_next_call_works(deployed_stack, timed_out):
    timeout_s = deployed_timeout_s(deployed_stack, "GameEngineFunction")
    assert timeout_s == int(TEST_STACK_ENV["GAME_ENGINE_TIMEOUT"]), "the stack's GameEngineTimeout"
    assert timed_out.status >= 500
    assert timeout_s - 1 < timed_out.duration_ms / 1000 < timeout_s + 25
    lines = read_logs(TEST_SETTINGS, deployed_stack.functions["GameEngineFunction"])
    assert any(f"Task timed out after {timeout_s:.2f} seconds" in line for line in lines)
    status, _headers, _ = request(f"{deployed_stack.api_url}/api/v1/scenarios/cold-start/lazy")
    assert status == 200


def test_the_timeout_warning_names_the_timeout_route(spotlight_server, timed_out):
    viewer_events: list[dict[str, Any]] = []
    for _ in range(20):
        events = spotlight_feed.items(spotlight_feed.read_envelopes(spotlight_server), "event")
        viewer_events = [e for e in events if e["contexts"]["trace"]["trace_id"] == timed_out.trace_id]
        if viewer_events:
            break
    (warning,) = viewer_events
    assert warning["exception"]["values"][-1]["type"] == "ServerlessTimeoutWarning"
    assert warning["transaction"] == by_id("timeout").antipattern.transaction
    assert warning["transaction_info"] == {"source": "route"}


def test_memory_leak_grows_until_the_runtime_is_killed(deployed_stack):
    url = f"{deployed_stack.api_url}/api/v1/scenarios/memory-leak?mode=antipattern"
    sizes = []
    for _ in range(30):
        status, headers, _ = request(url, "POST", timeout=60)
        if status != 200:
            break
        sizes.append(float(headers["X-Memory-Mb"]))
    else:
        raise AssertionError(f"never killed; memory went {sizes}")
    assert len(sizes) >= 2 and sizes[-1] > sizes[0]
    lines = read_logs(TEST_SETTINGS, deployed_stack.functions["GameEngineFunction"])
    assert any("Runtime exited with error: signal: killed" in line for line in lines)
    status, _, _ = request(f"{deployed_stack.api_url}/api/v1/scenarios/memory-leak?mode=optimized", "POST")
    assert status == 200
