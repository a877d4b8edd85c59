"""The scenarios and their fixes: the one table that everything else is made from.

`make scenarios` runs these requests; `python -m dev.events` writes events/ from them; the
debug page receives the same table as JSON in its config (``page_table()``) and draws its
buttons, "Look for" lines and Sentry verdicts from it; the docs' tables are checked against
it. Requests are templates: ``{user_id}`` in a route, and ``"{user}"``, ``"{bet}"``,
``"{days}"`` as values, are filled from the page's controls or from ``DEFAULTS``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from demo.sentry_rules import Verdict, error_verdict, n_plus_one_verdict

DEFAULTS = {"user": "user_1", "bet": 10, "days": 7}
_PLACEHOLDER = re.compile(r"^\{(user|bet|days)\}$")


def _fill(value: Any, context: dict[str, Any]) -> Any:
    if isinstance(value, str) and (match := _PLACEHOLDER.match(value)):
        return context[match.group(1)]
    if isinstance(value, dict):
        return {key: _fill(item, context) for key, item in value.items()}
    return value


@dataclass(frozen=True)
class Resolved:
    """A concrete request: what is sent."""

    method: str
    path: str
    body: dict[str, Any] | None = None
    expected_status: int = 200


@dataclass(frozen=True)
class Request:
    """A request template of one button, one event file and one `make scenarios` call."""

    label: str  # the button's text
    function: str  # the template's logical id that serves it
    method: str
    route: str  # API Gateway's resource, e.g. /api/v1/users/{user_id}/history
    query: dict[str, str] = field(default_factory=dict)
    body: dict[str, Any] | None = None
    event_file: str = ""  # its file in events/
    about: str = ""  # one line for events/README.md
    expected_status: int = 200
    outcome: str = ""  # what the page says when the failure is the point (expected_status >= 500)

    def path_parameters(self, context: dict[str, Any] = DEFAULTS) -> dict[str, str]:
        return {name: str(context["user"]) for name in re.findall(r"\{(\w+)\}", self.route)}

    def query_values(self, context: dict[str, Any] = DEFAULTS) -> dict[str, str]:
        return {key: str(_fill(value, context)) for key, value in self.query.items()}

    def resolve(self, context: dict[str, Any] = DEFAULTS) -> Resolved:
        path = self.route
        for name, value in self.path_parameters(context).items():
            path = path.replace(f"{{{name}}}", value)
        query = "&".join(f"{key}={value}" for key, value in self.query_values(context).items())
        body = _fill(self.body, context) if self.body is not None else None
        return Resolved(self.method, f"{path}?{query}" if query else path, body, self.expected_status)

    @property
    def transaction(self) -> str:
        """Its transaction's name in Sentry: the route, as web framework integrations name it."""
        return f"{self.method} {self.route}"

    def for_page(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "method": self.method,
            "route": self.route,
            "query": self.query,
            "body": self.body,
            "expectedStatus": self.expected_status,
            "outcome": self.outcome,
        }


@dataclass(frozen=True)
class Scenario:
    id: str
    title: str
    what: str  # the anti-pattern in one sentence
    look: str  # what to look for in the trace viewer ("Look for" on the page)
    antipattern: Request
    fix: Request | None
    functions: tuple[str, ...]  # the template logical ids whose transactions count
    sentry: Verdict  # what Sentry creates, by its own rules (demo/sentry_rules.py)
    spins: bool = False  # moves money: one Idempotency-Key per click
    retries: int = 3  # retries of a spin with its key (0: the failure is the point)
    prepare: Request | None = None  # the page's optional step before a press (a forced cold start)
    series: int = 1  # calls per press on the page (the memory leak: up to the kill, at most this many)
    say: str = ""  # the presenter's line (docs/demo-guide.md), which the page's tour shows
    # the anti-pattern again on a function of another MemorySize (on Lambda, memory is CPU)
    also: Request | None = None

    @property
    def signal(self) -> str:
        return self.look

    def sides(self) -> list[tuple[str, Request]]:
        """(mode, request) of each side; its transaction is tagged scenario:<id> mode:<mode>."""
        sides = [("antipattern", self.antipattern)]
        return sides + ([("optimized", self.fix)] if self.fix else [])

    @property
    def fixed(self) -> Request:
        """The fix's request."""
        if self.fix is None:
            raise ValueError(f"{self.id} has no fix")
        return self.fix

    def for_page(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "what": self.what,
            "look": self.look,
            "sentry": str(self.sentry),
            "antipattern": self.antipattern.for_page(),
            "fix": self.fix.for_page() if self.fix else None,
            "spins": self.spins,
            "retries": self.retries,
            "prepare": self.prepare.for_page() if self.prepare else None,
            "series": self.series,
            "say": self.say,
            "also": self.also.for_page() if self.also else None,
        }


