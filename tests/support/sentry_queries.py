"""The search terms of sentry/dashboard.json and sentry/alert-rules.json, parsed."""

from __future__ import annotations

import json
import re
from pathlib import Path

SENTRY_DIR = Path(__file__).resolve().parents[2] / "sentry"
# Sentry's own fields (not tags): what a query may name besides the transaction and our tags
BUILT_IN = {"transaction.op", "event.type", "error.type", "transaction.duration", "has"}
_TERM = re.compile(r'(!?[\w.]+):(\[[^\]]*\]|"[^"]*"|\S+)')


def queries() -> list[str]:
    """Every search of the dashboard's widgets and of the metric alerts."""
    dashboard = json.loads((SENTRY_DIR / "dashboard.json").read_text())
    alerts = json.loads((SENTRY_DIR / "alert-rules.json").read_text())
    found = [q["conditions"] for w in dashboard["widgets"] for q in w["queries"]]
    return found + [alert["query"] for alert in alerts["metric_alerts"]]


def terms(search: str) -> list[tuple[str, list[str]]]:
    """``key:value`` terms, each value list unquoted: transaction:["A", "B"] -> ("transaction", [A, B])."""
    parsed = []
    for key, raw in _TERM.findall(search):
        values = re.findall(r'"([^"]*)"', raw) if raw.startswith("[") else [raw.strip('"')]
        parsed.append((key.lstrip("!"), values))
    return parsed


def columns() -> set[str]:
    """The dashboard's group-by columns (tags or fields)."""
    dashboard = json.loads((SENTRY_DIR / "dashboard.json").read_text())
    return {c for w in dashboard["widgets"] for q in w["queries"] for c in q["columns"]}
