"""`make logs FUNCTION=<logical id or function name>`: a function's CloudWatch Logs."""

from __future__ import annotations

import argparse
import contextlib
import sys
import time
from datetime import UTC, datetime

from deploy import stack
from deploy.local import stack_name
from localcloud import aws
from localcloud.settings import Settings


def function_name(settings: Settings, name: str) -> str:
    """A logical id of the deployed stack (UserServiceFunction) or a function name as it is."""
    cloudformation = aws.client(settings, "cloudformation")
    if stack.stack_status(cloudformation, stack_name()) is None:
        return name
    return stack.physical_ids(cloudformation, stack_name()).get(name, name)


def read_logs(settings: Settings, name: str, limit: int = 500, since_ms: int | None = None) -> list[str]:
    """The last ``limit`` lines of a function's logs (logged at or after ``since_ms``, if given)."""
    logs = aws.client(settings, "logs")
    group = f"/aws/lambda/{function_name(settings, name)}"
    events, token = [], None
    window = {"startTime": since_ms} if since_ms else {}
    try:
        while True:
            page = logs.filter_log_events(
                logGroupName=group, **window, **({"nextToken": token} if token else {})
            )
            events += page["events"]
            token = page.get("nextToken")
            if not token:
                break
    except logs.exceptions.ResourceNotFoundException:
        raise SystemExit(f"no logs yet in {group} (has the function been invoked?)") from None
    events = sorted(events, key=lambda event: event["timestamp"])[-limit:]
    return [
        f"{datetime.fromtimestamp(event['timestamp'] / 1000, UTC):%H:%M:%S} {event['message'].rstrip()}"
        for event in events
    ]


def report_of(settings: Settings, function: str, request_id: str, since_ms: int, timeout: float = 30) -> str:
    """An invoke's REPORT line from CloudWatch Logs, waiting for it: a function with extensions
    answers before its Invoke phase ends, so its REPORT is not in the answer's log tail."""
    logs = aws.client(settings, "logs")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(logs.exceptions.ResourceNotFoundException):
            page = logs.filter_log_events(logGroupName=f"/aws/lambda/{function}", startTime=since_ms)
            for event in page["events"]:  # matched here: LocalStack's filter patterns match too much
                if event["message"].startswith(f"REPORT RequestId: {request_id}"):
                    return str(event["message"])
        time.sleep(0.05)
    raise TimeoutError(f"no REPORT line for {request_id} in /aws/lambda/{function} within {timeout} s")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make logs", description=__doc__)
    parser.add_argument("function")
    parser.add_argument("--limit", type=int, default=500)
    args = parser.parse_args(argv)
    for line in read_logs(Settings.from_env(), args.function, args.limit):
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
