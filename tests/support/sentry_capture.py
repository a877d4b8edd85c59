"""Captures what the Sentry SDK would send, in process (a Transport subclass)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sentry_sdk
from sentry_sdk.envelope import Envelope
from sentry_sdk.transport import Transport


class CapturingTransport(Transport):
    def __init__(self, options: dict | None = None) -> None:
        super().__init__(options)
        self.envelopes: list[Envelope] = []

    def capture_envelope(self, envelope: Envelope) -> None:
        self.envelopes.append(envelope)

    def items(self, item_type: str) -> list[dict[str, Any]]:
        return [
            item.payload.json
            for envelope in self.envelopes
            for item in envelope.items
            if item.type == item_type and item.payload.json is not None
        ]

    def transactions(self) -> list[dict[str, Any]]:
        return self.items("transaction")

    def clear(self) -> None:
        self.envelopes.clear()


def seconds(value: float | str) -> float:
    """Span timestamps: epoch seconds, or RFC 3339 strings as the SDK serialises them."""
    if isinstance(value, (int, float)):
        return float(value)
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


def duration_ms(span: dict[str, Any]) -> float:
    return (seconds(span["timestamp"]) - seconds(span["start_timestamp"])) * 1000


def db_spans(transaction: dict[str, Any]) -> list[dict[str, Any]]:
    return [span for span in transaction["spans"] if span.get("op", "").startswith("db")]


def meets_n_plus_one_conditions(
    transaction: dict[str, Any], min_repeats: int = 5, min_ms: float = 50
) -> bool:
    """Sentry's N+1 DB detector, as described in ../shared/notes/sentry-offline.md: a source
    db span, then >= 5 consecutive db spans with the same parent and description, no non-db
    span between, totalling >= 50 ms; MongoDB descriptions must contain '{'."""
    spans = sorted(transaction["spans"], key=lambda span: seconds(span["start_timestamp"]))
    for index, source in enumerate(spans):
        if not source.get("op", "").startswith("db") or source["op"].startswith("db.redis"):
            continue
        repeats = []
        for span in spans[index + 1 :]:
            if not span.get("op", "").startswith("db"):
                break
            if repeats and (
                span["description"] != repeats[0]["description"]
                or span["parent_span_id"] != repeats[0]["parent_span_id"]
            ):
                break
            if span["parent_span_id"] != source["parent_span_id"]:
                break
            repeats.append(span)
        total_ms = sum(duration_ms(s) for s in repeats)
        if (
            len(repeats) >= min_repeats
            and total_ms >= min_ms
            and repeats[0]["description"] != source["description"]
            and "{" in repeats[0]["description"]
            and not repeats[0]["description"].endswith("...")
        ):
            return True
    return False


def reset_sentry() -> None:
    sentry_sdk.init()
