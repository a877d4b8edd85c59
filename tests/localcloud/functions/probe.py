"""A test function that reports what it sees and can misbehave on request."""

import json
import os
import sys
import time

import layer_helper  # from the test layer: proves /opt/python is importable

INITIALISED_AT = time.time()
print("probe: module initialised")
_hoard = []


def _importable() -> dict:
    """What this function can import: found at init, which AWS runs unthrottled (a probe of
    128 MB gets a fourteenth of a vCPU in its invokes, where importing boto3 takes seconds)."""
    modules = {}
    for name in ("pytest", "sentry_sdk", "localstack", "chalice", "pymongo", "boto3", "awslambdaric"):
        try:
            modules[name] = __import__(name).__file__
        except ImportError:
            modules[name] = None
    return modules


MODULES = _importable()


def handler(event, context):
    print(f"probe: handling {json.dumps(event)}")
    if event.get("busy_seconds"):
        until = time.monotonic() + event["busy_seconds"]
        while time.monotonic() < until:
            pass
    if event.get("allocate_mb"):
        block = bytearray(event["allocate_mb"] * 1024 * 1024)
        for offset in range(0, len(block), 4096):
            block[offset] = 1
        _hoard.append(block)
    if event.get("raise"):
        raise ValueError(event["raise"])
    modules = MODULES
    return {
        "pid": os.getpid(),
        "initialised_at": INITIALISED_AT,
        "env": dict(os.environ),
        "sys_path": sys.path,
        "cwd": os.getcwd(),
        "function_arn": context.invoked_function_arn,
        "remaining_ms": context.get_remaining_time_in_millis(),
        "request_id": context.aws_request_id,
        "layer": layer_helper.WHERE,
        "modules": modules,
    }


def api_handler(event, context):
    """API Gateway proxy integration; ``?busy=<seconds>`` keeps the CPU busy first."""
    busy = float((event.get("queryStringParameters") or {}).get("busy", 0))
    until = time.monotonic() + busy
    while time.monotonic() < until:
        pass
    return {
        "statusCode": 200,
        "headers": {"Content-Type": "application/json"},
        "body": json.dumps(
            {"path": event.get("path"), "method": event.get("httpMethod"), "pid": os.getpid()}
        ),
    }
