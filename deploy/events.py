"""The event files in events/: one API Gateway proxy event per scenario and per fix.

``python -m deploy.events`` rewrites them from the table below (a test keeps the files and
the table in step); ``make invoke FUNCTION=<logical id> EVENT=events/<file>`` runs one.
"""

from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

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


SPIN = {"user_id": "user_1", "bet": 10}
EVENTS = [
    EventSpec("balance.json", "UserServiceFunction", "GET", "/api/v1/users/{user_id}/balance",
              {"user_id": "user_1"}, {"mode": "optimized"}, about="balance, one client per environment (fix)"),
    EventSpec("connection-churn.json", "UserServiceFunction", "GET", "/api/v1/users/{user_id}/balance",
              {"user_id": "user_1"}, {"mode": "antipattern"}, about="balance with a new MongoClient per call"),
    EventSpec("history-n-plus-one.json", "UserServiceFunction", "GET", "/api/v1/users/{user_id}/history",
              {"user_id": "user_1"}, {"mode": "antipattern"}, about="N+1: 1 query for ids + 1 per game"),
    EventSpec("history-optimized.json", "UserServiceFunction", "GET", "/api/v1/users/{user_id}/history",
              {"user_id": "user_1"}, {"mode": "optimized"}, about="history in one query (fix)"),
    EventSpec("spin.json", "GameEngineFunction", "POST", "/api/v1/spin", body=SPIN, about="a normal spin"),
    EventSpec("cpu-spike.json", "GameEngineFunction", "POST", "/api/v1/spin", query={"mode": "antipattern"},
              body={**SPIN, "cpu_intensive": True}, about="spin with the trial-division prime search"),
    EventSpec("cpu-spike-optimized.json", "GameEngineFunction", "POST", "/api/v1/spin",
              query={"mode": "optimized"}, body={**SPIN, "cpu_intensive": True}, about="the same with a sieve"),
    EventSpec("timeout.json", "GameEngineFunction", "POST", "/api/v1/scenarios/timeout",
              query={"mode": "antipattern"}, body=SPIN, about="CPU work past the Timeout: killed"),
    EventSpec("timeout-optimized.json", "GameEngineFunction", "POST", "/api/v1/scenarios/timeout",
              query={"mode": "optimized"}, body=SPIN, about="the same work, bounded (sieve)"),
    EventSpec("cold-start-eager.json", "GameEngineEagerInitFunction", "GET",
              "/api/v1/scenarios/cold-start/eager", about="heavy module-level init"),
    EventSpec("cold-start-lazy.json", "GameEngineFunction", "GET", "/api/v1/scenarios/cold-start/lazy",
              about="lazy init (fix)"),
    EventSpec("memory-leak.json", "GameEngineFunction", "POST", "/api/v1/scenarios/memory-leak",
              query={"mode": "antipattern"}, about="module-level cache that grows on every warm invoke"),
    EventSpec("memory-bounded.json", "GameEngineFunction", "POST", "/api/v1/scenarios/memory-leak",
              query={"mode": "optimized"}, about="bounded cache (fix)"),
    EventSpec("daily-stats-slow.json", "AnalyticsFunction", "GET", "/api/v1/analytics/daily-stats",
              query={"days": "30", "mode": "antipattern"}, about="index-hostile pipeline (COLLSCAN)"),
    EventSpec("daily-stats-indexed.json", "AnalyticsFunction", "GET", "/api/v1/analytics/daily-stats",
              query={"days": "30", "mode": "optimized"}, about="$match on the indexed timestamp first (fix)"),
    EventSpec("daily-stats-explain.json", "AnalyticsFunction", "GET", "/api/v1/analytics/daily-stats/explain",
              query={"days": "30"}, about="both query plans"),
    EventSpec("player-metrics-five-queries.json", "AnalyticsFunction", "GET",
              "/api/v1/analytics/player-metrics/{user_id}", {"user_id": "user_1"}, {"mode": "antipattern"},
              about="5 separate queries"),
    EventSpec("player-metrics-one-aggregation.json", "AnalyticsFunction", "GET",
              "/api/v1/analytics/player-metrics/{user_id}", {"user_id": "user_1"}, {"mode": "optimized"},
              about="one aggregation (fix)"),
]  # fmt: skip


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
        "Written by `python -m deploy.events`; do not edit by hand.",
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


if __name__ == "__main__":
    for path in write():
        print(path.relative_to(PROJECT_ROOT))
    sys.exit(0)
