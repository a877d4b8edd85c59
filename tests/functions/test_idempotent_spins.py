"""Idempotency-Key on spins: one key, one spin (engine/idempotency.py), on a real MongoDB."""

from __future__ import annotations

import io
import json
import time
import uuid

import pytest
from chalice.test import Client

from engine import idempotency
from slot_common.data_model import GAMES, IDEMPOTENCY, INDEXES, USERS


@pytest.fixture
def client(game_engine):
    with Client(game_engine.app) as test_client:
        yield test_client


def spin(client, body: dict, key: str | None, path: str = "/api/v1/spin"):
    headers = {"Content-Type": "application/json"}
    if key is not None:
        headers["Idempotency-Key"] = key
    return client.http.post(path, headers=headers, body=json.dumps(body))


def games_of(db, user: str) -> int:
    return db[GAMES].count_documents({"user_id": user})


def balance(db, user: str) -> int:
    return db[USERS].find_one({"_id": user})["balance"]


def test_a_repeat_returns_the_first_result_and_never_spins_again(client, game_engine, db_env):
    key = uuid.uuid4().hex
    before, games = balance(db_env, "user_1"), games_of(db_env, "user_1")
    first = spin(client, {"user_id": "user_1", "bet": 5}, key)
    assert first.status_code == 200, first.json_body
    for _ in range(3):
        again = spin(client, {"user_id": "user_1", "bet": 5}, key)
        assert again.status_code == 200
        assert again.json_body == first.json_body, "same spin id, symbols and balance"
        assert again.headers["Idempotent-Replayed"] == "true"
    assert games_of(db_env, "user_1") == games + 1, "one spin recorded"
    assert balance(db_env, "user_1") == before - 5 + first.json_body["payout"]
    assert len(game_engine.fake_lambda.payloads) == 1, "one settlement"


def test_without_a_key_every_request_spins(client, db_env):
    games = games_of(db_env, "user_2")
    for _ in range(2):
        assert spin(client, {"user_id": "user_2", "bet": 1}, None).status_code == 200
    assert games_of(db_env, "user_2") == games + 2


def test_the_same_key_with_another_body_is_refused_with_422(client, db_env):
    key = uuid.uuid4().hex
    assert spin(client, {"user_id": "user_1", "bet": 5}, key).status_code == 200
    games = games_of(db_env, "user_1")
    other = spin(client, {"user_id": "user_1", "bet": 6}, key)
    assert other.status_code == 422
    assert "different request" in other.json_body["error"]
    assert games_of(db_env, "user_1") == games


def test_a_repeat_while_the_first_runs_gets_409_with_retry_after(client, db_env):
    key = uuid.uuid4().hex
    fingerprint = idempotency.fingerprint(
        "spin", {"body": {"user_id": "user_1", "bet": 5}, "mode": "antipattern"}
    )
    claim = idempotency.begin(db_env, "spin", key, fingerprint, lock_seconds=20, ttl_seconds=60)
    assert isinstance(claim, idempotency.Claim)
    games = games_of(db_env, "user_1")
    busy = spin(client, {"user_id": "user_1", "bet": 5}, key)
    assert busy.status_code == 409
    assert 1 <= int(busy.headers["Retry-After"]) <= 20
    assert "in progress" in busy.json_body["error"]
    assert games_of(db_env, "user_1") == games


def test_a_retry_after_a_killed_attempt_settles_its_plan_once(client, game_engine, db_env):
    """The first attempt stored its plan, settled, and was killed before it could answer."""
    key = uuid.uuid4().hex
    fingerprint = idempotency.fingerprint(
        "spin", {"body": {"user_id": "user_3", "bet": 4}, "mode": "antipattern"}
    )
    claim = idempotency.begin(db_env, "spin", key, fingerprint, lock_seconds=0.5, ttl_seconds=60)
    plan = {
        "spin_id": uuid.uuid4().hex,
        "user_id": "user_3",
        "bet": 4,
        "symbols": ["🍒", "🍒", "🍒"],
        "win": True,
        "multiplier": 3,
        "payout": 12,
    }
    idempotency.store_plan(db_env, claim, plan)
    before = balance(db_env, "user_3")
    game_engine._settle(plan)  # the money moved; then the runtime was killed
    assert balance(db_env, "user_3") == before + 8
    time.sleep(0.6)  # the dead attempt's lock runs out (its Timeout)
    retry = spin(client, {"user_id": "user_3", "bet": 4}, key)
    assert retry.status_code == 200, retry.json_body
    assert retry.json_body["spin_id"] == plan["spin_id"]
    assert retry.json_body["balance"] == before + 8 == balance(db_env, "user_3"), "applied once"
    assert db_env[GAMES].count_documents({"spin_id": plan["spin_id"]}) == 1


