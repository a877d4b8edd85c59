"""`make load`: a crowd of players at once through API Gateway, then proof that nothing was lost.

Every spin carries its own Idempotency-Key and is retried with the same key on 409, 429, 5xx
or a network failure (bounded: ``--retries``, backoff, Retry-After honoured), as the page
does. Reported: first-try and final answers, latency including retries, the runtimes and
memory of the local cloud sampled in the real process tree during the burst (peak, orphans)
and after it (how long until the runtimes' memory is back within 2x of idle).

Then the ledger: every accepted spin is recorded exactly once, no balance is negative, each
player's balance equals start - bets + payouts of every spin recorded since the run began,
and no spin was applied whose client's final answer was an error (money moved in silence).
Bounded: a fixed number of spins, each with a timeout, against loopback only.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from typing import Any

from deploy.local import Deployment, database_name, describe_deployment
from localcloud import census, http
from localcloud.processes import read_pid_file
from localcloud.services import mongo_client
from localcloud.settings import Settings
from slot_common.data_model import GAME_HISTORY, GAMES, IDEMPOTENCY, USERS

RETRYABLE = {0, 409, 429, 500, 502, 503, 504}
SAMPLE_SECONDS = 0.25


@dataclass
class Spin:
    key: str
    user: str
    statuses: list[int] = field(default_factory=list)
    body: dict[str, Any] = field(default_factory=dict)
    latency_ms: float = 0.0

    @property
    def final(self) -> int:
        return self.statuses[-1]


@dataclass
class LoadReport:
    spins: int
    concurrency: int
    users: int
    seconds: float
    first_try: dict[str, int]
    final: dict[str, int]
    accepted_first_try: int
    accepted: int
    retried_spins: int
    most_attempts: int
    latency_ms_p50: float
    latency_ms_p95: float
    latency_ms_max: float
    runtimes_peak: int
    runtimes_rss_idle_mb: float
    runtimes_rss_peak_mb: float
    runtimes_rss_after_mb: float
    back_within_2x_idle_after_s: float | None
    localstack_rss_idle_mb: float
    localstack_rss_peak_mb: float
    orphans_seen: int
    silent_spins: int
    capacity: dict[str, Any]
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _post_spin(api_url: str, spin: Spin, bet: int) -> tuple[int, dict[str, Any], str | None]:
    body = json.dumps({"user_id": spin.user, "bet": bet}).encode()
    headers = {"Content-Type": "application/json", "Idempotency-Key": spin.key}
    try:
        reply = http.request(f"{api_url}/api/v1/spin", "POST", body, headers, timeout=120)
    except OSError as error:
        return 0, {"error": str(error)}, None
    return reply.status, reply.json() or {}, reply.headers.get("Retry-After")


def play(api_url: str, user: str, bet: int, retries: int) -> Spin:
    """One spin with one key, retried until it has an answer that is not worth retrying."""
    spin = Spin(key=uuid.uuid4().hex, user=user)
    started = time.monotonic()
    for attempt in range(retries + 1):
        status, spin.body, retry_after = _post_spin(api_url, spin, bet)
        spin.statuses.append(status)
        if status not in RETRYABLE or attempt == retries:
            break
        backoff = 0.5 * 2**attempt * (0.5 + random.random())
        time.sleep(min(float(retry_after), 20.0) if retry_after and retry_after.isdigit() else backoff)
    spin.latency_ms = (time.monotonic() - started) * 1000
    return spin


class Sampler:
    """Takes a census of the local cloud's runtimes every SAMPLE_SECONDS while running."""

    def __init__(self, settings: Settings) -> None:
        self.state_dir = settings.local_dir / "localstack"
        self.localstack_pid = read_pid_file(settings.local_dir / "run" / "localstack.pid")
        self.peak = census.Census(self.localstack_pid)
        self.orphans: set[int] = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def take(self) -> census.Census:
        return census.take(self.state_dir, self.localstack_pid)

    def _run(self) -> None:
        while not self._stop.wait(SAMPLE_SECONDS):
            now = self.take()
            self.orphans.update(now.orphans)
            self.peak = census.Census(
                self.localstack_pid,
                max(self.peak.localstack_rss_mb, now.localstack_rss_mb),
                now.runtimes if now.count > self.peak.count else self.peak.runtimes,
                max(self.peak.runtimes_rss_mb, now.runtimes_rss_mb),
            )

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()


