"""Calls the user service's balance function: a real Lambda invoke that carries the trace."""

from __future__ import annotations

import json
from functools import cache
from typing import Any

import boto3
import sentry_sdk
from botocore.config import Config

from slot_common.settings import settings


class BalanceRefusedError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class BalanceServiceError(Exception):
    """The user service did not answer (crashed, timed out, or its database is down)."""


@cache
def lambda_client() -> Any:
    """One client per environment; AWS_ENDPOINT_URL (set by LocalStack) picks the endpoint."""
    return boto3.client("lambda", config=Config(retries={"max_attempts": 2}, read_timeout=30))


def change_balance(user_id: str, kind: str, amount: int, transaction_id: str) -> dict[str, Any]:
    """Debit or credit; retrying with the same transaction id is safe."""
    payload = {
        "user_id": user_id,
        "kind": kind,
        "amount": amount,
        "transaction_id": transaction_id,
        # AwsLambdaIntegration continues the trace from these, so one trace spans both functions
        "headers": {
            "sentry-trace": sentry_sdk.get_traceparent() or "",
            "baggage": sentry_sdk.get_baggage() or "",
        },
    }
    with sentry_sdk.start_span(op="function.aws.invoke", name=f"balance {kind}") as span:
        span.set_data("faas.invoked_name", settings().user_balance_function)
        response = lambda_client().invoke(
            FunctionName=settings().user_balance_function, Payload=json.dumps(payload).encode()
        )
        body = json.loads(response["Payload"].read() or b"null")
    if response.get("FunctionError") or not isinstance(body, dict):
        raise BalanceServiceError(f"user service failed: {body}")
    if body.get("status") != 200:
        raise BalanceRefusedError(body.get("status", 500), body.get("error", "refused"))
    return body
