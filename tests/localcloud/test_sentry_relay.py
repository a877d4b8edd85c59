"""The sentry-relay extension (layers/sentry-relay) on the real LocalStack: the function's
SDK sends to it, the caller gets its answer before anything goes to Sentry, and no envelope is
lost across an ingest that is down, a timeout kill and an environment's shutdown. Every
envelope that reaches the sink passes Sentry Relay's own normalizer."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
import uuid

import pytest

from deploy import build
from localcloud.aws import client
from localcloud.settings import Settings
from tests.localcloud.lambdas import deploy_function, function_zip, invoke, publish_layer
from tests.support.envelopes import EnvelopeReceiver

pytestmark = pytest.mark.localstack
DELAY = 0.4  # the sink (Sentry's ingest) answers this much later


LOGS: list = []


@pytest.fixture(scope="module")
def lambda_client(localstack_server):
    LOGS[:] = [client(localstack_server, "logs")]
    return client(localstack_server, "lambda")


@pytest.fixture(scope="module")
def layers(lambda_client) -> list[str]:
    """The product's own layers: dependencies, slot_common and the relay extension."""
    _, artifacts = build.build_all(log=lambda _: None)
    return [publish_layer(lambda_client, f"relay-test-{a.name}", a.path.read_bytes()) for a in artifacts]


@pytest.fixture
def sink():
    with EnvelopeReceiver(delay_seconds=DELAY) as receiver:
        yield receiver


def relayed(lambda_client, layers, sink, relay_port: str = "5333", timeout: int = 10) -> str:
    name = f"relayed-{uuid.uuid4().hex[:8]}"
    env = {"SENTRY_DSN": sink.dsn, "SENTRY_RELAY_PORT": relay_port, "SENTRY_PROFILES_SAMPLE_RATE": "0"}
    # one vCPU: with less, a busy handler starves the SDK's timeout-warning thread (as on AWS)
    deploy_function(lambda_client, name, "relayed.handler", function_zip("relayed"), layers=layers,
                    timeout=timeout, memory=1769, env=env)  # fmt: skip
    return name


def timed_invoke(lambda_client, name, event=None) -> tuple[float, float, dict]:
    started = time.time()
    payload, error, _ = invoke(lambda_client, name, event or {})
    assert error is None, payload
    return started, time.time(), payload


def transactions_of(sink, request_ids, timeout: float = 30.0) -> dict[str, float]:
    """request id -> when the sink received its transaction; waits for all of them."""
    deadline = time.monotonic() + timeout
    while True:
        found = {
            payload["extra"]["lambda"]["aws_request_id"]: at
            for at, header, payload in list(sink.received_at)
            if header.get("type") == "transaction"
        }
        if set(request_ids) <= set(found) or time.monotonic() > deadline:
            return found
        time.sleep(0.2)


