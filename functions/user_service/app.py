"""User service: balances (and the connection-churn scenario) and game history (the N+1)."""

from chalice import NotFoundError

from slot_common.modes import Mode, requested_mode, scenario_response
from slot_common.mongo import counting_queries, database
from slot_common.observability import init_sentry, record, tag
from slot_common.service_app import ServiceApp
from users import balances, connections, history

init_sentry()
app = ServiceApp(app_name="user-service")


@app.route("/api/v1/users/{user_id}/balance", methods=["GET"])
def get_balance(user_id):
    mode = requested_mode(app, default=Mode.OPTIMIZED)
    if mode is Mode.ANTIPATTERN:
        tag("performance.issue", "connection_churn")
        tag("antipattern", "client_per_invocation")
    balance = connections.with_database(mode, lambda db: balances.get_balance(db, user_id))
    if balance is None:
        raise NotFoundError(f"user {user_id} not found")
    return scenario_response({"user_id": user_id, "balance": balance}, scenario="connection-churn", mode=mode)


@app.route("/api/v1/users/{user_id}/history", methods=["GET"])
def get_history(user_id):
    mode = requested_mode(app)
    db = database()
    with counting_queries() as counted:
        if balances.get_balance(db, user_id) is None:
            raise NotFoundError(f"user {user_id} not found")
        games = history.recent_games(db, user_id, mode)
    record("db.queries_executed", counted.queries)
    if mode is Mode.ANTIPATTERN:
        tag("performance.issue", "n_plus_one")
        tag("antipattern", "query_per_game")
    return scenario_response(
        {"user_id": user_id, "games": games}, scenario="n-plus-one", mode=mode, db_queries=counted.queries
    )


@app.lambda_function(name="balance_transaction")
def balance_transaction(event, context):
    """Invoked by the game engine (not through API Gateway): settles one spin."""
    try:
        settlement = balances.Settlement.from_event(event)
        return {"status": 200, **balances.settle(database(), settlement)}
    except balances.BalanceError as refused:
        return {"status": refused.status, "error": str(refused)}