def check_ledger(
    db: Any, players: list[str], start: dict[str, int], since: float, spins: list[Spin]
) -> tuple[list[str], int]:
    """(problems with the books since ``since``, spins applied whose final answer was an error)."""
    problems = []
    games = list(
        db[GAMES].find(
            {"user_id": {"$in": players}, "timestamp": {"$gte": since}, "spin_id": {"$exists": True}}
        )
    )
    recorded = Counter(game["spin_id"] for game in games)
    history = Counter(
        doc["session_id"]
        for doc in db[GAME_HISTORY].find({"session_id": {"$in": list(recorded)}}, {"session_id": 1})
    )
    problems += [f"spin {spin} recorded {count}x in games" for spin, count in recorded.items() if count != 1]
    problems += [
        f"spin {spin} recorded {history[spin]}x in game_history" for spin in recorded if history[spin] != 1
    ]
    accepted = [spin.body["spin_id"] for spin in spins if spin.final == 200]
    problems += [f"accepted spin {spin} is not recorded" for spin in accepted if recorded[spin] != 1]
    silent = 0
    for spin in spins:
        if spin.final == 200:
            continue
        record = db[IDEMPOTENCY].find_one({"_id": f"spin:{spin.key}"}) or {}
        planned = (record.get("response") or record.get("plan") or {}).get("spin_id")
        if planned and recorded[planned]:
            silent += 1
            problems.append(f"spin {planned} (key {spin.key}) moved money but its client got {spin.final}")
    final = {u["_id"]: u["balance"] for u in db[USERS].find({"_id": {"$in": players}}, {"balance": 1})}
    for user in players:
        mine = [game for game in games if game["user_id"] == user]
        expected = start[user] - sum(game["bet"] for game in mine) + sum(game["payout"] for game in mine)
        if final[user] != expected:
            problems.append(
                f"{user}: balance {final[user]}, expected {expected} from {len(mine)} recorded spins"
            )
        if final[user] < 0:
            problems.append(f"{user}: negative balance {final[user]}")
    return problems, silent


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values) or [0.0]
    return round(ordered[min(len(ordered) - 1, max(0, int(len(ordered) * fraction + 0.5) - 1))], 1)


def _settle(sampler: Sampler, idle: census.Census, limit_s: float) -> tuple[float | None, float]:
    """Seconds until the surplus runtimes are gone (no more than at rest) and their RSS is
    within 2x of rest; None when that did not happen within ``limit_s``."""
    started = time.monotonic()
    while True:
        now = sampler.take()
        elapsed = time.monotonic() - started
        if now.count <= idle.count and now.runtimes_rss_mb <= 2 * idle.runtimes_rss_mb:
            return round(elapsed, 1), now.runtimes_rss_mb
        if elapsed >= limit_s:
            return None, now.runtimes_rss_mb
        time.sleep(1.0)


