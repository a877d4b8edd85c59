"""`make scenarios`: run every scenario and its fix against the deployed stack and prove that
the trace viewer received the Sentry signal each one promises.

Each call goes through API Gateway with a sentry-trace header of our own (this command plays
the page), so the transactions of every call are found in Spotlight by their trace id.
Prints a table (or --json) and exits non-zero if any expected signal is missing.
"""

from __future__ import annotations

import argparse
import json
import re
import secrets
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from demo import sentry_rules, sentry_views, spotlight
from demo.cold_start import force_cold_start
from demo.scenario_catalog import DEFAULTS, EXTRA_REQUESTS, SCENARIOS, Request, Resolved, Scenario
from deploy.local import Deployment, describe_deployment
from dev.logs import read_logs
from localcloud import aws, http
from localcloud.services import mongo_client
from localcloud.settings import Settings


@dataclass
class Call:
    status: int
    duration_ms: float
    trace_id: str
    headers: dict[str, str]
    body: Any


@dataclass
class Outcome:
    scenario: str
    title: str
    signal: str
    seen: bool = False
    detail: str = ""
    status: list[int] = field(default_factory=list)
    duration_ms: list[float] = field(default_factory=list)
    db_spans: list[int | None] = field(default_factory=list)
    speedup: float | None = None
    sentry: str = ""  # what Sentry will create, by its own rules (demo/sentry_rules.py)
    issue_after_runs: int | None = None
    naming: list[str] = field(default_factory=list)  # route names and scenario/mode tags gone wrong


def call(api_url: str, template: Request | Resolved, timeout: float = 90) -> Call:
    """One request through API Gateway in a trace of its own, as the page makes it."""
    request = template.resolve() if isinstance(template, Request) else template
    trace_id, span_id = secrets.token_hex(16), secrets.token_hex(8)
    headers = {
        "sentry-trace": f"{trace_id}-{span_id}-1",
        "baggage": f"sentry-trace_id={trace_id},sentry-sampled=true,sentry-sample_rate=1.0",
    }
    data = None
    if request.body is not None:
        data = json.dumps(request.body).encode()
        headers["Content-Type"] = "application/json"
    started = time.monotonic()
    reply = http.request(f"{api_url}{request.path}", request.method, data, headers, timeout)
    duration = (time.monotonic() - started) * 1000
    body = reply.json()
    body = body.get("raw", body) if isinstance(body, dict) and set(body) == {"raw"} else body
    status, response_headers = reply.status, reply.headers
    return Call(status, duration, trace_id, response_headers, body)


class Viewer:
    """What Spotlight received, looked up by trace id."""

    def __init__(self, url: str) -> None:
        self.url = url

    def transactions(
        self, trace_id: str, name: str | None = None, timeout: float = 20
    ) -> list[dict[str, Any]]:
        def match(transaction: dict[str, Any]) -> bool:
            return spotlight.trace_id(transaction) == trace_id and (
                name is None or name in (transaction["transaction"], spotlight.function_of(transaction))
            )

        return spotlight.wait_for_transactions(self.url, match, timeout=timeout)

    def transaction(self, trace_id: str, name: str) -> dict[str, Any] | None:
        found = self.transactions(trace_id, name)
        return found[0] if found else None

    def errors(self, trace_id: str, timeout: float = 20) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            events = spotlight.items(spotlight.read_envelopes(self.url), "event")
            found = [e for e in events if e.get("contexts", {}).get("trace", {}).get("trace_id") == trace_id]
            if found:
                return found
            time.sleep(0.5)
        return []


def _tags(transaction: dict[str, Any] | None) -> dict[str, str]:
    return (transaction or {}).get("tags", {}) or {}


def _data(transaction: dict[str, Any] | None) -> dict[str, Any]:
    return (transaction or {}).get("contexts", {}).get("trace", {}).get("data", {}) or {}


def _exception_type(event: dict[str, Any]) -> str | None:
    values = event.get("exception", {}).get("values", [])
    return values[-1].get("type") if values else None


def _ops(transaction: dict[str, Any] | None) -> list[str]:
    return [span.get("op", "") for span in (transaction or {}).get("spans", [])]