def report_line(logs_client, name: str, request_id: str, timeout: float = 20.0) -> str:
    """The invoke's REPORT line in CloudWatch Logs: written when its Invoke phase has ended."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(logs_client.exceptions.ResourceNotFoundException):  # not yet
            events = logs_client.filter_log_events(logGroupName=f"/aws/lambda/{name}")["events"]
            for event in events:  # matched here: LocalStack's filter patterns match too much
                if event["message"].startswith(f"REPORT RequestId: {request_id}"):
                    return event["message"]
        time.sleep(0.1)
    raise AssertionError(f"no REPORT for {request_id} within {timeout} s")


def settled_invoke(lambda_client, name, sink, event=None) -> tuple[float, float, dict]:
    """An invoke, then a wait until its Invoke phase has ended (its REPORT line): the next
    invoke finds the environment free (one whose extension is still sending is busy, and a
    caller would get a new environment, as on AWS)."""
    started, answered, payload = timed_invoke(lambda_client, name, event)
    report_line(LOGS[0], name, payload["request_id"])
    return started, answered, payload


def test_the_caller_gets_its_answer_before_the_relay_sends(lambda_client, layers, sink):
    name = relayed(lambda_client, layers, sink)
    settled_invoke(lambda_client, name, sink)  # the cold start
    times = [settled_invoke(lambda_client, name, sink) for _ in range(3)]
    arrived = transactions_of(sink, [payload["request_id"] for *_, payload in times])
    for started, answered, payload in times:
        assert answered - started < DELAY, "the caller waited for Sentry's ingest"
        assert arrived[payload["request_id"]] >= answered, "sent before the answer"


def test_without_the_relay_the_caller_waits_for_the_ingest(lambda_client, layers, sink):
    name = relayed(lambda_client, layers, sink, relay_port="0")
    settled_invoke(lambda_client, name, sink)
    started, answered, _ = settled_invoke(lambda_client, name, sink)
    assert answered - started >= DELAY, "the SDK's flush sends before the answer (the problem)"


def test_nothing_is_lost_across_an_outage_a_timeout_and_a_shutdown(lambda_client, layers, sink):
    name = relayed(lambda_client, layers, sink, timeout=3)
    sink.delay_seconds = 0.0
    ids = [timed_invoke(lambda_client, name)[2]["request_id"] for _ in range(3)]
    sink.down = True  # the ingest is down for a while: the relay keeps what it has
    ids += [timed_invoke(lambda_client, name)[2]["request_id"] for _ in range(3)]
    sink.down = False
    time.sleep(1.5)  # the relay's backoff
    ids += [timed_invoke(lambda_client, name)[2]["request_id"] for _ in range(3)]
    payload, error, _ = invoke(lambda_client, name, {"busy_seconds": 10})  # killed at its Timeout
    assert error and "Task timed out" in payload["errorMessage"]
    ids += [timed_invoke(lambda_client, name)[2]["request_id"]]
    # a configuration change shuts the environment down: the relay drains on SHUTDOWN
    lambda_client.update_function_configuration(FunctionName=name, Description="retired")
    arrived = transactions_of(sink, ids)
    assert set(ids) <= set(arrived), f"lost: {set(ids) - set(arrived)} of {ids}"
    warnings = [p for _, h, p in sink.received_at if h.get("type") == "event"
                and p["exception"]["values"][0]["type"] == "ServerlessTimeoutWarning"]  # fmt: skip
    assert warnings, "the timeout's warning, captured before the kill, was lost"


def test_an_update_right_after_the_answer_lets_the_relay_finish_its_invoke(lambda_client, layers, sink):
    """A configuration change stops the environment while the relay still sends (the ingest
    takes DELAY): the Invoke phase ends as it would (no timeout), then SHUTDOWN; nothing lost."""
    name = relayed(lambda_client, layers, sink)
    settled_invoke(lambda_client, name, sink)  # the cold start
    _, _, payload = timed_invoke(lambda_client, name)  # answered; the relay sends for DELAY s
    lambda_client.update_function_configuration(FunctionName=name, Description="updated")
    rid = payload["request_id"]
    assert rid in transactions_of(sink, [rid]), "the relay was killed mid-send"
    assert "Status: timeout" not in report_line(LOGS[0], name, rid)


def test_every_envelope_passes_sentry_relays_normalizer(lambda_client, layers, sink):
    from sentry_relay.processing import StoreNormalizer

    name = relayed(lambda_client, layers, sink)
    sink.delay_seconds = 0.0
    ids = [timed_invoke(lambda_client, name)[2]["request_id"] for _ in range(2)]
    transactions_of(sink, ids)
    normalizer = StoreNormalizer()
    events = [p for _, h, p in sink.received_at if h.get("type") in ("transaction", "event")]
    assert events
    for event in events:
        normalized = normalizer.normalize_event(event)
        assert not normalized.get("errors"), normalized.get("errors")


def test_make_down_drains_what_the_relay_still_holds(layers, sink, tmp_path):
    """`make down` stops LocalStack gracefully: each environment gets SHUTDOWN, and the relay
    sends what an unreachable ingest left with it."""
    env = os.environ | {"LOCAL_DIR": str(tmp_path / "local"), "LOCALSTACK_PORT": "4596"}
    settings = Settings(local_dir=(tmp_path / "local").resolve(), localstack_port=4596, mongo_port=1,
                        spotlight_port=1, mongodb_uri=None, lambda_keepalive_ms=600000)  # fmt: skip
    command = [sys.executable, "-m", "localcloud"]
    up = subprocess.run([*command, "up", "localstack"], env=env, capture_output=True, text=True, timeout=180)
    try:
        assert up.returncode == 0, up.stderr
        lambda_client = client(settings, "lambda")
        own_layers = [publish_layer(lambda_client, f"down-{i}", a.path.read_bytes())
                      for i, a in enumerate(build.build_all(log=lambda _: None)[1])]  # fmt: skip
        name = relayed(lambda_client, own_layers, sink)
        sink.delay_seconds, sink.down = 0.0, True
        request_id = timed_invoke(lambda_client, name)[2]["request_id"]
        time.sleep(0.5)  # the relay tried, failed, and keeps the envelope
        assert request_id not in transactions_of(sink, [request_id], timeout=0)
        sink.down = False
    finally:
        subprocess.run([*command, "down", "localstack"], env=env, timeout=120, capture_output=True)
    assert request_id in transactions_of(sink, [request_id], timeout=5), "make down lost the envelope"
