"""Read what Spotlight (the local trace viewer) received, from its Server-Sent Events stream.

A new client of GET /stream first gets every buffered envelope, as parsed JSON; this reads
for a bounded time and returns them. Used by `make scenarios` and the tests.
"""

from __future__ import annotations

import json
import time
from typing import Any

from localcloud import http


def read_envelopes(spotlight_url: str, idle: float = 0.5, at_most: float = 30.0) -> list[list[Any]]:
    """Every envelope Spotlight holds: [header, [[item header, payload], ...]]. The newest come
    last in the replay, so it is read to its end (no line for ``idle`` seconds), not for a fixed
    time: a full buffer on a busy machine takes seconds, and a cut replay misses the newest."""
    envelopes = []
    deadline = time.monotonic() + at_most
    with http.open_stream(f"{spotlight_url}/stream", {"Accept": "text/event-stream"}, idle) as stream:
        while time.monotonic() < deadline:
            try:
                line = stream.readline()
            except TimeoutError:
                break
            if not line:
                break
            if line.startswith(b"data:"):
                try:
                    envelopes.append(json.loads(line[5:]))
                except ValueError:
                    continue
    return envelopes


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
