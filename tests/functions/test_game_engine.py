"""The game engine through Chalice's test client; balance calls reach the user service."""

from __future__ import annotations

import random

import pytest
import sentry_sdk
from chalice.test import Client

from slot_common.data_model import GAME_HISTORY, GAMES, USERS
from slot_common.modes import Mode
from slot_common.observability import init_sentry
from tests.support.sentry_capture import CapturingTransport, reset_sentry

JSON = {"Content-Type": "application/json"}


@pytest.fixture
def client(game_engine):
    with Client(game_engine.app) as test_client:
        yield test_client


def post(client, path: str, body, headers=JSON):
    import json

    raw = body if isinstance(body, (str, bytes)) else json.dumps(body)
    return client.http.post(path, headers=headers, body=raw)


def balance(db, user_id: str) -> int:
    return db[USERS].find_one({"_id": user_id})["balance"]


def test_spin_debits_credits_and_records_the_game(client, game_engine, db_env):
    before = balance(db_env, "user_1")
    games_before = db_env[GAMES].count_documents({"user_id": "user_1"})
    response = post(client, "/api/v1/spin", {"user_id": "user_1", "bet": 10})
    assert response.status_code == 200, response.json_body
    body = response.json_body
    assert body["balance"] == before - 10 + body["payout"] == balance(db_env, "user_1")
    assert body["payout"] == 10 * body["multiplier"]
    assert db_env[GAMES].count_documents({"user_id": "user_1"}) == games_before + 1
    assert db_env[GAME_HISTORY].find_one({"session_id": body["spin_id"]})["bet_amount"] == 10
    assert db_env[GAMES].find_one({"spin_id": body["spin_id"]})["payout"] == body["payout"]
    (settlement,) = game_engine.fake_lambda.payloads
    assert (settlement["spin_id"], settlement["bet"], settlement["payout"]) == (
        body["spin_id"],
        10,
        body["payout"],
    )


def test_spin_passes_the_trace_to_the_user_service(client, game_engine, env):
    transport = CapturingTransport()
    init_sentry(transport=transport)
    try:
        with sentry_sdk.start_transaction(op="function.aws", name="spin") as transaction:
            post(client, "/api/v1/spin", {"user_id": "user_2", "bet": 5})
            trace_id = transaction.trace_id
    finally:
        reset_sentry()
    headers = game_engine.fake_lambda.payloads[0]["headers"]
    assert headers["sentry-trace"].startswith(trace_id)
    assert f"sentry-trace_id={trace_id}" in headers["baggage"]


BAD_SPINS = [
    ({"user_id": "user_1"}, 400, "missing field(s): bet"),
    ({"bet": 10}, 400, "missing field(s): user_id"),
    ({"user_id": "user_1", "bet": "10"}, 400, "bet must be an integer"),
    ({"user_id": "user_1", "bet": 1.5}, 400, "bet must be an integer"),
    ({"user_id": "user_1", "bet": True}, 400, "bet must be an integer"),
    ({"user_id": "user_1", "bet": 0}, 400, "bet must be greater than 0"),
    ({"user_id": "user_1", "bet": -5}, 400, "bet must be greater than 0"),
    ({"user_id": "user_1", "bet": 10**30}, 400, "bet must be at most"),
    ({"user_id": 7, "bet": 10}, 400, "user_id must be a non-empty string"),
    ({"user_id": "", "bet": 10}, 400, "user_id must be a non-empty string"),
    ({"user_id": "user_1", "bet": 10, "cpu_intensive": "yes"}, 400, "cpu_intensive must be true or false"),
    ({"user_id": "nobody", "bet": 10}, 404, "user nobody not found"),
    ([1, 2], 400, "request body must be a JSON object"),
    ("{not json", 400, "request body is not valid JSON"),
]


@pytest.mark.parametrize(("body", "status", "message"), BAD_SPINS)
def test_bad_spins_are_refused_and_write_nothing(client, db_env, body, status, message):
    before = (balance(db_env, "user_1"), db_env[GAMES].estimated_document_count())
    response = post(client, "/api/v1/spin", body)
    assert response.status_code == status
    assert message in response.json_body["error"]
    assert (balance(db_env, "user_1"), db_env[GAMES].estimated_document_count()) == before


def test_bet_above_the_balance_is_400(client, db_env):
    db_env[USERS].update_one({"_id": "user_3"}, {"$set": {"balance": 5}})
    response = post(client, "/api/v1/spin", {"user_id": "user_3", "bet": 6})
    assert response.status_code == 400 and "exceeds the balance" in response.json_body["error"]
    assert balance(db_env, "user_3") == 5
    db_env[USERS].update_one({"_id": "user_3"}, {"$set": {"balance": 1000}})


