"""The REPORT line as AWS prints it: written by the runtime, read by tools and tests."""

from __future__ import annotations

import math
import re

_FIELD = re.compile(r"([A-Za-z ]+): ([^\t]+)")


def report_line(
    request_id: str,
    duration_ms: float,
    memory_mb: int,
    max_memory_kb: int,
    init_ms: float | None = None,
    status: str | None = None,
    error_type: str | None = None,
) -> str:
    """``REPORT RequestId: ...`` with AWS's fields, tab-separated, in AWS's order."""
    parts = [
        f"REPORT RequestId: {request_id}",
        f"Duration: {duration_ms:.2f} ms",
        f"Billed Duration: {math.ceil(duration_ms + (init_ms or 0))} ms",
        f"Memory Size: {memory_mb} MB",
        f"Max Memory Used: {math.ceil(max_memory_kb / 1024)} MB",
    ]
    if init_ms is not None:
        parts.append(f"Init Duration: {init_ms:.2f} ms")
    if status:
        parts.append(f"Status: {status}")
    if error_type:
        parts.append(f"Error Type: {error_type}")
    return "\t".join(parts)


def report_fields(text: str, request_id: str | None = None) -> dict[str, str]:
    """The fields of the REPORT line in ``text`` (of ``request_id`` if given, else the last)."""
    fields: dict[str, str] = {}
    for line in text.splitlines():
        if not line.startswith("REPORT RequestId: "):
            continue
        parsed = dict(_FIELD.findall(line.removeprefix("REPORT ")))
        parsed = {key.strip(): value.strip() for key, value in parsed.items()}
        if request_id is None or parsed.get("RequestId") == request_id:
            fields = parsed
    return fields


def milliseconds(value: str) -> float:
    """``"12.34 ms"`` -> 12.34"""
    return float(value.removesuffix(" ms"))


def megabytes(value: str) -> int:
    """``"57 MB"`` -> 57"""
    return int(value.removesuffix(" MB"))
