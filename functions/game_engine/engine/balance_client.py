"""Calls the user service's balance function: a real Lambda invoke that carries the trace."""

from __future__ import annotations

import json
from functools import cache
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from slot_common.observability import span, trace_headers
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


def settle(
    user_id: str, spin_id: str, bet: int, payout: int, symbols: list[str], retry: bool = True
) -> dict[str, Any]:
    """Moves the money and records the game in the user service. The spin id makes it safe to
    retry: a settlement whose answer was lost is applied once and completed by the retry."""
    try:
        return _settle_once(user_id, spin_id, bet, payout, symbols)
    except BalanceServiceError:
        if not retry:
            raise
        return _settle_once(user_id, spin_id, bet, payout, symbols)


def _settle_once(user_id: str, spin_id: str, bet: int, payout: int, symbols: list[str]) -> dict[str, Any]:
    payload = {
        "user_id": user_id,
        "spin_id": spin_id,
        "bet": bet,
        "payout": payout,
        "symbols": symbols,
        # AwsLambdaIntegration continues the trace from these, so one trace spans both functions
        "headers": trace_headers(),
    }
    with span(op="function.aws.invoke", name="settle spin") as invoking:
        invoking.set_data("faas.invoked_name", settings().user_balance_function)
        try:
            response = lambda_client().invoke(
                FunctionName=settings().user_balance_function, Payload=json.dumps(payload).encode()
            )
            body = json.loads(response["Payload"].read() or b"null")
        except (BotoCoreError, ClientError, ValueError) as error:
            raise BalanceServiceError(f"user service unreachable: {error}") from error
    if response.get("FunctionError") or not isinstance(body, dict):
        detail = (
            f"{body.get('errorType')}: {body.get('errorMessage', '')[:200]}"
            if isinstance(body, dict)
            else body
        )
        raise BalanceServiceError(f"user service failed: {detail}")
    if body.get("status") != 200:
        raise BalanceRefusedError(body.get("status", 500), body.get("error", "refused"))
    return body
