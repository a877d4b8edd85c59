"""Analytics: daily stats (the slow aggregation) and player metrics (too many queries)."""

from chalice import NotFoundError

from slot_common.data_model import USERS
from slot_common.modes import Mode, requested_mode, scenario_response
from slot_common.mongo import counting_queries, database
from slot_common.observability import init_sentry, record, tag
from slot_common.service_app import ServiceApp, query_int
from slot_common.settings import settings
from stats import daily_stats, player_metrics

init_sentry()
app = ServiceApp(app_name="analytics")


def _days() -> int:
    return query_int(app, "days", default=7, low=1, high=settings().max_days)


@app.route("/api/v1/analytics/daily-stats", methods=["GET"])
def get_daily_stats():
    days, mode = _days(), requested_mode(app)
    if mode is Mode.ANTIPATTERN:
        tag("performance.issue", "missing_index")
        tag("antipattern", "index_hostile_pipeline")
    with counting_queries() as counted:
        body = daily_stats.daily_stats(database(), days, mode)
    record("analytics.days_processed", days)
    record("analytics.total_games", body["total_games"])
    record("db.queries_executed", counted.queries)
    return scenario_response(body, scenario="slow-aggregation", mode=mode, db_queries=counted.queries)


@app.route("/api/v1/analytics/daily-stats/explain", methods=["GET"])
def explain_daily_stats():
    days, db = _days(), database()
    return {
        "days": days,
        "antipattern": daily_stats.explain(db, days, Mode.ANTIPATTERN),
        "optimized": daily_stats.explain(db, days, Mode.OPTIMIZED),
    }


@app.route("/api/v1/analytics/player-metrics/{user_id}", methods=["GET"])
def get_player_metrics(user_id):
    mode, db = requested_mode(app), database()
    if db[USERS].find_one({"_id": user_id}, {"_id": 1}) is None:
        raise NotFoundError(f"user {user_id} not found")
    with counting_queries() as counted:  # the metrics' own queries, as the driver sent them
        metrics = player_metrics.player_metrics(db, user_id, mode)
    if mode is Mode.ANTIPATTERN:
        tag("performance.issue", "too_many_queries")
        tag("antipattern", "query_per_metric")
    record("db.queries_executed", counted.queries)
    return scenario_response(
        {"user_id": user_id, **metrics}, scenario="many-queries", mode=mode, db_queries=counted.queries
    )
