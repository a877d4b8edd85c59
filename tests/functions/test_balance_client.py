"""The game engine's call to the user service is a real boto3 Lambda invoke (moto here)."""

from __future__ import annotations

import io
import json
import zipfile

import boto3
import pytest
import requests
from moto import mock_aws

from engine import balance_client


@pytest.fixture
def lambda_api(env, monkeypatch):
    env(USER_BALANCE_FUNCTION="user-balance", AWS_DEFAULT_REGION="us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws(config={"lambda": {"use_docker": False}}):
        iam = boto3.client("iam", region_name="us-east-1")
        role = iam.create_role(RoleName="r", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
        code = io.BytesIO()
        with zipfile.ZipFile(code, "w") as archive:
            archive.writestr("app.py", "def handler(event, context): return event")
        client = boto3.client("lambda", region_name="us-east-1")
        client.create_function(
            FunctionName="user-balance", Runtime="python3.13", Role=role, Handler="app.handler",
            Code={"ZipFile": code.getvalue()},
        )  # fmt: skip
        balance_client.lambda_client.cache_clear()
        yield
        balance_client.lambda_client.cache_clear()


def queue_result(result: dict) -> None:
    requests.post(
        "http://motoapi.amazonaws.com/moto-api/static/lambda-simple/response",
        json={"results": [json.dumps(result)], "region": "us-east-1"},
        timeout=5,
    )


def test_settle_sends_the_spin_and_the_trace_headers(lambda_api, env):
    import sentry_sdk

    from slot_common.observability import init_sentry
    from tests.support.sentry_capture import CapturingTransport, reset_sentry

    client = balance_client.lambda_client()
    sent = []
    real_invoke = client.invoke
    client.invoke = lambda **kwargs: sent.append(json.loads(kwargs["Payload"])) or real_invoke(**kwargs)
    queue_result({"status": 200, "balance": 1010, "applied": True})
    init_sentry(transport=CapturingTransport())
    try:
        with sentry_sdk.start_transaction(name="spin") as transaction:
            balance_client.settle("user_1", "spin-1", 10, 20, ["a", "a", "a"])
            trace_id = transaction.trace_id
    finally:
        reset_sentry()
    (payload,) = sent
    assert {k: payload[k] for k in ("user_id", "spin_id", "bet", "payout")} == {
        "user_id": "user_1", "spin_id": "spin-1", "bet": 10, "payout": 20,
    }  # fmt: skip
    assert payload["headers"]["sentry-trace"].startswith(trace_id)


def test_settle_returns_the_user_services_answer(lambda_api):
    queue_result({"status": 200, "balance": 1010, "applied": True})
    assert balance_client.settle("user_1", "spin-2", 10, 20, ["a", "a", "a"]) == {
        "status": 200,
        "balance": 1010,
        "applied": True,
    }


def test_a_refusal_keeps_its_status(lambda_api):
    queue_result({"status": 404, "error": "user nobody not found"})
    with pytest.raises(balance_client.BalanceRefusedError) as refused:
        balance_client.settle("nobody", "spin-3", 10, 0, ["a", "b", "c"])
    assert refused.value.status == 404 and "not found" in str(refused.value)
