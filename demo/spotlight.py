"""Read what Spotlight (the local trace viewer) received, from its Server-Sent Events stream.

A new client of GET /stream first gets every buffered envelope, as parsed JSON; this reads
for a bounded time and returns them. Used by `make scenarios` and the tests.
"""

from __future__ import annotations

import json
import time
from typing import Any

from localcloud import http

KEPT = 1000  # envelopes a reader remembers per Spotlight (Spotlight itself holds 500)


class _Feed:
    """Spotlight's stream read from where the last read ended (SSE's Last-Event-ID).

    Replaying the whole buffer at every poll costs seconds once it holds a few hundred traces
    (a burst, the tour) and, on a busy machine, a replay cut short misses the newest: polls
    then found nothing for minutes. Each read now asks only for what came after the last
    envelope seen, and keeps what it saw."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.last_id = ""
        self.seen: dict[str, list[Any]] = {}  # by Spotlight's id for the envelope, oldest first

    def read(self, idle: float, at_most: float) -> list[list[Any]]:
        headers = {"Accept": "text/event-stream"}
        if self.last_id:  # unknown to Spotlight (restarted, cleared): it replays all it holds
            headers["Last-Event-ID"] = self.last_id
        envelope: list[Any] | None = None
        deadline = time.monotonic() + at_most
        with http.open_stream(f"{self.url}/stream", headers, idle) as stream:
            while time.monotonic() < deadline:
                try:
                    line = stream.readline()
                except TimeoutError:
                    break
                if not line:
                    break
                if line.startswith(b"data:"):
                    try:
                        envelope = json.loads(line[5:])
                    except ValueError:
                        envelope = None
                elif line.startswith(b"id:") and envelope is not None:  # an event's id follows its data
                    self.last_id = line[3:].strip().decode()
                    self.seen.pop(self.last_id, None)
                    self.seen[self.last_id] = envelope
                    envelope = None
        for old in list(self.seen)[:-KEPT]:
            del self.seen[old]
        return list(self.seen.values())


_FEEDS: dict[str, _Feed] = {}


def read_envelopes(spotlight_url: str, idle: float = 0.5, at_most: float = 30.0) -> list[list[Any]]:
    """Every envelope Spotlight holds, and what this process read from it before:
    [header, [[item header, payload], ...]], oldest first. Only what is new since the last read
    crosses the wire, read to its end (no line for ``idle`` seconds)."""
    feed = _FEEDS.setdefault(spotlight_url, _Feed(spotlight_url))
    return feed.read(idle, at_most)


def items(envelopes: list[list[Any]], item_type: str) -> list[dict[str, Any]]:
    found = []
    for envelope in envelopes:
        if len(envelope) < 2:
            continue
        for entry in envelope[1]:
            if len(entry) == 2 and entry[0].get("type") == item_type and isinstance(entry[1], dict):
                found.append(entry[1])
    return found


def transactions(spotlight_url: str) -> list[dict[str, Any]]:
    return items(read_envelopes(spotlight_url), "transaction")


def wait_for_transactions(
    spotlight_url: str, match, timeout: float = 30.0, at_least: int = 1
) -> list[dict[str, Any]]:
    """Transactions for which ``match`` is true, once there are ``at_least`` of them."""
    deadline = time.monotonic() + timeout
    found: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        found = [t for t in transactions(spotlight_url) if match(t)]
        if len(found) >= at_least:
            return found
        time.sleep(0.5)
    return found


def trace_id(transaction: dict[str, Any]) -> str:
    return transaction.get("contexts", {}).get("trace", {}).get("trace_id", "")


def function_of(transaction: dict[str, Any]) -> str:
    """The Lambda function that sent it (transactions are named after their route; a function
    invoked directly, not through API Gateway, keeps its own name)."""
    tags = transaction.get("tags") or {}
    lambda_context = (transaction.get("extra") or {}).get("lambda") or {}
    return tags.get("faas.name") or lambda_context.get("function_name") or transaction.get("transaction", "")


def clear(spotlight_url: str) -> None:
    http.request(f"{spotlight_url}/clear", "DELETE", timeout=5)
    _FEEDS.pop(spotlight_url, None)
