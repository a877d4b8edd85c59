"""Sentry's own event normalization (the `sentry-relay` package: Relay's store normalizer),
so tests see what Sentry's ingestion makes of an event and whether it finds errors in it."""

from __future__ import annotations

from typing import Any

from sentry_relay.processing import StoreNormalizer


def normalized(event: dict[str, Any]) -> dict[str, Any]:
    """The event as Relay stores it."""
    return StoreNormalizer(is_renormalize=False).normalize_event(event)


def relay_errors(event: dict[str, Any]) -> list[Any]:
    """What Relay rejects or rewrites in the event: its ``errors`` and any field it had to
    change (``_meta``), plus request.url if normalization would change it."""
    result = normalized(event)
    problems = list(result.get("errors") or [])
    if result.get("_meta"):
        problems.append({"_meta": result["_meta"]})
    sent, stored = (event.get("request") or {}).get("url"), (result.get("request") or {}).get("url")
    if sent != stored:
        problems.append({"request.url": [sent, stored]})
    return problems
