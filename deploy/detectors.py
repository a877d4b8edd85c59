"""What Sentry's server would flag, checked locally on a transaction as the SDK sends it.

The N+1 rule follows getsentry/sentry's N+1 DB span detector as described in
../shared/notes/sentry-offline.md: a source db span, then at least 5 consecutive db spans
with the same parent and the same description, no other span between, totalling >= 50 ms;
MongoDB descriptions must contain '{' and must not be truncated.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

MIN_REPEATS = 5
MIN_TOTAL_MS = 50.0


def seconds(value: float | str) -> float:
    """Span timestamps: epoch seconds, or RFC 3339 strings as the SDK serialises them."""
    if isinstance(value, (int, float)):
        return float(value)
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


def duration_ms(span: dict[str, Any]) -> float:
    return (seconds(span["timestamp"]) - seconds(span["start_timestamp"])) * 1000


def is_db(span: dict[str, Any]) -> bool:
    op = span.get("op") or ""
    return op.startswith("db") and not op.startswith("db.redis")


def db_spans(transaction: dict[str, Any]) -> list[dict[str, Any]]:
    return [span for span in transaction.get("spans", []) if is_db(span)]


def n_plus_one(transaction: dict[str, Any]) -> dict[str, Any] | None:
    """The first N+1 pattern Sentry would flag: {repeats, total_ms, description}, or None."""
    spans = sorted(transaction.get("spans", []), key=lambda span: seconds(span["start_timestamp"]))
    for index, source in enumerate(spans):
        if not is_db(source):
            continue
        repeats: list[dict[str, Any]] = []
        for span in spans[index + 1 :]:
            if not is_db(span) or span.get("parent_span_id") != source.get("parent_span_id"):
                break
            if repeats and span.get("description") != repeats[0].get("description"):
                break
            repeats.append(span)
        if len(repeats) < MIN_REPEATS:
            continue
        description = repeats[0].get("description") or ""
        total = sum(duration_ms(span) for span in repeats)
        if (
            total >= MIN_TOTAL_MS
            and description != source.get("description")
            and "{" in description
            and not description.endswith("...")
        ):
            return {"repeats": len(repeats), "total_ms": round(total, 1), "description": description}
    return None
