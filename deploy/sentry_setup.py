"""Apply the dashboard and alert rules in sentry/ to a Sentry organisation through its API.

Runs only when SENTRY_AUTH_TOKEN, SENTRY_ORG and SENTRY_PROJECT are set (SENTRY_URL defaults
to https://sentry.io). Idempotent: an existing dashboard or rule with the same name is
updated, not duplicated.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SENTRY_DIR = Path(__file__).resolve().parents[1] / "sentry"
REQUIRED = ("SENTRY_AUTH_TOKEN", "SENTRY_ORG", "SENTRY_PROJECT")


@dataclass(frozen=True)
class ApiRequest:
    method: str
    path: str
    body: dict[str, Any] | None = None


class SentryApi:
    def __init__(self, base_url: str, token: str) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token

    def build(self, request: ApiRequest) -> urllib.request.Request:
        data = None if request.body is None else json.dumps(request.body).encode()
        return urllib.request.Request(
            f"{self.base_url}{request.path}",
            data=data,
            method=request.method,
            headers={"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"},
        )

    def send(self, request: ApiRequest) -> Any:
        with urllib.request.urlopen(self.build(request), timeout=30) as response:
            raw = response.read()
            return json.loads(raw) if raw else None


def _upsert(api: SentryApi, list_path: str, item_path: str, name_key: str, body: dict) -> ApiRequest:
    existing = api.send(ApiRequest("GET", list_path)) or []
    match = next((item for item in existing if item.get(name_key) == body[name_key]), None)
    request = (
        ApiRequest("PUT", item_path.format(id=match["id"]), body)
        if match
        else ApiRequest("POST", list_path, body)
    )
    api.send(request)
    return request


def apply(api: SentryApi, org: str, project: str) -> list[ApiRequest]:
    done = []
    dashboard = json.loads((SENTRY_DIR / "dashboard.json").read_text())
    done.append(
        _upsert(
            api,
            f"/api/0/organizations/{org}/dashboards/",
            f"/api/0/organizations/{org}/dashboards/{{id}}/",
            "title",
            dashboard,
        )
    )
    rules = json.loads((SENTRY_DIR / "alert-rules.json").read_text())
    for rule in rules["metric_alerts"]:
        body = {**rule, "projects": [project]}
        done.append(
            _upsert(
                api,
                f"/api/0/organizations/{org}/alert-rules/",
                f"/api/0/organizations/{org}/alert-rules/{{id}}/",
                "name",
                body,
            )
        )
    for rule in rules["issue_alerts"]:
        done.append(
            _upsert(
                api,
                f"/api/0/projects/{org}/{project}/rules/",
                f"/api/0/projects/{org}/{project}/rules/{{id}}/",
                "name",
                rule,
            )
        )
    return done


def main(argv: list[str] | None = None) -> int:
    """Applies sentry/ (dashboard, alert rules) to the organisation the environment names."""
    parser = argparse.ArgumentParser(
        prog="python -m deploy.sentry_setup",
        description="Apply sentry/ (a dashboard and alert rules) to your Sentry organisation. "
        f"Reads {', '.join(REQUIRED)} (and SENTRY_URL, default https://sentry.io) from the environment.",
    )
    parser.parse_args(argv)
    missing = [name for name in REQUIRED if not os.environ.get(name)]
    if missing:
        print(
            f"sentry_setup: set {', '.join(missing)} to apply sentry/ to your organisation", file=sys.stderr
        )
        return 2
    api = SentryApi(os.environ.get("SENTRY_URL", "https://sentry.io"), os.environ["SENTRY_AUTH_TOKEN"])
    try:
        for request in apply(api, os.environ["SENTRY_ORG"], os.environ["SENTRY_PROJECT"]):
            print(f"sentry_setup: {request.method} {request.path}")
    except urllib.error.HTTPError as error:
        print(f"sentry_setup: {error.code} from {error.url}: {error.read()[:500]!r}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
