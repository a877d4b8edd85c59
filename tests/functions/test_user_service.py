"""The user service through Chalice's test client, on a real MongoDB server."""

from __future__ import annotations

import pytest
import sentry_sdk
from chalice.test import Client

from slot_common.data_model import USERS
from slot_common.observability import init_sentry
from tests.support.sentry_capture import (
    CapturingTransport,
    db_spans,
    meets_n_plus_one_conditions,
    reset_sentry,
)


@pytest.fixture
def client(user_service):
    with Client(user_service.app) as test_client:
        yield test_client


@pytest.fixture
def captured(env):
    transport = CapturingTransport()
    init_sentry(transport=transport)
    yield transport
    reset_sentry()


def test_balance_of_a_seeded_user(client):
    response = client.http.get("/api/v1/users/user_1/balance")
    assert response.status_code == 200
    assert response.json_body == {"user_id": "user_1", "balance": 1000}


@pytest.mark.parametrize("path", ["/api/v1/users/nobody/balance", "/api/v1/users/nobody/history"])
def test_unknown_user_is_404_with_a_json_error(client, path):
    response = client.http.get(path)
    assert response.status_code == 404
    assert response.json_body == {"error": "user nobody not found", "code": "NotFoundError"}


def test_history_modes_return_the_same_20_games_newest_first(client):
    slow = client.http.get("/api/v1/users/user_2/history?mode=antipattern")
    fast = client.http.get("/api/v1/users/user_2/history?mode=optimized")
    assert slow.status_code == fast.status_code == 200
    assert slow.json_body == fast.json_body
    games = fast.json_body["games"]
    assert len(games) == 20
    assert [g["played_at"] for g in games] == sorted((g["played_at"] for g in games), reverse=True)
    assert slow.headers["X-Db-Queries"] == "22" and fast.headers["X-Db-Queries"] == "2"


def test_unknown_mode_is_400(client):
    response = client.http.get("/api/v1/users/user_1/history?mode=fastest")
    assert response.status_code == 400
    assert "mode must be" in response.json_body["error"]


def test_n_plus_one_spans_meet_the_detector_conditions_and_the_fix_does_not(client, captured):
    with sentry_sdk.start_transaction(op="function.aws", name="history-antipattern"):
        client.http.get("/api/v1/users/user_3/history?mode=antipattern")
    with sentry_sdk.start_transaction(op="function.aws", name="history-optimized"):
        client.http.get("/api/v1/users/user_3/history?mode=optimized")
    sentry_sdk.flush()
    slow, fast = captured.transactions()
    slow_db = db_spans(slow)
    assert len(slow_db) >= 20
    repeated = [s for s in slow_db if s["description"] == slow_db[-1]["description"]]
    assert len(repeated) == 20 and len({s["parent_span_id"] for s in repeated}) == 1
    assert all(s["data"]["db.system"] == "mongodb" for s in slow_db)
    assert meets_n_plus_one_conditions(slow), "the N+1 must be what Sentry's detector flags"
    assert len(db_spans(fast)) <= 2
    assert not meets_n_plus_one_conditions(fast)
    assert slow["tags"]["performance.issue"] == "n_plus_one"
    assert slow["contexts"]["trace"]["data"]["db.queries_executed"] == 22


def test_connection_churn_opens_a_client_per_call_and_pooled_does_not(client, captured):
    for mode in ("antipattern", "optimized"):
        with sentry_sdk.start_transaction(op="function.aws", name=mode):
            response = client.http.get(f"/api/v1/users/user_1/balance?mode={mode}")
            assert response.json_body == {"user_id": "user_1", "balance": 1000}
    sentry_sdk.flush()
    churn, pooled = captured.transactions()
    assert [s["op"] for s in churn["spans"]].count("db.connection") == 1
    assert not any(s["op"] == "db.connection" for s in pooled["spans"])


def test_settling_a_spin_is_atomic_never_negative_and_idempotent(user_service, db_env):
    from slot_common.data_model import GAME_HISTORY, GAMES

    lambda_client = Client(user_service.app).lambda_

    def settle(spin: str, bet: int, payout: int, user: str = "user_1") -> dict:
        payload = {"user_id": user, "spin_id": spin, "bet": bet, "payout": payout, "symbols": ["a", "b", "c"]}
        return lambda_client.invoke("balance_transaction", payload).payload

    assert settle("s1", 100, 0) == {"status": 200, "balance": 900, "applied": True}
    assert settle("s1", 100, 0) == {"status": 200, "balance": 900, "applied": False}, "a retry pays nothing"
    assert settle("s2", 50, 100) == {"status": 200, "balance": 950, "applied": True}
    refused = settle("s3", 951, 0)
    assert refused["status"] == 400 and "exceeds the balance" in refused["error"]
    assert db_env[USERS].find_one({"_id": "user_1"})["balance"] == 950
    assert db_env[GAMES].count_documents({"spin_id": {"$in": ["s1", "s2", "s3"]}}) == 2
    assert db_env[GAME_HISTORY].count_documents({"session_id": {"$in": ["s1", "s2", "s3"]}}) == 2
    assert settle("s4", 1, 0, user="nobody")["status"] == 404
    assert settle("s5", 0, 0)["status"] == 400
    assert lambda_client.invoke("balance_transaction", {"user_id": "user_1"}).payload["status"] == 400
    db_env[USERS].update_one({"_id": "user_1"}, {"$set": {"balance": 1000}})


def test_a_settlement_whose_records_were_lost_is_completed_by_its_retry(user_service, db_env):
    from slot_common.data_model import GAMES
    from users.balances import Settlement, _apply, settle

    settlement = Settlement("user_2", "crashed-spin", 10, 30, ["x", "x", "x"])
    _apply(db_env, settlement)  # the function died after moving the money
    assert db_env[GAMES].count_documents({"spin_id": "crashed-spin"}) == 0
    assert settle(db_env, settlement) == {"balance": 1020, "applied": False}
    assert db_env[GAMES].count_documents({"spin_id": "crashed-spin"}) == 1
    db_env[USERS].update_one({"_id": "user_2"}, {"$set": {"balance": 1000}})


def test_concurrent_spins_never_overdraw(user_service, db_env):
    from concurrent.futures import ThreadPoolExecutor

    from users.balances import BalanceError, Settlement, settle

    db_env[USERS].update_one({"_id": "user_3"}, {"$set": {"balance": 100}})

    def spin(number: int) -> bool:
        try:
            settle(db_env, Settlement("user_3", f"race-{number}", 30, 0, ["a", "b", "c"]))
            return True
        except BalanceError:
            return False

    with ThreadPoolExecutor(8) as pool:
        accepted = sum(pool.map(spin, range(8)))
    assert accepted == 3
    assert db_env[USERS].find_one({"_id": "user_3"})["balance"] == 10
    db_env[USERS].update_one({"_id": "user_3"}, {"$set": {"balance": 1000}})


def test_spotlight_only_becomes_the_dsn_of_spotlights_envelope_endpoint(env):
    from slot_common.observability import spotlight_dsn

    assert spotlight_dsn("http://127.0.0.1:8969/stream") == "http://spotlight@127.0.0.1:8969/0"
    env(SENTRY_SPOTLIGHT="http://127.0.0.1:8969/stream", SENTRY_DSN="")
    try:
        assert init_sentry() is True
        assert sentry_sdk.get_client().options["dsn"] == "http://spotlight@127.0.0.1:8969/0"
    finally:
        reset_sentry()


def test_no_dsn_and_no_spotlight_is_a_clean_no_op(env):
    env(SENTRY_SPOTLIGHT="", SENTRY_DSN="")
    assert init_sentry() is False
