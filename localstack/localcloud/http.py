"""The one HTTP client of the tools and tests: loopback services, never a proxy from the
environment (a developer's HTTP_PROXY must not swallow requests to 127.0.0.1)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class Headers(dict[str, str]):
    """A reply's headers, looked up by name in any case: HTTP's names are case-insensitive, and
    servers differ (Spotlight's sends them in lower case, API Gateway's as the function wrote
    them). Stored in lower case."""

    def __init__(self, items: Iterable[tuple[str, str]] = ()) -> None:
        super().__init__((name.lower(), value) for name, value in items)

    def __getitem__(self, name: str) -> str:
        return super().__getitem__(name.lower())

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and super().__contains__(name.lower())

    def get(self, name: str, default: Any = None) -> Any:
        return super().get(name.lower(), default)


@dataclass
class Reply:
    status: int
    headers: Headers
    body: bytes

    def json(self) -> Any:
        """The body as JSON, or ``{"raw": text}`` when it is not JSON."""
        try:
            return json.loads(self.body) if self.body else None
        except ValueError:
            return {"raw": self.body.decode(errors="replace")}


def request(
    url: str,
    method: str = "GET",
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
    timeout: float = 30,
) -> Reply:
    """One request; an HTTP error status is a Reply too. Network failures raise OSError."""
    prepared = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with OPENER.open(prepared, timeout=timeout) as response:
            return Reply(response.status, Headers(response.headers.items()), response.read())
    except urllib.error.HTTPError as error:
        return Reply(error.code, Headers(error.headers.items()), error.read())


def answers(url: str, expect: bytes | None = None, timeout: float = 1) -> bool:
    """Whether ``url`` answers 200 (with ``expect`` in its body, if given)."""
    try:
        reply = request(url, timeout=timeout)
    except OSError:
        return False
    return reply.status == 200 and (expect is None or expect in reply.body)


def open_stream(url: str, headers: dict[str, str], timeout: float) -> Any:
    """A response to read as it arrives (Server-Sent Events); the caller closes it."""
    return OPENER.open(urllib.request.Request(url, headers=headers), timeout=timeout)
