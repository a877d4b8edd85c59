"""The last touch on every event before it leaves: request.url as the client sent it.

AwsLambdaIntegration builds request.url from the API Gateway event's headers
(``X-Forwarded-Proto`` + ``Host`` + ``path``). An API Gateway that forwards the scheme in
upper case ("HTTP", as LocalStack does) gives "HTTP://127.0.0.1:4566/...", which no client
sent; scheme and host are case-insensitive (RFC 3986, 3.1 and 3.2.2), so this writes them
the way a client does: lower case. Path and query are left exactly as they are.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit, urlunsplit


def client_url(url: str) -> str:
    """HTTP://LocalHost:4566/api/v1/Spin -> http://localhost:4566/api/v1/Spin."""
    parts = urlsplit(url)
    if not parts.scheme:
        return url
    return urlunsplit(parts._replace(scheme=parts.scheme.lower(), netloc=parts.netloc.lower()))


def with_client_url(event: dict[str, Any], _hint: Any = None) -> dict[str, Any]:
    """``before_send`` / ``before_send_transaction``: they run after every event processor,
    the integration's included, so the URL they see is the one that would be sent."""
    request = event.get("request")
    if isinstance(request, dict) and isinstance(request.get("url"), str):
        request["url"] = client_url(request["url"])
    return event


def hooks() -> dict[str, Any]:
    """init()'s options that apply it to errors and transactions alike."""
    return {"before_send": with_client_url, "before_send_transaction": with_client_url}