def test_wrong_content_type_is_400(client):
    response = post(
        client, "/api/v1/spin", '{"user_id": "user_1", "bet": 1}', headers={"Content-Type": "text/plain"}
    )
    assert response.status_code == 400 and "Content-Type" in response.json_body["error"]


def test_cpu_spike_modes_return_the_same_numbers_with_their_spans_tags_and_data(client, env, monkeypatch):
    env(CPU_SPIKE_LIMIT="60000")
    transport = CapturingTransport()
    init_sentry(transport=transport)
    bodies = {}
    try:
        for mode in ("antipattern", "optimized"):
            with sentry_sdk.start_transaction(op="function.aws", name=mode):
                response = post(
                    client,
                    f"/api/v1/spin?mode={mode}",
                    {"user_id": "user_2", "bet": 1, "cpu_intensive": True},
                )
                assert response.status_code == 200
                bodies[mode] = response.json_body["cpu"]
        sentry_sdk.flush()
    finally:
        reset_sentry()
    assert bodies["antipattern"] == bodies["optimized"]
    assert bodies["optimized"]["primes_found"] == 6057  # primes below 60,000
    slow, fast = transport.transactions()
    assert {s["op"] for s in slow["spans"]} >= {"cpu.prime_generation", "cpu.heavy_calculation"}
    assert slow["tags"]["performance.issue"] == "cpu_spike"
    assert (
        slow["tags"]["calculation_method"] == "intensive" and fast["tags"]["calculation_method"] == "normal"
    )
    assert slow["contexts"]["trace"]["data"]["cpu.calculations_performed"] == 6057


def test_the_spike_at_1024mb_is_the_same_work_and_says_the_memory_it_ran_at(client, env):
    """The page's "memory is CPU" comparison reads each side's MemorySize from its answer."""
    env(CPU_SPIKE_LIMIT="60000", AWS_LAMBDA_FUNCTION_MEMORY_SIZE="1024")
    body = {"user_id": "user_2", "bet": 1, "cpu_intensive": True}
    at_1024 = post(client, "/api/v1/scenarios/cpu-spike/1024mb?mode=antipattern", body)
    env(CPU_SPIKE_LIMIT="60000", AWS_LAMBDA_FUNCTION_MEMORY_SIZE="1769")
    at_1769 = post(client, "/api/v1/spin?mode=antipattern", body)
    assert at_1024.status_code == at_1769.status_code == 200, (at_1024.json_body, at_1769.json_body)
    assert at_1024.headers["X-Mode"] == "antipattern"
    assert (at_1024.json_body["cpu"]["memory_mb"], at_1769.json_body["cpu"]["memory_mb"]) == (1024, 1769)
    assert at_1024.json_body["cpu"]["primes_found"] == at_1769.json_body["cpu"]["primes_found"] == 6057


def test_eager_init_does_its_work_at_import_and_lazy_init_does_not(db_env, user_service, env, monkeypatch):
    """The twins answer alike; what differs is the work at import (the Init Duration)."""
    from engine import balance_client, warmup
    from tests.functions.conftest import InProcessLambda, load_app

    monkeypatch.setattr(balance_client, "lambda_client", lambda: InProcessLambda(user_service.app))
    bodies = {}
    for eager in ("false", "true"):
        for loaded in (warmup.prime_table, warmup.rtp_table, warmup.indexes_ready):
            loaded.cache_clear()
        env(EAGER_INIT=eager)
        module = load_app("game_engine")
        prepared = [loaded.cache_info().currsize for loaded in (warmup.prime_table, warmup.rtp_table)]
        assert prepared == ([1, 1] if eager == "true" else [0, 0]), f"EAGER_INIT={eager}: {prepared}"
        with Client(module.app) as client:
            route = "eager" if eager == "true" else "lazy"
            response = client.http.get(f"/api/v1/scenarios/cold-start/{route}")
        assert response.status_code == 200
        assert response.headers["X-Mode"] == ("antipattern" if eager == "true" else "optimized")
        bodies[eager] = response.json_body
    assert bodies["true"] == bodies["false"], "the same answer, with and without the heavy init"