SPIN_BODY = {"user_id": "{user}", "bet": "{bet}"}
CPU_SPIN_BODY = {**SPIN_BODY, "cpu_intensive": True}
USERS = "UserServiceFunction"
ENGINE = "GameEngineFunction"
ANALYTICS = "AnalyticsFunction"

SCENARIOS = [
    Scenario(
        "n-plus-one",
        "N+1 queries",
        "Game history: one query for the ids of the last 20 games, then one query per game.",
        "22 db spans under one parent, 20 of them the same query: Sentry's N+1 DB detector accepts them.",
        Request("N+1 history", USERS, "GET", "/api/v1/users/{user_id}/history", {"mode": "antipattern"},
                event_file="history-n-plus-one.json", about="N+1: 1 query for ids + 1 per game"),
        Request("Optimized history", USERS, "GET", "/api/v1/users/{user_id}/history", {"mode": "optimized"},
                event_file="history-optimized.json", about="history in one query (fix)"),
        (USERS,),
        n_plus_one_verdict(True),
        say='The history asks for 20 ids, then one query per game.',
    ),
    Scenario(
        "cpu-spike",
        "CPU spike",
        "A spin with cpu_intensive: a naive trial-division prime search (5-10 s of real CPU).",
        "cpu.prime_generation and cpu.heavy_calculation spans, the profile's hot frames, "
        "tags performance.issue=cpu_spike and calculation_method, cpu.calculations_performed.",
        Request("CPU spike", ENGINE, "POST", "/api/v1/spin", {"mode": "antipattern"}, CPU_SPIN_BODY,
                "cpu-spike.json", "spin with the trial-division prime search"),
        Request("CPU optimized (sieve)", ENGINE, "POST", "/api/v1/spin", {"mode": "optimized"}, CPU_SPIN_BODY,
                "cpu-spike-optimized.json", "the same with a sieve"),
        (ENGINE,),
        Verdict("no issue", None, "no span detector covers CPU work: read the cpu.* spans and the profile, "
                "search performance.issue:cpu_spike"),
        spins=True,
        say='Trial division in the hot path.',
        also=Request("CPU spike at 1024 MB", "GameEngineAt1024Function", "POST", "/api/v1/scenarios/cpu-spike/1024mb",
                     {"mode": "antipattern"}, CPU_SPIN_BODY, "cpu-spike-1024mb.json",
                     "the CPU spike at 1,024 MB: 58 % of a vCPU"),
    ),
    Scenario(
        "timeout",
        "Lambda timeout",
        "The same CPU work sized past the game engine's Timeout (GameEngineTimeout, 15 s by default): "
        "the runtime is killed.",
        "ServerlessTimeoutWarning 1.5 s before the deadline, then 'Task timed out after <Timeout>.00 seconds' "
        "in the function's log.",
        # API Gateway answers 502; a page on another origin cannot read it (see docs/scenarios.md)
        Request("Timeout", ENGINE, "POST", "/api/v1/scenarios/timeout", {"mode": "antipattern"}, SPIN_BODY,
                "timeout.json", "CPU work past the Timeout: killed", expected_status=502,
                outcome="the game engine ran past its Timeout and was killed, and API Gateway answered "
                "an error of its own (502). The work runs before anything is settled: no money moved, "
                "and there is nothing to retry."),
        Request("Bounded work", ENGINE, "POST", "/api/v1/scenarios/timeout", {"mode": "optimized"}, SPIN_BODY,
                "timeout-optimized.json", "the same work, bounded (sieve)"),
        (ENGINE,),
        error_verdict("ServerlessTimeoutWarning"),
        spins=True,
        retries=0,
        say='Now the same work, bigger than the Timeout.',
    ),
    Scenario(
        "cold-start",
        "Cold start",
        "Heavy module-level initialisation (prime table, RTP simulation, indexes) versus lazy.",
        "Tag cold_start=true and faas.init_duration_ms on the first call of an environment only; "
        "REPORT's Init Duration.",
        Request("Cold start (eager init)", "GameEngineEagerInitFunction", "GET",
                "/api/v1/scenarios/cold-start/eager", event_file="cold-start-eager.json",
                about="heavy module-level init"),
        Request("Lazy init", ENGINE, "GET", "/api/v1/scenarios/cold-start/lazy",
                event_file="cold-start-lazy.json", about="lazy init (fix)"),
        ("GameEngineEagerInitFunction", ENGINE),
        Verdict("no issue", None, "a tag to search, cold_start:true, and faas.init_duration_ms to chart"),
        # a configuration change of both functions, as `make cold-start` does: the page has no
        # AWS credentials, so a function makes it (DANGEROUS_SCENARIOS_ENABLED only)
        prepare=Request("Force a cold start first", "ColdStartResetFunction", "POST", "/api/v1/scenarios/cold-start/reset",
                        body={}),
        say='Module-level work runs on every cold start.',
    ),
    Scenario(
        "slow-aggregation",
        "Slow aggregation",
        "Daily stats: an index-hostile pipeline scans every game (COLLSCAN).",
        "One long db span; analytics.days_processed and analytics.total_games; tag "
        "performance.issue=missing_index; COLLSCAN vs IXSCAN in the explain plans below.",
        Request("Slow aggregation", ANALYTICS, "GET", "/api/v1/analytics/daily-stats",
                {"days": "{days}", "mode": "antipattern"}, event_file="daily-stats-slow.json",
                about="index-hostile pipeline (COLLSCAN)"),
        Request("Indexed aggregation", ANALYTICS, "GET", "/api/v1/analytics/daily-stats",
                {"days": "{days}", "mode": "optimized"}, event_file="daily-stats-indexed.json",
                about="$match on the indexed timestamp first (fix)"),
        (ANALYTICS,),
        Verdict("no issue", None, "a slow db span; Slow DB Query fires only on SQL SELECT, "
                "so search performance.issue:missing_index"),
        say="Same numbers, but one pipeline can't use the index.",
    ),
    Scenario(
        "many-queries",
        "Too many queries",
        "Player metrics: five separate queries where one aggregation does.",
        "5 query spans on games versus 1 (6 vs 2 with the player lookup); db.queries_executed 5 vs 1.",
        Request("Player metrics: 5 queries", ANALYTICS, "GET", "/api/v1/analytics/player-metrics/{user_id}",
                {"mode": "antipattern"}, event_file="player-metrics-five-queries.json", about="5 separate queries"),
        Request("Player metrics: 1 aggregation", ANALYTICS, "GET", "/api/v1/analytics/player-metrics/{user_id}",
                {"mode": "optimized"}, event_file="player-metrics-one-aggregation.json",
                about="one aggregation (fix)"),
        (ANALYTICS,),
        Verdict("no issue", None, "five different queries are no N+1; chart db.queries_executed (5 vs 1)"),
        say='Five round trips where one $group does.',
    ),
    Scenario(
        "memory-leak",
        "Memory leak",
        "A module-level cache that grows on every warm invoke until MemorySize (1,769 MB) is reached.",
        "X-Memory-Mb and memory.rss_mb climb call after call; REPORT's Max Memory Used; then "
        "'Runtime exited with error: signal: killed'.",
        Request("Memory leak", ENGINE, "POST", "/api/v1/scenarios/memory-leak", {"mode": "antipattern"},
                event_file="memory-leak.json", about="module-level cache that grows on every warm invoke"),
        Request("Bounded cache", ENGINE, "POST", "/api/v1/scenarios/memory-leak", {"mode": "optimized"},
                event_file="memory-bounded.json", about="bounded cache (fix)"),
        (ENGINE,),
        Verdict("no issue", None, "a killed runtime sends nothing; chart memory.rss_mb, "
                "read REPORT's Max Memory Used"),
        series=12,  # the kill comes after about eight warm calls (an eighth of MemorySize each)
        say='A cache at module level survives warm invokes.',
    ),
    Scenario(
        "connection-churn",
        "Connection churn",
        "Balance with a new MongoClient (TCP connect + handshake) on every call.",
        "A db.connection span on every invoke and connections opened at the server; "
        "the pooled twin opens none when warm.",
        Request("Connection churn", USERS, "GET", "/api/v1/users/{user_id}/balance", {"mode": "antipattern"},
                event_file="connection-churn.json", about="balance with a new MongoClient per call"),
        Request("Pooled client", USERS, "GET", "/api/v1/users/{user_id}/balance", {"mode": "optimized"},
                event_file="balance.json", about="balance, one client per environment (fix)"),
        (USERS,),
        Verdict("no issue", None, "a db.connection span on every invoke to see in the trace"),
        say='A client per call pays connect + handshake every time.',
    ),
    Scenario(
        "cascade",
        "Cascade across services",
        "Spin (game engine -> user service), then balance and player metrics, one after the other: "
        "a slow game engine (the CPU spike) delays every call after it.",
        "One trace id from the page through every Lambda transaction; a lane per service, the calls "
        "between them and the critical path; the later calls start late by the game engine's time.",
        # the CPU spike's request and a normal spin, tagged scenario:cascade (?scenario=cascade)
        Request("Cascade: slow game engine", ENGINE, "POST", "/api/v1/spin",
                {"mode": "antipattern", "scenario": "cascade"}, CPU_SPIN_BODY),
        Request("Cascade: normal spin", ENGINE, "POST", "/api/v1/spin", {"mode": "optimized", "scenario": "cascade"},
                SPIN_BODY, event_file="spin.json", about="a normal spin"),
        (ENGINE, "UserBalanceFunction"),
        Verdict("no issue", None, "one trace across the page and the functions"),
        spins=True,
        say='One click, four Lambdas, one trace: a slow game engine delays every call after it.',
    ),
]  # fmt: skip

