"""The Sentry API requests of deploy/sentry_setup.py, against a local fake Sentry."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from deploy.sentry_setup import SentryApi, apply

PROJECT = Path(__file__).resolve().parents[2]


@pytest.fixture
def fake_sentry():
    received: list[tuple[str, str, dict | None, str]] = []
    existing = {
        "/api/0/organizations/acme/alert-rules/": [
            {"id": "7", "name": "Game engine p95 above 5 s (CPU spike)"}
        ]
    }

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def _answer(self, body):
            raw = json.dumps(body).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def do_GET(self):
            received.append(("GET", self.path, None, self.headers["Authorization"]))
            self._answer(existing.get(self.path, []))

        def _write(self):
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            received.append((self.command, self.path, body, self.headers["Authorization"]))
            self._answer({"id": "1"})

        do_POST = do_PUT = _write  # noqa: N815 - http.server's method names

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", received
    server.shutdown()


def test_apply_creates_or_updates_each_definition(fake_sentry):
    url, received = fake_sentry
    apply(SentryApi(url, "secret-token"), "acme", "slot")
    writes = [(method, path) for method, path, _, _ in received if method != "GET"]
    assert writes == [
        ("POST", "/api/0/organizations/acme/dashboards/"),
        ("PUT", "/api/0/organizations/acme/alert-rules/7/"),
        ("POST", "/api/0/organizations/acme/alert-rules/"),
        ("POST", "/api/0/projects/acme/slot/rules/"),
    ]
    assert all(auth == "Bearer secret-token" for _, _, _, auth in received)
    metric_rule = next(body for method, path, body, _ in received if method == "PUT")
    assert metric_rule["projects"] == ["slot"] and metric_rule["aggregate"] == "p95(transaction.duration)"
    dashboard = next(body for method, path, body, _ in received if path.endswith("dashboards/") and body)
    widgets = json.loads((PROJECT / "sentry" / "dashboard.json").read_text())["widgets"]
    assert dashboard["widgets"] == widgets, "every widget, a scenario's comparison included"


def test_it_never_runs_without_its_variables():
    env = {k: v for k, v in os.environ.items() if not k.startswith("SENTRY_")}
    env["PYTHONPATH"] = str(PROJECT)
    result = subprocess.run(
        [sys.executable, "-m", "deploy.sentry_setup"], env=env, capture_output=True, text=True
    )
    assert result.returncode == 2 and "SENTRY_AUTH_TOKEN" in result.stderr
