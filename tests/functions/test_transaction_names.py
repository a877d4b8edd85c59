"""Every catalog request's transaction, as Sentry would receive it: named after its route
(source "route"), tagged scenario/mode like its twin, the function's name kept, and accepted
by Sentry's own Relay normalizer. Offline: Chalice's test client, a capturing transport."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from typing import Any

import pytest
import sentry_sdk
from chalice.test import Client

from demo.scenario_catalog import CASCADE_STEPS, EXTRA_REQUESTS, SCENARIOS, Request
from slot_common.observability import init_sentry
from slot_common.sentry_events import with_client_url
from tests.support import sentry_queries
from tests.support.relay import relay_errors
from tests.support.sentry_capture import CapturingTransport, reset_sentry

SERVICES = {  # logical id -> the function folder whose app serves it
    "UserServiceFunction": "user_service",
    "AnalyticsFunction": "analytics",
    "GameEngineFunction": "game_engine",
    "GameEngineEagerInitFunction": "game_engine",
}
SIDES = [(s.id, mode, request) for s in SCENARIOS for mode, request in s.sides()]


@pytest.fixture
def apps(env, user_service, analytics, game_engine) -> dict[str, Any]:
    # the CPU work small, the timeout's too: the names and tags are the point here
    env(CPU_SPIKE_LIMIT="2000", CPU_SPIKE_MAX_LIMIT="8000", LEAK_SPINS="50", LEAK_MB_PER_CALL="1")
    return {"user_service": user_service, "analytics": analytics, "game_engine": game_engine}


@pytest.fixture
def captured(env) -> Any:
    transport = CapturingTransport()
    init_sentry(transport=transport)
    yield transport
    reset_sentry()


@contextlib.contextmanager
def lambda_invocation(app: Any, function: str) -> Iterator[Client]:
    """An invocation as AwsLambdaIntegration frames it: its own scope and a transaction named
    after the function (source component); requests go through Chalice's test client."""
    with (
        Client(app) as client,
        sentry_sdk.isolation_scope(),
        sentry_sdk.start_transaction(op="function.aws", name=function, source="component"),
    ):
        sentry_sdk.get_isolation_scope().clear_breadcrumbs()  # earlier tests' are no invocation's
        yield client
    sentry_sdk.flush()


def invoke(apps: dict[str, Any], captured: CapturingTransport, request: Request) -> dict[str, Any]:
    """The request's one transaction."""
    resolved = request.resolve()
    body = json.dumps(resolved.body).encode() if resolved.body is not None else b""
    headers = {"Content-Type": "application/json"} if resolved.body is not None else {}
    captured.clear()
    with lambda_invocation(apps[SERVICES[request.function]].app, f"stack-{request.function}") as client:
        response = client.http.request(resolved.method, resolved.path, headers=headers, body=body)
    assert response.status_code < 500, response.body
    (transaction,) = captured.transactions()
    return transaction


@pytest.mark.parametrize(("scenario", "mode", "request_"), SIDES, ids=[f"{s}-{m}" for s, m, _ in SIDES])
def test_each_side_is_named_after_its_route_and_tagged_like_its_twin(
    apps, captured, scenario, mode, request_
):
    if scenario == "timeout" and mode == "antipattern":
        pytest.skip("killed at the Timeout: only its warning reaches Sentry (see the LocalStack test)")
    transaction = invoke(apps, captured, request_)
    assert transaction["transaction"] == request_.transaction
    assert transaction["transaction_info"] == {"source": "route"}
    tags = transaction["tags"]
    assert {"scenario": tags.get("scenario"), "mode": tags.get("mode")} == {
        "scenario": scenario,
        "mode": mode,
    }
    assert tags["faas.name"], "the function's name stays searchable"
    assert relay_errors(with_client_url(transaction)) == []


@pytest.mark.parametrize("request_", EXTRA_REQUESTS + CASCADE_STEPS, ids=lambda r: r.label)
def test_other_routes_are_named_after_their_route_too(apps, captured, request_):
    transaction = invoke(apps, captured, request_)
    assert (transaction["transaction"], transaction["transaction_info"]["source"]) == (
        request_.transaction,
        "route",
    )


def test_an_error_in_a_view_carries_the_route_name(apps, captured, monkeypatch):
    from pymongo.errors import ServerSelectionTimeoutError

    from users import balances

    def down(*_args: Any) -> None:
        raise ServerSelectionTimeoutError("no server")

    monkeypatch.setattr(balances, "get_balance", down)
    with lambda_invocation(apps["user_service"].app, "stack-users") as client:
        assert client.http.get("/api/v1/users/user_1/balance").status_code == 503
    (error,) = captured.items("event")
    assert (error["transaction"], error["transaction_info"]) == (
        "GET /api/v1/users/{user_id}/balance",
        {"source": "route"},
    )


def test_request_url_is_sent_as_a_client_writes_it_and_relay_keeps_it():
    event = {
        "type": "transaction",
        "transaction": "POST /api/v1/spin",
        "transaction_info": {"source": "route"},
        "start_timestamp": 1_700_000_000.0,
        "timestamp": 1_700_000_001.0,
        "contexts": {"trace": {"trace_id": "a" * 32, "span_id": "b" * 16, "op": "function.aws"}},
        "request": {"method": "POST", "url": "HTTP://127.0.0.1:4566/api/v1/spin"},
    }
    assert relay_errors(event), "Relay rewrites the upper-case scheme: the SDK's URL is not what is stored"
    fixed = with_client_url(event)
    assert fixed["request"]["url"] == "http://127.0.0.1:4566/api/v1/spin"
    assert relay_errors(fixed) == []


def test_the_dashboard_and_alerts_name_only_transactions_and_tags_that_exist(apps, captured):
    sent = [invoke(apps, captured, r) for s, m, r in SIDES if (s, m) != ("timeout", "antipattern")]
    names = {t["transaction"] for t in sent}
    tags: dict[str, set[str]] = {}
    for transaction in sent:
        for key, value in transaction["tags"].items():
            tags.setdefault(key, set()).add(value)
    tags["cold_start"] = {"true", "false"}  # "true" on an environment's first call: long past here
    tags["error.type"] = {"ServerlessTimeoutWarning", "ServerSelectionTimeoutError"}  # error events' field
    assert names == {request.transaction for _, _, request in SIDES}
    for search in sentry_queries.queries():
        for key, values in sentry_queries.terms(search):
            if key == "transaction":
                assert set(values) <= names, f"{search}: no such transaction {values}"
            elif key == "has":
                assert set(values) <= set(tags), search
            elif key in tags:
                assert set(values) <= tags[key], f"{search}: {key} is never {values}"
            else:
                assert key in sentry_queries.BUILT_IN, f"{search}: no tag {key}"
    assert sentry_queries.columns() <= set(tags) | {"transaction", "error.type"}
