"""Forces a cold start of the cold-start pair from the page, which has no AWS credentials.

The same mechanism as `make cold-start` (demo/cold_start.py): a configuration change of each
function (a COLD_START_NONCE variable) retires its warm environments, as on AWS, so the next
invoke of both starts a new one. It answers only when both updates are done, so that the
page's next press runs cold.
"""

from __future__ import annotations

import time
from functools import cache
from typing import Any

import boto3
from botocore.config import Config

from slot_common.observability import span


@cache
def lambda_client() -> Any:
    """One client per environment; AWS_ENDPOINT_URL (set by LocalStack) picks the endpoint."""
    return boto3.client("lambda", config=Config(retries={"max_attempts": 3}, read_timeout=30))


def force_cold_start(function: str) -> None:
    """A new configuration of `function`: its next invoke is a cold start."""
    client = lambda_client()
    with span("cold_start.reset", function):
        configuration = client.get_function_configuration(FunctionName=function)
        variables = dict(configuration.get("Environment", {}).get("Variables", {}))
        variables["COLD_START_NONCE"] = str(time.time_ns())
        client.update_function_configuration(FunctionName=function, Environment={"Variables": variables})
        client.get_waiter("function_updated_v2").wait(
            FunctionName=function, WaiterConfig={"Delay": 1, "MaxAttempts": 20}
        )


def force_cold_starts(functions: list[str]) -> list[str]:
    """Every function of the pair; the names come from COLD_START_FUNCTIONS (template.yaml)."""
    for function in functions:
        force_cold_start(function)
    return functions
