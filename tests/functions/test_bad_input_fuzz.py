"""A bounded fuzz of every route with hypothesis: bad input is always a 4xx JSON error,
never a 5xx, and a rejected request writes nothing."""

from __future__ import annotations

import json
import urllib.parse

import pytest
from chalice.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from slot_common.data_model import GAMES, USERS

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=8,
)
SPIN_BODIES = st.fixed_dictionaries(
    {},
    optional={
        "user_id": st.one_of(
            st.text(max_size=80), st.integers(), st.none(), st.sampled_from(["user_1", "ghost"])
        ),
        "bet": st.one_of(
            st.integers(-(10**20), 10**20), st.floats(allow_nan=False), st.text(max_size=5), st.booleans()
        ),
        "cpu_intensive": st.one_of(st.booleans(), st.text(max_size=5), st.integers()),
    },
)
PATH_TEXT = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="/?#%"),
    min_size=1,
    max_size=30,
)
FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.fixture
def clients(game_engine, user_service, analytics):
    with Client(game_engine.app) as engine, Client(user_service.app) as users, Client(analytics.app) as stats:
        yield engine, users, stats


def assert_clean_4xx_or_200(response) -> None:
    assert response.status_code < 500, (response.status_code, response.body)
    body = json.loads(response.body)
    if response.status_code >= 400:
        assert isinstance(body.get("error"), str) and body["error"]


@FUZZ
@given(body=st.one_of(SPIN_BODIES, JSON_VALUES))
def test_spin_never_answers_5xx_and_refusals_write_nothing(clients, db_env, body):
    engine, _, _ = clients
    before = (db_env[USERS].find_one({"_id": "user_1"})["balance"], db_env[GAMES].estimated_document_count())
    response = engine.http.post(
        "/api/v1/spin", headers={"Content-Type": "application/json"}, body=json.dumps(body)
    )
    assert_clean_4xx_or_200(response)
    if response.status_code != 200:
        assert (
            db_env[USERS].find_one({"_id": "user_1"})["balance"],
            db_env[GAMES].estimated_document_count(),
        ) == before


@FUZZ
@given(
    raw=st.binary(max_size=200),
    content_type=st.sampled_from(["application/json", "text/plain", "", "application/x-www-form-urlencoded"]),
)
def test_spin_with_raw_bodies_and_content_types(clients, raw, content_type):
    engine, _, _ = clients
    response = engine.http.post("/api/v1/spin", headers={"Content-Type": content_type}, body=raw)
    assert_clean_4xx_or_200(response)


@FUZZ
@given(
    user=PATH_TEXT,
    mode=st.one_of(st.none(), st.text(max_size=12), st.sampled_from(["antipattern", "optimized"])),
    days=st.one_of(st.none(), st.text(max_size=8), st.integers(-(10**6), 10**6)),
)
def test_read_routes_never_answer_5xx(clients, user, mode, days):
    _, users, stats = clients
    query = "&".join(f"{k}={v}" for k, v in (("mode", mode), ("days", days)) if v is not None)
    user = urllib.parse.quote(user, safe="")  # as a client sends it (';', a newline, ... escaped)
    for client, path in (
        (users, f"/api/v1/users/{user}/balance"),
        (users, f"/api/v1/users/{user}/history"),
        (stats, f"/api/v1/analytics/player-metrics/{user}"),
        (stats, "/api/v1/analytics/daily-stats"),
    ):
        response = client.http.get(f"{path}?{query}" if query else path)
        assert_clean_4xx_or_200(response)


def test_unknown_routes_and_methods_are_4xx_json(clients):
    engine, users, _ = clients
    assert_clean_4xx_or_200(users.http.delete("/api/v1/users/user_1/balance"))
    assert users.http.delete("/api/v1/users/user_1/balance").status_code == 405
    response = engine.http.post(
        "/api/v1/spin", headers={"Content-Type": "application/json"}, body="x" * 300_000
    )
    assert_clean_4xx_or_200(response)