def run_load(
    settings: Settings,
    deployment: Deployment,
    spins: int = 100,
    concurrency: int = 100,
    users: int = 10,
    bet: int = 5,
    database: str | None = None,
    retries: int = 3,
    settle_seconds: float = 150.0,
) -> LoadReport:
    players = [f"user_{number}" for number in range(1, users + 1)]
    client = mongo_client(settings.effective_mongodb_uri)
    db = client[database or database_name()]
    play(deployment.api_url, players[0], bet, retries)  # one warm runtime per function: "idle"
    start = {u["_id"]: u["balance"] for u in db[USERS].find({"_id": {"$in": players}}, {"balance": 1})}
    since = time.time()
    sampler = Sampler(settings)
    idle = sampler.take()
    plan = [players[number % users] for number in range(spins)]
    started = time.monotonic()
    with sampler, ThreadPoolExecutor(concurrency) as pool:
        results = list(pool.map(lambda user: play(deployment.api_url, user, bet, retries), plan))
    elapsed = time.monotonic() - started
    problems, silent = check_ledger(db, players, start, since, results)
    client.close()
    back_after, after_mb = _settle(sampler, idle, settle_seconds)
    finals = Counter(str(spin.final) for spin in results)
    if finals.get("200", 0) != spins:
        problems.append(f"{spins - finals.get('200', 0)} of {spins} spins had no 200 after {retries} retries")
    if sampler.orphans:
        problems.append(f"orphaned runtime processes seen: {sorted(sampler.orphans)}")
    latencies = [spin.latency_ms for spin in results]
    return LoadReport(
        spins=spins,
        concurrency=concurrency,
        users=users,
        seconds=round(elapsed, 1),
        first_try=dict(Counter(str(spin.statuses[0]) for spin in results)),
        final=dict(finals),
        accepted_first_try=sum(1 for spin in results if spin.statuses[0] == 200),
        accepted=finals.get("200", 0),
        retried_spins=sum(1 for spin in results if len(spin.statuses) > 1),
        most_attempts=max(len(spin.statuses) for spin in results),
        latency_ms_p50=_percentile(latencies, 0.5),
        latency_ms_p95=_percentile(latencies, 0.95),
        latency_ms_max=round(max(latencies), 1),
        runtimes_peak=sampler.peak.count,
        runtimes_rss_idle_mb=idle.runtimes_rss_mb,
        runtimes_rss_peak_mb=sampler.peak.runtimes_rss_mb,
        runtimes_rss_after_mb=after_mb,
        back_within_2x_idle_after_s=back_after,
        localstack_rss_idle_mb=idle.localstack_rss_mb,
        localstack_rss_peak_mb=sampler.peak.localstack_rss_mb,
        orphans_seen=len(sampler.orphans),
        silent_spins=silent,
        capacity=asdict(settings.capacity),
        problems=problems,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make load", description=__doc__)
    parser.add_argument("--spins", type=int, default=100)
    parser.add_argument("--concurrency", type=int, default=100)
    parser.add_argument("--users", type=int, default=10)
    parser.add_argument("--bet", type=int, default=5)
    parser.add_argument("--retries", type=int, default=3, help="retries per spin, same key (default 3)")
    parser.add_argument("--settle", type=float, default=150, help="seconds to wait for memory to come back")
    args = parser.parse_args(argv)
    if not (1 <= args.concurrency <= 200 and 1 <= args.spins <= 5000 and 1 <= args.users <= 10):
        parser.error("bounded load only: concurrency 1-200, spins 1-5000, users 1-10")
    if not (0 <= args.retries <= 10 and 0 <= args.settle <= 600):
        parser.error("retries 0-10, settle 0-600 s")
    settings = Settings.from_env()
    report = run_load(
        settings,
        describe_deployment(settings),
        args.spins,
        args.concurrency,
        args.users,
        args.bet,
        retries=args.retries,
        settle_seconds=args.settle,
    )
    print(json.dumps(asdict(report), indent=2))
    verdict = (
        f"load: OK, nothing lost: {report.accepted_first_try}/{report.spins} answered 200 at the first try, "
        f"{report.accepted}/{report.spins} after retries; p50 {report.latency_ms_p50 / 1000:.1f} s, "
        f"p95 {report.latency_ms_p95 / 1000:.1f} s; peak {report.runtimes_peak} runtimes, "
        f"{report.runtimes_rss_peak_mb:.0f} MB"
    )
    print(verdict if report.ok else "load: FAILED\n  " + "\n  ".join(report.problems), file=sys.stderr)
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
