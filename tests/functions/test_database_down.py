"""With MongoDB unreachable every route answers 503 with a JSON error, fast, and Sentry hears of it."""

from __future__ import annotations

import socket
import time

import pytest
import sentry_sdk
from chalice.test import Client

from slot_common import mongo
from slot_common.observability import init_sentry
from tests.functions.conftest import load_app
from tests.support.sentry_capture import CapturingTransport, reset_sentry


@pytest.fixture
def no_database(env):
    with socket.socket() as probe:  # a loopback port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env(MONGODB_URI=f"mongodb://127.0.0.1:{port}/", MONGO_TIMEOUT_MS="500")
    mongo.shared_client.cache_clear()
    yield
    mongo.shared_client.cache_clear()


ROUTES = [
    ("user_service", "GET", "/api/v1/users/user_1/balance"),
    ("user_service", "GET", "/api/v1/users/user_1/balance?mode=antipattern"),
    ("user_service", "GET", "/api/v1/users/user_1/history"),
    ("analytics", "GET", "/api/v1/analytics/daily-stats?days=7"),
    ("analytics", "GET", "/api/v1/analytics/daily-stats/explain"),
    ("analytics", "GET", "/api/v1/analytics/player-metrics/user_1"),
    ("game_engine", "POST", "/api/v1/spin"),
]


@pytest.mark.parametrize(("service", "method", "path"), ROUTES)
def test_routes_answer_503_within_3_seconds(no_database, service, method, path):
    transport = CapturingTransport()
    init_sentry(transport=transport)
    app = load_app(service).app
    try:
        with Client(app) as client:
            started = time.monotonic()
            response = client.http.request(
                method,
                path,
                headers={"Content-Type": "application/json"},
                body=b'{"user_id": "user_1", "bet": 1}',
            )
            elapsed = time.monotonic() - started
        sentry_sdk.flush()
    finally:
        reset_sentry()
    assert response.status_code == 503
    assert response.json_body["error"].startswith("database unavailable")
    assert elapsed < 3
    errors = transport.items("event")
    assert any(e["exception"]["values"][-1]["type"] == "ServerSelectionTimeoutError" for e in errors)


@pytest.mark.parametrize(
    ("uri", "direct"),
    [
        ("mongodb://127.0.0.1:27017/", True),
        ("mongodb://user:pw@db.example:27017/sentry_poc", True),
        ("mongodb://a:27017,b:27017/?replicaSet=rs0", False),
        ("mongodb://a:27017/?replicaSet=rs0", False),
        ("mongodb+srv://cluster.example/sentry_poc", False),
    ],
)
def test_a_single_server_is_connected_directly(uri, direct):
    assert mongo.single_server(uri) is direct