def test_a_refused_spin_forgets_the_key(client, db_env):
    key = uuid.uuid4().hex
    db_env[USERS].update_one({"_id": "user_2"}, {"$set": {"balance": 3}})
    refused = spin(client, {"user_id": "user_2", "bet": 5}, key)
    assert refused.status_code == 400 and "exceeds the balance" in refused.json_body["error"]
    assert db_env[IDEMPOTENCY].find_one({"_id": f"spin:{key}"}) is None
    db_env[USERS].update_one({"_id": "user_2"}, {"$set": {"balance": 1000}})
    assert spin(client, {"user_id": "user_2", "bet": 5}, key).status_code == 200, "the key is free again"


def test_a_malformed_key_is_a_400(client):
    response = spin(client, {"user_id": "user_1", "bet": 1}, "bad key with spaces")
    assert response.status_code == 400
    assert "Idempotency-Key" in response.json_body["error"]


def test_keys_expire_by_a_ttl_index():
    (ttl,) = INDEXES[IDEMPOTENCY]
    assert ttl.document["key"] == {"expires_at": 1} and ttl.document["expireAfterSeconds"] == 0


def test_an_expired_record_is_not_replayed(client, db_env):
    key = uuid.uuid4().hex
    first = spin(client, {"user_id": "user_2", "bet": 1}, key)
    db_env[IDEMPOTENCY].update_one(
        {"_id": f"spin:{key}"}, {"$set": {"expires_at": first_expiry_in_the_past()}}
    )
    second = spin(client, {"user_id": "user_2", "bet": 1}, key)
    assert second.status_code == 200 and second.json_body["spin_id"] != first.json_body["spin_id"]


def first_expiry_in_the_past():
    from datetime import UTC, datetime, timedelta

    return datetime.now(UTC) - timedelta(seconds=1)


@pytest.fixture
def answer_lost(game_engine, monkeypatch):
    """The user service applies the settlement, then its answer is lost (it timed out), on
    the first invoke and on the balance client's own retry: the money moved, nobody heard."""
    real = game_engine.fake_lambda.invoke
    lost = {"on": True}

    def invoke(FunctionName: str, Payload: bytes) -> dict:  # noqa: N803 - boto3's names
        answer = real(FunctionName=FunctionName, Payload=Payload)
        if not lost["on"]:
            return answer
        timed_out = {"errorType": "Sandbox.Timedout", "errorMessage": "Task timed out after 3.00 seconds"}
        return {
            "StatusCode": 200,
            "FunctionError": "Unhandled",
            "Payload": io.BytesIO(json.dumps(timed_out).encode()),
        }

    monkeypatch.setattr(game_engine.fake_lambda, "invoke", invoke)
    return lost


def test_a_lost_answer_without_a_key_says_the_outcome_cannot_be_found_out(
    client, game_engine, db_env, answer_lost
):
    before, games = balance(db_env, "user_2"), games_of(db_env, "user_2")
    lost = spin(client, {"user_id": "user_2", "bet": 3}, None)
    assert lost.status_code == 503
    error = lost.json_body["error"]
    assert "outcome is unknown" in error and "may have been recorded" in error
    assert "Without an Idempotency-Key it cannot be found out" in error
    assert "/api/v1/users/user_2/balance" in error and "sending it again is a new spin" in error
    assert games_of(db_env, "user_2") == games + 1, "recorded while its client got an error"
    spin_id = game_engine.fake_lambda.payloads[-1]["spin_id"]
    recorded = db_env[GAMES].find_one({"spin_id": spin_id})
    assert balance(db_env, "user_2") == before - 3 + recorded["payout"], "and the money moved"


def test_a_lost_answer_with_a_key_is_revealed_by_the_retry(client, game_engine, db_env, answer_lost):
    key = uuid.uuid4().hex
    games = games_of(db_env, "user_3")
    lost = spin(client, {"user_id": "user_3", "bet": 2}, key)
    assert lost.status_code == 503
    assert "Retry with the same Idempotency-Key to learn it" in lost.json_body["error"]
    assert "Without an Idempotency-Key" not in lost.json_body["error"]
    answer_lost["on"] = False
    retry = spin(client, {"user_id": "user_3", "bet": 2}, key)
    assert retry.status_code == 200, retry.json_body
    assert retry.json_body["balance"] == balance(db_env, "user_3")
    assert games_of(db_env, "user_3") == games + 1, "the retry revealed the spin; it was recorded once"
    spin_ids = {payload["spin_id"] for payload in game_engine.fake_lambda.payloads}
    assert spin_ids == {retry.json_body["spin_id"]}, "every settlement was of the one planned spin"
