"""A function with the project's one Sentry set-up (slot_common): with the sentry-relay layer
and SENTRY_RELAY_PORT it sends through the relay extension."""

import time

from slot_common.observability import init_sentry, span

init_sentry()


def handler(event, context):
    with span(op="test.work", name="busy work"):
        until = time.monotonic() + event.get("busy_seconds", 0)
        while time.monotonic() < until:
            pass
    return {"request_id": context.aws_request_id}
