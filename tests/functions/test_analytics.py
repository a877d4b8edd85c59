"""Analytics: daily stats (both pipelines, explain) and player metrics (5 queries vs 1)."""

from __future__ import annotations

import pytest
import sentry_sdk
from chalice.test import Client

from slot_common.observability import init_sentry
from tests.support.sentry_capture import CapturingTransport, db_spans, reset_sentry


@pytest.fixture
def client(analytics):
    with Client(analytics.app) as test_client:
        yield test_client


@pytest.mark.parametrize("days", [1, 7, 30])
def test_daily_stats_modes_return_identical_numbers(client, days):
    slow = client.http.get(f"/api/v1/analytics/daily-stats?days={days}&mode=antipattern")
    fast = client.http.get(f"/api/v1/analytics/daily-stats?days={days}&mode=optimized")
    assert slow.status_code == fast.status_code == 200
    assert slow.json_body == fast.json_body
    body = fast.json_body
    assert body["days"] == days and len(body["daily"]) <= days
    assert body["total_games"] == sum(day["games"] for day in body["daily"]) > 0
    assert body["daily"][-1]["running_wagered"] == body["total_wagered"]


@pytest.mark.parametrize("query", ["days=0", "days=366", "days=-1", "days=abc", "days=1.5", "days=7&mode=x"])
def test_daily_stats_rejects_bad_parameters(client, query):
    response = client.http.get(f"/api/v1/analytics/daily-stats?{query}")
    assert response.status_code == 400
    assert "error" in response.json_body


def test_explain_shows_collscan_for_the_antipattern_and_ixscan_for_the_fix(client):
    response = client.http.get("/api/v1/analytics/daily-stats/explain?days=7")
    assert response.status_code == 200
    assert response.json_body["antipattern"]["stage"] == "COLLSCAN"
    assert response.json_body["optimized"]["stage"] == "IXSCAN"


def test_daily_stats_data_and_tags_reach_sentry(client, env):
    transport = CapturingTransport()
    init_sentry(transport=transport)
    try:
        with sentry_sdk.start_transaction(op="function.aws", name="daily-stats"):
            body = client.http.get("/api/v1/analytics/daily-stats?days=30&mode=antipattern").json_body
        sentry_sdk.flush()
    finally:
        reset_sentry()
    (transaction,) = transport.transactions()
    data = transaction["contexts"]["trace"]["data"]
    assert data["analytics.days_processed"] == 30
    assert data["analytics.total_games"] == body["total_games"]
    assert transaction["tags"]["performance.issue"] == "missing_index"
    assert any("aggregate" in span["description"] for span in db_spans(transaction))


def test_player_metrics_five_queries_and_one_aggregation_agree(client, env):
    transport = CapturingTransport()
    init_sentry(transport=transport)
    try:
        responses = {}
        for mode in ("antipattern", "optimized"):
            with sentry_sdk.start_transaction(op="function.aws", name=mode):
                responses[mode] = client.http.get(f"/api/v1/analytics/player-metrics/user_1?mode={mode}")
        sentry_sdk.flush()
    finally:
        reset_sentry()
    assert responses["antipattern"].json_body == responses["optimized"].json_body
    assert responses["optimized"].json_body["games_played"] > 0
    slow, fast = transport.transactions()
    assert slow["contexts"]["trace"]["data"]["db.queries_executed"] == 5
    assert fast["contexts"]["trace"]["data"]["db.queries_executed"] == 1
    on_games = [
        [s for s in db_spans(t) if (s.get("data") or {}).get("db.mongodb.collection") == "games"]
        for t in (slow, fast)
    ]
    assert [len(spans) for spans in on_games] == [5, 1], "the query spans on games, in the trace"


def test_player_metrics_of_an_unknown_user_is_404(client):
    response = client.http.get("/api/v1/analytics/player-metrics/nobody")
    assert response.status_code == 404 and response.json_body["error"] == "user nobody not found"


def test_unknown_route_and_method_answer_json_errors(client):
    response = client.http.post("/api/v1/analytics/daily-stats", body=b"{}")
    assert response.status_code == 405 and "error" in response.json_body
