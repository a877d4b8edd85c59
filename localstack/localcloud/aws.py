"""The one place that builds boto3 clients for the local cloud (through localstack-client).

The same code reaches LocalStack on the host or in Docker: only the endpoint differs.
"""

from __future__ import annotations

from typing import Any

from localstack_client.session import Session

from localcloud.settings import Settings


def session(settings: Settings) -> Session:
    return Session(
        aws_access_key_id="test",
        aws_secret_access_key="test",
        region_name=settings.region,
        localstack_host=settings.localstack_url.split("://", 1)[-1],
    )


def client(settings: Settings, service: str, **kwargs: Any) -> Any:
    """A boto3 client for ``service`` on the configured LocalStack."""
    return session(settings).client(service, **kwargs)


def update_function_environment(lambda_client: Any, name: str, changes: dict[str, str]) -> None:
    """Changes a function's variables (a new configuration: its next invoke is a cold start)
    and waits until the update is done."""
    configuration = lambda_client.get_function_configuration(FunctionName=name)
    variables = dict(configuration.get("Environment", {}).get("Variables", {})) | changes
    lambda_client.update_function_configuration(FunctionName=name, Environment={"Variables": variables})
    lambda_client.get_waiter("function_updated_v2").wait(FunctionName=name)
