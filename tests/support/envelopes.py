"""A local Sentry envelope receiver: what a DSN like http://public@127.0.0.1:PORT/1 talks to."""

from __future__ import annotations

import gzip
import json
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


def parse_envelope(raw: bytes) -> list[tuple[dict[str, Any], Any]]:
    """(item header, payload) pairs; JSON payloads decoded, others left as bytes."""
    header_line, _, rest = raw.partition(b"\n")
    json.loads(header_line)
    items = []
    while rest.strip():
        item_line, _, rest = rest.partition(b"\n")
        item_header = json.loads(item_line)
        length = item_header.get("length")
        if length is None:
            payload, _, rest = rest.partition(b"\n")
        else:
            payload, rest = rest[:length], rest[length + 1 :]
        try:
            decoded: Any = json.loads(payload)
        except ValueError:
            decoded = payload
        items.append((item_header, decoded))
    return items


class EnvelopeReceiver:
    """Collects every envelope item POSTed to /api/<project>/envelope/ on a loopback port."""

    def __init__(self, delay_seconds: float = 0.0) -> None:
        self.items: list[tuple[dict[str, Any], Any]] = []
        self.received_at: list[tuple[float, dict[str, Any], Any]] = []  # (time.time(), header, payload)
        self.delay_seconds = delay_seconds  # an ingest this far away
        self.down = False  # answers 503, as an ingest that is down
        self.raw: list[bytes] = []  # every envelope as it came
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if receiver.down:
                    self.send_response(503)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                time.sleep(receiver.delay_seconds)
                if self.headers.get("Content-Encoding") == "gzip":
                    body = gzip.decompress(body)
                items = parse_envelope(body)
                with receiver._lock:
                    receiver.items.extend(items)
                    receiver.raw.append(body)
                    receiver.received_at.extend((time.time(), header, payload) for header, payload in items)
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def dsn(self) -> str:
        return f"http://public@127.0.0.1:{self._server.server_address[1]}/1"

    def __enter__(self) -> EnvelopeReceiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def payloads(self, item_type: str) -> list[Any]:
        with self._lock:
            return [payload for header, payload in self.items if header.get("type") == item_type]

    def wait_for(self, item_type: str, match: Callable[[Any], bool], timeout: float = 20) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for payload in self.payloads(item_type):
                if match(payload):
                    return payload
            time.sleep(0.1)
        raise AssertionError(f"no {item_type} item matched within {timeout} s; got {self.items!r:.2000}")
