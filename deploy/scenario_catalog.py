"""The scenarios and their fixes, as requests: what `make scenarios` runs and the page's
buttons send (frontend/src/scenarios.js holds the same table; a test keeps them in step)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from deploy.detectors import Verdict, error_verdict, n_plus_one_verdict

USER = "user_1"
SPIN = {"user_id": USER, "bet": 10}
DAYS = 7


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    body: dict[str, Any] | None = None
    expected_status: int = 200


@dataclass(frozen=True)
class Scenario:
    id: str
    title: str
    antipattern: Request
    fix: Request | None
    signal: str  # the Sentry signal a presenter talks about
    functions: tuple[str, ...] = field(default=())  # template logical ids whose transactions count
    sentry: Verdict = field(
        default_factory=lambda: Verdict("no issue", None, "a trace to read")
    )  # by Sentry's rules


SCENARIOS = [
    Scenario(
        "n-plus-one",
        "N+1 queries",
        Request("GET", f"/api/v1/users/{USER}/history?mode=antipattern"),
        Request("GET", f"/api/v1/users/{USER}/history?mode=optimized"),
        "N+1 db spans that meet Sentry's detector; none for the fix",
        ("UserServiceFunction",),
        n_plus_one_verdict(True),
    ),
    Scenario(
        "cpu-spike",
        "CPU spike",
        Request("POST", "/api/v1/spin?mode=antipattern", {**SPIN, "cpu_intensive": True}),
        Request("POST", "/api/v1/spin?mode=optimized", {**SPIN, "cpu_intensive": True}),
        "cpu.* spans, performance.issue=cpu_spike, calculation_method, cpu.calculations_performed",
        ("GameEngineFunction",),
        Verdict(
            "no issue",
            None,
            "no span detector covers CPU work: read the cpu.* spans and the profile, "
            "search performance.issue:cpu_spike",
        ),
    ),
    Scenario(
        "timeout",
        "Lambda timeout",
        # API Gateway answers 502; a page on another origin cannot read it (see docs/scenarios.md)
        Request("POST", "/api/v1/scenarios/timeout?mode=antipattern", SPIN, expected_status=502),
        Request("POST", "/api/v1/scenarios/timeout?mode=optimized", SPIN),
        "ServerlessTimeoutWarning and 'Task timed out' in the logs",
        ("GameEngineFunction",),
        error_verdict("ServerlessTimeoutWarning"),
    ),
    Scenario(
        "cold-start",
        "Cold start",
        Request("GET", "/api/v1/scenarios/cold-start/eager"),
        Request("GET", "/api/v1/scenarios/cold-start/lazy"),
        "cold_start=true with faas.init_duration_ms on the first invoke only",
        ("GameEngineEagerInitFunction", "GameEngineFunction"),
        Verdict("no issue", None, "a tag to search, cold_start:true, and faas.init_duration_ms to chart"),
    ),
    Scenario(
        "slow-aggregation",
        "Slow aggregation",
        Request("GET", f"/api/v1/analytics/daily-stats?days={DAYS}&mode=antipattern"),
        Request("GET", f"/api/v1/analytics/daily-stats?days={DAYS}&mode=optimized"),
        "COLLSCAN vs IXSCAN; analytics.days_processed and analytics.total_games; missing_index tag",
        ("AnalyticsFunction",),
        Verdict(
            "no issue",
            None,
            "a slow db span; Slow DB Query fires only on SQL SELECT, "
            "so search performance.issue:missing_index",
        ),
    ),
    Scenario(
        "many-queries",
        "Too many queries",
        Request("GET", f"/api/v1/analytics/player-metrics/{USER}?mode=antipattern"),
        Request("GET", f"/api/v1/analytics/player-metrics/{USER}?mode=optimized"),
        "db.queries_executed 5 vs 1",
        ("AnalyticsFunction",),
        Verdict("no issue", None, "five different queries are no N+1; chart db.queries_executed (5 vs 1)"),
    ),
    Scenario(
        "memory-leak",
        "Memory leak",
        Request("POST", "/api/v1/scenarios/memory-leak?mode=antipattern"),
        Request("POST", "/api/v1/scenarios/memory-leak?mode=optimized"),
        "Max Memory Used climbs to MemorySize, then 'Runtime exited with error: signal: killed'",
        ("GameEngineFunction",),
        Verdict(
            "no issue",
            None,
            "a killed runtime sends nothing; chart memory.rss_mb, read REPORT's Max Memory Used",
        ),
    ),
    Scenario(
        "connection-churn",
        "Connection churn",
        Request("GET", f"/api/v1/users/{USER}/balance?mode=antipattern"),
        Request("GET", f"/api/v1/users/{USER}/balance?mode=optimized"),
        "an extra db.connection span on every invoke; none when pooled",
        ("UserServiceFunction",),
        Verdict("no issue", None, "a db.connection span on every invoke to see in the trace"),
    ),
    Scenario(
        "cascade",
        "Cascade across services",
        Request("POST", "/api/v1/spin", SPIN),
        None,
        "one trace id across the page request, the game engine and the user service",
        ("GameEngineFunction", "UserBalanceFunction"),
        Verdict("no issue", None, "one trace across the page and the functions"),
    ),
]


@dataclass(frozen=True)
class Button:
    button_id: str
    expected_status: int


def _buttons() -> list[Button]:
    buttons = []
    for scenario in SCENARIOS:
        if scenario.id == "cascade":
            buttons.append(Button("cascade-button", 200))
            continue
        buttons.append(Button(f"{scenario.id}-antipattern-button", scenario.antipattern.expected_status))
        buttons.append(Button(f"{scenario.id}-fix-button", scenario.fix.expected_status))
    return buttons


BUTTONS = _buttons()
