"""sentry-sdk with AwsLambdaIntegration(timeout_warning=True), sending to SENTRY_DSN."""

import os
import time

import sentry_sdk
from sentry_sdk.integrations.aws_lambda import AwsLambdaIntegration

sentry_sdk.init(
    dsn=os.environ["SENTRY_DSN"],
    integrations=[AwsLambdaIntegration(timeout_warning=True)],
    traces_sample_rate=1.0,
)


def handler(event, context):
    with sentry_sdk.start_span(op="test.work", name="busy work"):
        until = time.monotonic() + event.get("busy_seconds", 0)
        while time.monotonic() < until:
            pass
    return {"ok": True}