def test_memory_leak_grows_and_the_bounded_cache_does_not(client, game_engine, env):
    env(LEAK_SPINS="2000", LEAK_MB_PER_CALL="8", AWS_LAMBDA_FUNCTION_MEMORY_SIZE="1769")
    from engine import memory_leak

    memory_leak._audit_logs.clear()
    leaking = [client.http.post("/api/v1/scenarios/memory-leak?mode=antipattern") for _ in range(3)]
    bounded = [client.http.post("/api/v1/scenarios/memory-leak?mode=optimized") for _ in range(3)]
    assert all(r.status_code == 200 for r in leaking + bounded)
    assert {r.headers["X-Memory-Limit-Mb"] for r in leaking + bounded} == {"1769"}, "the kill's bound"
    assert leaking[0].json_body == bounded[0].json_body == bounded[2].json_body
    assert len(memory_leak._audit_logs) == 3, "the anti-pattern keeps every audit log"
    assert all(len(export) == 8 * 1024 * 1024 for _, export in memory_leak._audit_logs)
    assert memory_leak._summary.cache_info().currsize == 1
    memory_leak._audit_logs.clear()


class FakeLambdaConfig:
    """Lambda's configuration API as the reset uses it: each update a new configuration."""

    def __init__(self) -> None:
        self.variables: dict[str, dict[str, str]] = {}
        self.waited: list[str] = []

    def get_function_configuration(self, FunctionName: str) -> dict:  # noqa: N803 - boto3's names
        return {"Environment": {"Variables": dict(self.variables.get(FunctionName, {"KEPT": "1"}))}}

    def update_function_configuration(self, FunctionName: str, Environment: dict) -> None:  # noqa: N803
        self.variables[FunctionName] = Environment["Variables"]

    def get_waiter(self, name: str):
        assert name == "function_updated_v2"
        return self

    def wait(self, FunctionName: str, WaiterConfig: dict) -> None:  # noqa: N803
        self.waited.append(FunctionName)


def test_forced_cold_start_changes_both_functions_and_waits(client, env, monkeypatch):
    from engine import cold_start_reset

    fake = FakeLambdaConfig()
    monkeypatch.setattr(cold_start_reset, "lambda_client", lambda: fake)
    env(COLD_START_FUNCTIONS="stack-game-engine-eager-init,stack-game-engine")
    nonces = []
    for _ in range(2):
        response = post(client, "/api/v1/scenarios/cold-start/reset", {})
        assert response.status_code == 200, response.json_body
        assert response.json_body == {"reset": ["stack-game-engine-eager-init", "stack-game-engine"]}
        nonces.append(fake.variables["stack-game-engine"]["COLD_START_NONCE"])
    assert fake.waited == ["stack-game-engine-eager-init", "stack-game-engine"] * 2, "answers when done"
    assert nonces[0] != nonces[1], "every press is a new configuration"
    assert fake.variables["stack-game-engine-eager-init"]["KEPT"] == "1", "other variables are kept"


def test_the_timeout_work_has_its_own_size_whatever_the_spike(client, env):
    """A quicker CPU spike (a smaller CPU_SPIKE_LIMIT) leaves the timeout scenario's work past the
    Timeout: the sieve (the fix, same size) finds the primes below TIMEOUT_WORK_LIMIT either way."""
    for spike in ("60000", "1000"):
        env(CPU_SPIKE_LIMIT=spike, TIMEOUT_WORK_LIMIT="120000")
        response = post(client, "/api/v1/scenarios/timeout?mode=optimized", {"user_id": "user_2", "bet": 1})
        assert response.status_code == 200, response.json_body
        assert response.json_body["cpu"]["primes_found"] == 11301, (spike, response.json_body["cpu"])


def test_dangerous_scenarios_can_be_switched_off(client, env):
    env(DANGEROUS_SCENARIOS_ENABLED="false")
    for path in (
        "/api/v1/scenarios/memory-leak",
        "/api/v1/scenarios/timeout",
        "/api/v1/scenarios/cold-start/reset",
    ):
        response = post(client, path, {"user_id": "user_1", "bet": 1})
        assert response.status_code == 403 and "disabled" in response.json_body["error"]


def test_reels_return_about_90_percent_over_100000_spins():
    from engine import reels

    rng = random.Random(2026)
    spins, paid = 200_000, 0
    for _ in range(spins):
        paid += reels.spin(rng).multiplier
    assert 0.88 <= paid / spins <= 0.92
    assert pytest.approx(0.9 / 4.1) == reels.WIN_PROBABILITY


def test_losing_spins_never_show_three_of_a_kind():
    from engine import reels

    rng = random.Random(7)
    for _ in range(20_000):
        outcome = reels.spin(rng)
        assert outcome.win == (len(set(outcome.symbols)) == 1)


def test_trial_division_and_sieve_agree():
    from engine import cpu_work

    assert cpu_work.primes_trial_division(5000) == cpu_work.primes_sieve(5000)
    assert cpu_work.prime_report(30000, Mode.ANTIPATTERN) == cpu_work.prime_report(30000, Mode.OPTIMIZED)
