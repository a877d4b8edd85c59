"""Where each scenario shows in Sentry, and with which query: made from the scenario catalog.

Every transaction is named after its route and tagged ``scenario:<id>`` and
``mode:antipattern|optimized`` (slot_common.observability), so one query per scenario
compares the anti-pattern with its fix. sentry/dashboard.json's scenario widgets and the
docs' "sentry-queries" block are written from here (``python -m demo.sentry_views``); a test
checks that both are current and that every query names only transactions and tags that exist.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from demo.scenario_catalog import SCENARIOS, Scenario
from localcloud.settings import PROJECT_ROOT

DASHBOARD = PROJECT_ROOT / "sentry" / "dashboard.json"
WIDGET_PREFIX = "Scenario: "  # the widgets written here; the others are kept as they are
COMPARE = ["count()", "p50(transaction.duration)", "p95(transaction.duration)"]

# the Sentry view to open for each scenario (what a person clicks first)
VIEWS = {
    "n-plus-one": "Issues (N+1 DB Query, after 3 runs), then its transaction summary",
    "cpu-spike": "Performance: the transaction summary (Suspect Spans, Profiles)",
    "timeout": "Issues (ServerlessTimeoutWarning), then the optimized side's summary",
    "cold-start": "Performance: the two transactions' summaries (cold_start tag, faas.init_duration_ms)",
    "slow-aggregation": "Performance: the transaction summary (the slow db span)",
    "many-queries": "Performance: the transaction summary (db spans per event)",
    "memory-leak": "Discover (memory.rss_mb per event), then the function's logs",
    "connection-churn": "Performance: the transaction summary (the db.connection span)",
    "cascade": "Trace view of one event of each mode",
}


def transactions(scenario: Scenario) -> list[str]:
    """Its sides' transaction names (one when both sides share a route)."""
    return sorted({request.transaction for _, request in scenario.sides()})


def query(scenario: Scenario) -> str:
    """The search that compares its two sides (group or filter by mode)."""
    names = [f'"{name}"' for name in transactions(scenario)]
    where = names[0] if len(names) == 1 else f"[{', '.join(names)}]"
    return f"transaction:{where} scenario:{scenario.id}"


def widget(scenario: Scenario) -> dict[str, Any]:
    """A table of the two modes side by side: count, p50, p95."""
    return {
        "title": f"{WIDGET_PREFIX}{scenario.title}, anti-pattern vs fix",
        "displayType": "table",
        "widgetType": "transaction-like",
        "queries": [
            {
                "name": "",
                "fields": ["mode", *COMPARE],
                "aggregates": COMPARE,
                "columns": ["mode"],
                "conditions": query(scenario),
                "orderby": "mode",
            }
        ],
    }


def dashboard(current: dict[str, Any]) -> dict[str, Any]:
    """The dashboard with its scenario widgets rewritten from the catalog, the others kept."""
    kept = [w for w in current["widgets"] if not w["title"].startswith(WIDGET_PREFIX)]
    return {**current, "widgets": kept + [widget(scenario) for scenario in SCENARIOS]}


def queries_table() -> str:
    """The docs' block: per scenario, the view to open and the query to type."""
    rows = ["| scenario | open in Sentry | query |", "|---|---|---|"]
    rows += [f"| {s.title} | {VIEWS[s.id]} | `{query(s)}` |" for s in SCENARIOS]
    return "\n".join(rows) + "\n"


def naming_problems(scenario: Scenario, mode: str, transaction: dict[str, Any] | None) -> list[str]:
    """What is wrong with the name and tags of one side's transaction, as received."""
    if transaction is None:
        return [f"{scenario.id} {mode}: no transaction"]
    request = dict(scenario.sides())[mode]
    tags = transaction.get("tags") or {}
    seen = (
        transaction.get("transaction"),
        (transaction.get("transaction_info") or {}).get("source"),
        tags.get("scenario"),
        tags.get("mode"),
    )
    expected = (request.transaction, "route", scenario.id, mode)
    return [] if seen == expected else [f"{scenario.id} {mode}: {seen} instead of {expected}"]


def main(argv: list[str] | None = None) -> int:
    argparse.ArgumentParser(prog="python -m demo.sentry_views", description=__doc__).parse_args(argv)
    DASHBOARD.write_text(json.dumps(dashboard(json.loads(DASHBOARD.read_text())), indent=2) + "\n")
    from demo import docs_blocks

    for path in docs_blocks.write("sentry-queries", queries_table()):
        print(path.relative_to(PROJECT_ROOT))
    return 0


if __name__ == "__main__":
    sys.exit(main())
