"""Captures what the Sentry SDK would send, in process (a Transport subclass)."""

from __future__ import annotations

from typing import Any

import sentry_sdk
from sentry_sdk.envelope import Envelope
from sentry_sdk.transport import Transport

from demo.sentry_rules import db_spans, n_plus_one

__all__ = ["CapturingTransport", "db_spans", "meets_n_plus_one_conditions", "reset_sentry"]


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


def meets_n_plus_one_conditions(transaction: dict[str, Any]) -> bool:
    return n_plus_one(transaction) is not None


def reset_sentry() -> None:
    """No Sentry client in this process any more. ``sentry_sdk.init()`` without a DSN is not
    that: its client keeps the stdlib integration, which puts a trace header of its own ahead
    of every request's (make scenarios' calls then continued the SDK's trace, not theirs)."""
    sentry_sdk.get_client().close()
    sentry_sdk.get_global_scope().set_client(None)