# requests that are no scenario's side but have an event file
EXTRA_REQUESTS = [
    Request("Explain both pipelines", ANALYTICS, "GET", "/api/v1/analytics/daily-stats/explain",
            {"days": "{days}"}, event_file="daily-stats-explain.json", about="both query plans"),
]  # fmt: skip

# the cascade's later steps, after its spin (the page runs them in one trace)
CASCADE_STEPS = [
    Request("balance", USERS, "GET", "/api/v1/users/{user_id}/balance"),
    Request("player metrics", ANALYTICS, "GET", "/api/v1/analytics/player-metrics/{user_id}"),
]


def by_id(scenario_id: str) -> Scenario:
    return next(scenario for scenario in SCENARIOS if scenario.id == scenario_id)


def every_request() -> list[Request]:
    """Every request that has an event file, scenario sides first."""
    sides = [side for s in SCENARIOS for side in (s.antipattern, s.fix, s.also) if side is not None]
    return [request for request in sides + EXTRA_REQUESTS if request.event_file]


# the demo guide's order: the page's tour runs each scenario and its fix in it
TOUR = ["n-plus-one", "many-queries", "slow-aggregation", "cpu-spike", "timeout", "cold-start",
        "memory-leak", "connection-churn", "cascade"]  # fmt: skip


def page_table() -> dict[str, Any]:
    """What the debug page draws: shipped as JSON in its config (config.js). The cascade's
    sides are followed by its later steps, in one trace."""
    steps = {"cascade": [r.for_page() for r in CASCADE_STEPS]}
    return {
        "scenarios": [{**s.for_page(), "steps": steps.get(s.id, [])} for s in SCENARIOS],
        "tour": TOUR,
    }


@dataclass(frozen=True)
class Button:
    button_id: str
    expected_status: int


def _buttons() -> list[Button]:
    buttons = []
    for scenario in SCENARIOS:
        if scenario.fix is None:
            buttons.append(Button(f"{scenario.id}-button", scenario.antipattern.expected_status))
            continue
        buttons.append(Button(f"{scenario.id}-antipattern-button", scenario.antipattern.expected_status))
        buttons.append(Button(f"{scenario.id}-fix-button", scenario.fix.expected_status))
        if scenario.also is not None:
            buttons.append(Button(f"{scenario.id}-also-button", scenario.also.expected_status))
    return buttons


BUTTONS = _buttons()
