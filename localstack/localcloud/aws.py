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
        localstack_host=f"127.0.0.1:{settings.localstack_port}",
    )


def client(settings: Settings, service: str, **kwargs: Any) -> Any:
    """A boto3 client for ``service`` on the configured LocalStack."""
    return session(settings).client(service, **kwargs)
