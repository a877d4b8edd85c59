"""The event files in events/: one API Gateway proxy event per scenario and per fix.

``python -m dev.events`` writes them from the scenario catalog (demo/scenario_catalog.py,
the one table); ``make invoke FUNCTION=<logical id> EVENT=events/<file>`` runs one.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from demo.scenario_catalog import DEFAULTS, Request, every_request
from localcloud.settings import PROJECT_ROOT

EVENTS_DIR = PROJECT_ROOT / "events"


@dataclass(frozen=True)
class EventSpec:
    file: str
    function: str  # the template's logical id
    method: str
    resource: str
    path_parameters: dict[str, str] = field(default_factory=dict)
    query: dict[str, str] = field(default_factory=dict)
    body: dict[str, Any] | None = None
    about: str = ""

    @classmethod
    def of(cls, request: Request) -> EventSpec:
        resolved = request.resolve(DEFAULTS)
        return cls(
            request.event_file,
            request.function,
            request.method,
            request.route,
            request.path_parameters(DEFAULTS),
            request.query_values(DEFAULTS),
            resolved.body,
            request.about,
        )


EVENTS = [EventSpec.of(request) for request in every_request()]


def api_gateway_event(spec: EventSpec) -> dict[str, Any]:
    """A REST API (v1) proxy event as API Gateway sends it for the stage `api`."""
    path = re.sub(r"\{(\w+)\}", lambda m: spec.path_parameters[m.group(1)], spec.resource)
    headers = {"Accept": "application/json", "Host": "localhost", "User-Agent": "make-invoke"}
    if spec.body is not None:
        headers["Content-Type"] = "application/json"
    return {
        "resource": spec.resource,
        "path": path,
        "httpMethod": spec.method,
        "headers": headers,
        "multiValueHeaders": {name: [value] for name, value in headers.items()},
        "queryStringParameters": spec.query or None,
        "multiValueQueryStringParameters": {k: [v] for k, v in spec.query.items()} or None,
        "pathParameters": spec.path_parameters or None,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": spec.resource,
            "httpMethod": spec.method,
            "path": f"/api{path}",
            "stage": "api",
            "requestId": "c6af9ac6-7b61-11e6-9a41-93e8deadbeef",
            "accountId": "000000000000",
            "apiId": "local",
            "protocol": "HTTP/1.1",
            "identity": {"sourceIp": "127.0.0.1", "userAgent": "make-invoke"},
        },
        "body": json.dumps(spec.body) if spec.body is not None else None,
        "isBase64Encoded": False,
    }


def render(spec: EventSpec) -> str:
    return json.dumps(api_gateway_event(spec), indent=2) + "\n"


def readme() -> str:
    lines = [
        "# Events",
        "",
        "API Gateway proxy events, one per scenario and per fix. Run one with",
        "`make invoke FUNCTION=<function> EVENT=events/<file>` (no Docker), or with",
        "`sam local invoke <function> -e events/<file>` where Docker exists.",
        "Written by `python -m dev.events`; do not edit by hand.",
        "",
        "| file | function | request | what it shows |",
        "|---|---|---|---|",
    ]
    for spec in EVENTS:
        query = "&".join(f"{k}={v}" for k, v in spec.query.items())
        request = f"{spec.method} {spec.resource}" + (f"?{query}" if query else "")
        lines.append(f"| `{spec.file}` | `{spec.function}` | `{request}` | {spec.about} |")
    return "\n".join(lines) + "\n"


def write(directory: Path = EVENTS_DIR) -> list[Path]:
    directory.mkdir(exist_ok=True)
    written = []
    for spec in EVENTS:
        (directory / spec.file).write_text(render(spec))
        written.append(directory / spec.file)
    (directory / "README.md").write_text(readme())
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dev.events", description=__doc__)
    parser.parse_args(argv)
    for path in write():
        print(path.relative_to(PROJECT_ROOT))
    return 0


if __name__ == "__main__":
    sys.exit(main())
