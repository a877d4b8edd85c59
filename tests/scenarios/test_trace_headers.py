"""make scenarios and the tests pick each call's trace id. In a test process where Sentry was
set up (the function tests import the apps), a reset must leave those headers alone."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
import sentry_sdk

from localcloud import http
from tests.support.sentry_capture import reset_sentry

TRACE = "a" * 32
OURS = {"sentry-trace": f"{TRACE}-{'b' * 16}-1", "baggage": f"sentry-trace_id={TRACE}"}


@pytest.fixture
def echo() -> Iterator[tuple[str, list[list[str]]]]:
    """A loopback server that records each request's sentry-trace headers."""
    seen: list[list[str]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append(self.headers.get_all("sentry-trace") or [])
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/", seen
    server.shutdown()
    server.server_close()


def test_after_a_reset_a_request_carries_only_its_own_trace(echo):
    url, seen = echo
    sentry_sdk.init()  # as the apps' module-level set-up leaves it, without a DSN
    try:
        reset_sentry()
        http.request(url, headers=OURS)
    finally:
        reset_sentry()
    assert seen == [[OURS["sentry-trace"]]]
