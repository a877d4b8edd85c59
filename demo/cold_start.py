"""`make cold-start`: the next invoke of each cold-start function starts a new environment.

The way one does it on AWS: a configuration change of the function (a nonce variable)
retires its warm environments, so both sides of the cold-start pair run cold, every time.
`make scenarios` uses the same mechanism before it compares them.
"""

from __future__ import annotations

import sys
import time
from typing import Any

from demo.scenario_catalog import by_id
from deploy.local import describe_deployment
from localcloud import aws
from localcloud.settings import Settings


def force_cold_start(lambda_client: Any, function: str) -> None:
    """A configuration change retires the function's warm environments, as on AWS."""
    aws.update_function_environment(lambda_client, function, {"COLD_START_NONCE": str(time.time_ns())})


def main() -> int:
    settings = Settings.from_env()
    deployment = describe_deployment(settings)
    lambda_client = aws.client(settings, "lambda")
    for logical_id in by_id("cold-start").functions:
        force_cold_start(lambda_client, deployment.functions[logical_id])
        print(f"{logical_id}: its next invoke starts a new environment (a cold start)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