def _queries_on(transaction: dict[str, Any] | None, collection: str) -> int | None:
    """Query spans on ``collection`` in the trace itself."""
    if transaction is None:
        return None
    return sum(
        1
        for span in sentry_rules.db_spans(transaction)
        if (span.get("data") or {}).get("db.mongodb.collection") == collection
    )


def _request_id(event: dict[str, Any]) -> str | None:
    """The Lambda RequestId the SDK attached to an event of that invocation."""
    return (event.get("extra", {}).get("lambda") or {}).get("aws_request_id")


def connections_opened(client: Any) -> int:
    """The server's own count of connections ever accepted."""
    return int(client.admin.command("serverStatus")["connections"]["totalCreated"])


class Runner:
    def __init__(self, settings: Settings, deployment: Deployment, log: Callable[[str], None]) -> None:
        self.settings = settings
        self.deployment = deployment
        self.viewer = Viewer(settings.spotlight_url)
        self.log = log

    def name(self, logical_id: str) -> str:
        return self.deployment.functions[logical_id]

    def pair(self, scenario: Scenario, outcome: Outcome) -> tuple[Call, Call, dict | None, dict | None]:
        function = self.name(scenario.functions[0])
        slow = call(self.deployment.api_url, scenario.antipattern)
        # the fix after the anti-pattern's transaction arrived: until its relay extension has sent,
        # that environment is busy, and the fix would start a new one (a cold start, its log-in
        # round trips among its db spans)
        slow_tx = self.viewer.transaction(slow.trace_id, function)
        fast = call(self.deployment.api_url, scenario.fixed)
        fast_tx = self.viewer.transaction(fast.trace_id, function)
        self.record(outcome, [slow, fast], [slow_tx, fast_tx])
        self.check_names(scenario, outcome, antipattern=slow_tx, optimized=fast_tx)
        return slow, fast, slow_tx, fast_tx

    @staticmethod
    def check_names(scenario: Scenario, outcome: Outcome, **by_mode: dict | None) -> None:
        """Each side's transaction named after its route (source route), tagged scenario/mode."""
        for mode, transaction in by_mode.items():
            outcome.naming += sentry_views.naming_problems(scenario, mode, transaction)

    @staticmethod
    def record(outcome: Outcome, calls: list[Call], transactions: list[dict | None]) -> None:
        outcome.status = [c.status for c in calls]
        outcome.duration_ms = [round(c.duration_ms, 1) for c in calls]
        outcome.db_spans = [len(sentry_rules.db_spans(t)) if t else None for t in transactions]
        if len(calls) == 2 and calls[1].duration_ms > 0:
            outcome.speedup = round(calls[0].duration_ms / calls[1].duration_ms, 1)

    # --- one check per scenario: (seen, detail) ------------------------------------------
    def check_n_plus_one(self, scenario: Scenario, outcome: Outcome) -> tuple[bool, str]:
        slow, fast, slow_tx, fast_tx = self.pair(scenario, outcome)
        found = sentry_rules.n_plus_one(slow_tx) if slow_tx else None
        clean = fast_tx is not None and sentry_rules.n_plus_one(fast_tx) is None
        self.judge(outcome, scenario, sentry_rules.n_plus_one_verdict(found))
        detail = f"N+1: {found.repeats} repeats, {found.total_ms} ms" if found else "no N+1 pattern"
        if found and self.sends_to_sentry(scenario):
            runs = sentry_rules.N_PLUS_ONE_DB_DETECTIONS_FOR_ISSUE
            for _ in range(runs - 1):
                call(self.deployment.api_url, scenario.antipattern)
            detail += f"; sent {runs} runs to Sentry (SENTRY_DSN): its N+1 DB Query issue is due now"
        return bool(found and clean and slow.status == fast.status == 200), detail

    def check_cpu_spike(self, scenario: Scenario, outcome: Outcome) -> tuple[bool, str]:
        _slow, _fast, slow_tx, fast_tx = self.pair(scenario, outcome)
        spans = {"cpu.prime_generation", "cpu.heavy_calculation"} <= set(_ops(slow_tx))
        tags = _tags(slow_tx).get("performance.issue") == "cpu_spike"
        methods = (_tags(slow_tx).get("calculation_method"), _tags(fast_tx).get("calculation_method"))
        count = _data(slow_tx).get("cpu.calculations_performed")
        seen = spans and tags and methods == ("intensive", "normal") and bool(count)
        return seen, f"cpu spans {spans}, methods {methods}, cpu.calculations_performed={count}"

    def check_timeout(self, scenario: Scenario, outcome: Outcome) -> tuple[bool, str]:
        slow = call(self.deployment.api_url, scenario.antipattern, timeout=120)
        fast = call(self.deployment.api_url, scenario.fixed)
        fast_tx = self.viewer.transaction(fast.trace_id, self.name("GameEngineFunction"))
        self.record(outcome, [slow, fast], [None, fast_tx])
        self.check_names(scenario, outcome, optimized=fast_tx)  # the killed side sends no transaction
        warnings = [
            e for e in self.viewer.errors(slow.trace_id) if _exception_type(e) == "ServerlessTimeoutWarning"
        ]
        request_id = _request_id(warnings[0]) if warnings else None
        timed_out = bool(request_id) and self._log_has(
            self.name("GameEngineFunction"), rf"{request_id} Task timed out after \d+\.\d\d seconds"
        )
        if warnings:
            self.judge(outcome, scenario, sentry_rules.error_verdict("ServerlessTimeoutWarning"))
        seen = slow.status >= 500 and bool(warnings) and timed_out and fast.status == 200
        return (
            seen,
            f"ServerlessTimeoutWarning: {bool(warnings)}, request {request_id} timed out (logs): {timed_out}",
        )

    def check_cold_start(self, scenario: Scenario, outcome: Outcome) -> tuple[bool, str]:
        lambda_client = aws.client(self.settings, "lambda")
        for logical_id in scenario.functions:
            force_cold_start(lambda_client, self.name(logical_id))
        calls, transactions, details, seen = [], [], [], True
        for logical_id, (mode, request) in zip(scenario.functions, scenario.sides(), strict=True):
            # the second call after the first's transaction arrived: until its relay extension has
            # sent, that environment is busy and a call would get a new one (as on AWS)
            first = call(self.deployment.api_url, request)
            cold = self.viewer.transaction(first.trace_id, self.name(logical_id))
            second = call(self.deployment.api_url, request)
            warm = self.viewer.transaction(second.trace_id, self.name(logical_id))
            init_ms = _data(cold).get("faas.init_duration_ms")
            ok = (
                _tags(cold).get("cold_start") == "true"
                and init_ms is not None
                and _tags(warm).get("cold_start") == "false"
                and "faas.init_duration_ms" not in _data(warm)
            )
            seen = seen and ok
            self.check_names(scenario, outcome, **{mode: cold})
            calls.append(first)
            transactions.append(cold)
            details.append(f"{logical_id}: init {init_ms} ms")
        self.record(outcome, calls, transactions)
        return seen, "; ".join(details)

    def check_slow_aggregation(self, scenario: Scenario, outcome: Outcome) -> tuple[bool, str]:
        slow, fast, slow_tx, _fast_tx = self.pair(scenario, outcome)
        days = DEFAULTS["days"]
        explain = call(self.deployment.api_url, EXTRA_REQUESTS[0])
        stages = (
            explain.body.get("antipattern", {}).get("stage"),
            explain.body.get("optimized", {}).get("stage"),
        )
        data = _data(slow_tx)
        seen = (
            stages == ("COLLSCAN", "IXSCAN")
            and data.get("analytics.days_processed") == int(str(days))
            and data.get("analytics.total_games", 0) > 0
            and _tags(slow_tx).get("performance.issue") == "missing_index"
            and slow.body == fast.body
        )
        return seen, f"plans {stages}, total_games={data.get('analytics.total_games')}"

    def check_many_queries(self, scenario: Scenario, outcome: Outcome) -> tuple[bool, str]:
        slow, fast, slow_tx, fast_tx = self.pair(scenario, outcome)
        spans = (_queries_on(slow_tx, "games"), _queries_on(fast_tx, "games"))  # counted in the trace
        reported = (_data(slow_tx).get("db.queries_executed"), _data(fast_tx).get("db.queries_executed"))
        no_n_plus_one = all(t is not None and sentry_rules.n_plus_one(t) is None for t in (slow_tx, fast_tx))
        if no_n_plus_one:
            self.judge(outcome, scenario, scenario.sentry)
        seen = spans == (5, 1) and reported == spans and no_n_plus_one and slow.body == fast.body
        return seen, f"db spans on games {spans}, db.queries_executed {reported}"

    def check_memory_leak(self, scenario: Scenario, outcome: Outcome) -> tuple[bool, str]:
        function = self.name("GameEngineFunction")
        # the series starts in a new environment: a warm one that earlier presses (the page's, a
        # run before) left holding their leak would be killed before the climb shows
        force_cold_start(aws.client(self.settings, "lambda"), function)
        sizes, killed, killed_at = [], None, 0
        for _ in range(40):
            killed_at = int(time.time() * 1000) - 1000
            attempt = call(self.deployment.api_url, scenario.antipattern)
            if attempt.status != 200:
                killed = attempt
                break
            sizes.append(float(attempt.headers.get("X-Memory-Mb", 0)))
        fixes = [call(self.deployment.api_url, scenario.fixed) for _ in range(3)]
        bounded = [float(f.headers.get("X-Memory-Mb", 0)) for f in fixes]
        # the kill of that very call: a line logged after it started, naming a request that started then
        kill_logged = bool(killed) and self._log_has(
            function, r"RequestId: \S+ Error: Runtime exited with error: signal: killed", since_ms=killed_at
        )
        outcome.status = [killed.status if killed else 200, fixes[-1].status]
        outcome.duration_ms = [
            round(killed.duration_ms, 1) if killed else 0.0,
            round(fixes[-1].duration_ms, 1),
        ]
        outcome.db_spans = [None, None]
        grew = len(sizes) >= 2 and sizes[-1] > sizes[0]
        flat = max(bounded) - min(bounded) < 16
        seen = bool(killed) and grew and kill_logged and flat and all(f.status == 200 for f in fixes)
        return seen, f"rss {sizes[:1] + sizes[-1:]} MB over {len(sizes)} calls then killed: {kill_logged}"

    def check_connection_churn(self, scenario: Scenario, outcome: Outcome) -> tuple[bool, str]:
        function = self.name(scenario.functions[0])
        warm = call(self.deployment.api_url, scenario.fixed)  # warm the pooled client
        # each call's transaction in the viewer means its environment's relay has sent it and is
        # free again: the next call reuses that warm environment instead of starting a new one
        self.viewer.transaction(warm.trace_id, function)
        with mongo_client(self.settings.effective_mongodb_uri) as server:
            connections_opened(server)  # our own connections are open from here on
            counted = connections_opened(server)
            slow = call(self.deployment.api_url, scenario.antipattern)
            slow_opened = connections_opened(server) - counted
            slow_tx = self.viewer.transaction(slow.trace_id, function)
            counted = connections_opened(server)
            fast = call(self.deployment.api_url, scenario.fixed)
            fast_opened = connections_opened(server) - counted
        fast_tx = self.viewer.transaction(fast.trace_id, function)
        self.record(outcome, [slow, fast], [slow_tx, fast_tx])
        self.check_names(scenario, outcome, antipattern=slow_tx, optimized=fast_tx)
        spans = (_ops(slow_tx).count("db.connection"), _ops(fast_tx).count("db.connection"))
        seen = slow_opened >= 1 and fast_opened == 0 and spans == (1, 0) and slow.body == fast.body
        return (
            seen,
            f"connections opened (server count) {slow_opened} vs {fast_opened}, db.connection spans {spans}",
        )

    def check_cascade(self, scenario: Scenario, outcome: Outcome) -> tuple[bool, str]:
        # the normal spin: the slow side is the CPU spike's own request, checked there
        spin = call(self.deployment.api_url, scenario.fixed)
        names = {self.name(logical_id) for logical_id in scenario.functions}
        found = self.viewer.transactions(spin.trace_id)
        deadline = time.monotonic() + 20
        while not names <= {spotlight.function_of(t) for t in found} and time.monotonic() < deadline:
            time.sleep(0.5)
            found = self.viewer.transactions(spin.trace_id)
        engine = self.name(scenario.functions[0])
        spin_tx = next((t for t in found if spotlight.function_of(t) == engine), None)
        self.record(outcome, [spin], [spin_tx])
        self.check_names(scenario, outcome, optimized=spin_tx)
        seen_names = {spotlight.function_of(t) for t in found}
        return (
            names <= seen_names and spin.status == 200,
            f"trace {spin.trace_id[:8]}… in {sorted(seen_names)}",
        )

    def _log_has(self, function: str, pattern: str, since_ms: int | None = None, timeout: float = 15) -> bool:
        """A line of ``function``'s log matches (logged after ``since_ms``, if given)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            lines = read_logs(self.settings, function, limit=2000, since_ms=since_ms)
            if any(re.search(pattern, line) for line in lines):
                return True
            time.sleep(0.5)
        return False

    def judge(self, outcome: Outcome, scenario: Scenario, verdict: sentry_rules.Verdict) -> None:
        """What Sentry creates for what was seen; it must be what the catalog (and docs) promise."""
        if verdict.creates != scenario.sentry.creates:
            raise AssertionError(f"Sentry would create {verdict}, the catalog promises {scenario.sentry}")
        outcome.sentry, outcome.issue_after_runs = str(verdict), verdict.after_runs

    def sends_to_sentry(self, scenario: Scenario) -> bool:
        """Whether the deployed function reports to a real Sentry (SENTRY_DSN set on it)."""
        configuration = aws.client(self.settings, "lambda").get_function_configuration(
            FunctionName=self.name(scenario.functions[0])
        )
        return bool(configuration.get("Environment", {}).get("Variables", {}).get("SENTRY_DSN"))

    def run(self, only: set[str] | None = None) -> list[Outcome]:
        outcomes = []
        chosen = [s for s in SCENARIOS if not only or s.id in only]
        for number, scenario in enumerate(chosen, start=1):
            outcome = Outcome(scenario.id, scenario.title, scenario.signal)
            started = time.monotonic()
            check = getattr(self, f"check_{scenario.id.replace('-', '_')}")
            try:
                outcome.seen, outcome.detail = check(scenario, outcome)
            except Exception as error:  # a broken scenario is a missing signal, not a crash
                outcome.seen, outcome.detail = False, f"{type(error).__name__}: {error}"
            if outcome.naming:
                outcome.seen, outcome.detail = False, f"{outcome.detail}; naming: {'; '.join(outcome.naming)}"
            if outcome.seen and not outcome.sentry:
                outcome.sentry, outcome.issue_after_runs = str(scenario.sentry), scenario.sentry.after_runs
            mark = "seen" if outcome.seen else "MISSING"
            elapsed = time.monotonic() - started
            self.log(f"[{number}/{len(chosen)}] {scenario.id}: {mark} ({elapsed:.1f} s) {outcome.detail}")
            outcomes.append(outcome)
        return outcomes


def table(outcomes: list[Outcome]) -> str:
    def pair(values: list, fmt: Callable[[Any], str]) -> str:
        return " / ".join(fmt(v) if v is not None else "-" for v in values) or "-"

    rows = [("scenario", "HTTP", "duration", "db spans", "expected signal", "seen", "speed-up")]
    for o in outcomes:
        rows.append(
            (
                o.scenario,
                pair(o.status, str),
                pair(o.duration_ms, lambda ms: f"{ms / 1000:.2f} s" if ms >= 1000 else f"{ms:.0f} ms"),
                pair(o.db_spans, str),
                o.signal,
                "yes" if o.seen else "NO",
                f"{o.speedup}x" if o.speedup else "-",
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    signals = "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)) for row in rows
    )
    width = max(len(o.scenario) for o in outcomes)
    verdicts = "\n".join(f"  {o.scenario.ljust(width)}  {o.sentry or '-'}" for o in outcomes)
    return f"{signals}\n\nWhat Sentry will create, by its own rules:\n{verdicts}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make scenarios", description=__doc__)
    parser.add_argument("--json", action="store_true", help="print the outcomes as JSON")
    parser.add_argument("--only", nargs="*", help="scenario ids to run (default: all)")
    args = parser.parse_args(argv)
    settings = Settings.from_env()
    runner = Runner(
        settings, describe_deployment(settings), log=lambda line: print(line, file=sys.stderr, flush=True)
    )
    outcomes = runner.run(set(args.only) if args.only else None)
    if args.json:
        print(json.dumps([asdict(o) for o in outcomes], indent=2))
    else:
        print(table(outcomes))
    missing = [o.scenario for o in outcomes if not o.seen]
    if missing:
        print(f"\nmissing signals: {', '.join(missing)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
