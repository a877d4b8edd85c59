"""The payloads Lambda itself writes (not the function): their shapes and limits, as AWS
answers them (recorded in LocalStack's AWS-validated snapshots).

An error Lambda reports for a function (a timeout, a runtime that exited, a response too
large) carries ``errorType`` and ``errorMessage`` only: no ``requestId`` and no ``stackTrace``,
which only the runtime client adds to the errors it reports itself. Standard library only.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

# a synchronous invoke's response: 6 MB, and AWS's check lets 100 bytes more through
MAX_RESPONSE_BYTES = 6 * 1024 * 1024 + 100
LIMIT_ENV = "LOCALSTACK_MAX_PAYLOAD_SIZE"  # LocalStack's LAMBDA_LIMITS_MAX_FUNCTION_PAYLOAD_SIZE_BYTES
RESPONSE_TOO_LARGE = "Function.ResponseSizeTooLarge"


def error_body(error_type: str, message: str) -> bytes:
    """An error payload of Lambda's own, shaped as AWS's."""
    return json.dumps({"errorType": error_type, "errorMessage": message}).encode()


def response_limit(env_vars: Mapping[str, str]) -> int:
    """AWS's limit, or the one LocalStack was configured with."""
    raw = env_vars.get(LIMIT_ENV, "")
    return int(raw) if raw.isdigit() else MAX_RESPONSE_BYTES


def too_large(payload: bytes, limit: int = MAX_RESPONSE_BYTES) -> bytes | None:
    """The error AWS answers instead of a response over the limit, or None if it fits."""
    if len(payload) <= limit:
        return None
    message = f"Response payload size exceeded maximum allowed payload size ({limit} bytes)."
    return json.dumps({"errorMessage": message, "errorType": RESPONSE_TOO_LARGE}).encode()


def with_aws_paths(body: bytes, host_to_aws: Mapping[str, str]) -> bytes:
    """A runtime's error report with AWS's paths in its stack trace (/var/task/app.py, not the
    host's folder): what a caller sees from AWS."""
    try:
        error = json.loads(body)
    except ValueError:
        return body
    frames = error.get("stackTrace") if isinstance(error, dict) else None
    if not isinstance(frames, list):
        return body
    for index, frame in enumerate(frames):
        if isinstance(frame, str):
            for host, aws in host_to_aws.items():
                frame = frame.replace(f'"{host}/', f'"{aws}/')
            frames[index] = frame
    return json.dumps(error).encode()
