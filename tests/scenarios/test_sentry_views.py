"""What a person opens in Sentry, made from the scenario catalog: the dashboard's scenario
widgets and the docs' queries are current, and each query compares exactly one pair."""

from __future__ import annotations

import json

from demo import docs_blocks, sentry_views
from demo.scenario_catalog import SCENARIOS
from tests.support import sentry_queries


def test_the_dashboard_has_a_current_widget_per_scenario_comparing_its_two_modes():
    current = json.loads(sentry_views.DASHBOARD.read_text())
    assert sentry_views.dashboard(current) == current, "run python -m demo.sentry_views"
    widgets = [w for w in current["widgets"] if w["title"].startswith(sentry_views.WIDGET_PREFIX)]
    assert len(widgets) == len(SCENARIOS)
    for scenario, widget in zip(SCENARIOS, widgets, strict=True):
        (query,) = widget["queries"]
        assert query["columns"] == ["mode"]
        assert dict(sentry_queries.terms(query["conditions"])) == {
            "transaction": sorted({request.transaction for _, request in scenario.sides()}),
            "scenario": [scenario.id],
        }


def test_the_docs_say_where_to_look_for_each_scenario():
    for path in docs_blocks.BLOCKS["sentry-queries"]:
        block = docs_blocks.read_block(path.read_text(), "sentry-queries")
        assert block == sentry_views.queries_table(), f"{path.name}: run python -m demo.sentry_views"
    assert set(sentry_views.VIEWS) == {scenario.id for scenario in SCENARIOS}


def test_alerts_watch_a_route_transaction():
    alerts = json.loads((sentry_queries.SENTRY_DIR / "alert-rules.json").read_text())["metric_alerts"]
    for alert in alerts:
        (names,) = [values for key, values in sentry_queries.terms(alert["query"]) if key == "transaction"]
        assert len(names) == 1 and names[0].split(" ", 1)[0] in {"GET", "POST"}, alert["query"]
