"""`make load`: concurrent spins through API Gateway, then proof that nothing was lost.

A warm-up ramp (waves of 10, 20, ... concurrent spins) lets the executor create its
execution environments a few at a time, as a real service scales out; then the burst sends
`--spins` at `--concurrency`. Afterwards the ledger is checked: every accepted spin is
recorded exactly once (games and game_history), no spin is recorded twice, no balance is
negative, and each player's balance equals start - bets + payouts of every spin recorded
since the run began (a spin whose answer was lost still counts if it was settled).
Bounded: a fixed number of spins, each with a timeout, against loopback only.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import urllib.error
import urllib.request
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from typing import Any

from pymongo import MongoClient

from deploy.local import Deployment, describe_deployment
from localcloud.settings import Settings
from slot_common.data_model import GAME_HISTORY, GAMES, USERS

_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@dataclass
class LoadReport:
    spins: int
    concurrency: int
    users: int
    seconds: float
    accepted: int
    refused: int
    failed: int
    statuses: dict[str, int]
    latency_ms_p50: float
    latency_ms_p95: float
    max_environments: int
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _spin(api_url: str, user: str, bet: int) -> tuple[int, dict[str, Any], float]:
    body = json.dumps({"user_id": user, "bet": bet}).encode()
    request = urllib.request.Request(
        f"{api_url}/api/v1/spin", data=body, method="POST", headers={"Content-Type": "application/json"}
    )
    started = time.monotonic()
    try:
        with _OPENER.open(request, timeout=120) as response:
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, raw = error.code, error.read()
    except OSError as error:
        return 0, {"error": str(error)}, (time.monotonic() - started) * 1000
    try:
        parsed = json.loads(raw)
    except ValueError:
        parsed = {"raw": raw.decode(errors="replace")}
    return status, parsed, (time.monotonic() - started) * 1000


def _count_environments(settings: Settings) -> int:
    return len(list(settings.lambda_envs_dir.glob("envs/*/runtime.pid")))


def _wave(api_url: str, plan: list[str], concurrency: int, bet: int, settings: Settings) -> tuple[list, int]:
    peak = 0
    with ThreadPoolExecutor(concurrency) as pool:
        futures = [pool.submit(_spin, api_url, user, bet) for user in plan]
        while not all(f.done() for f in futures):
            peak = max(peak, _count_environments(settings))
            time.sleep(0.2)
    return [f.result() for f in futures], peak


def check_ledger(
    db: Any, players: list[str], start: dict[str, int], since: float, accepted: list[str]
) -> list[str]:
    """Problems with the books since ``since``; an empty list means nothing was lost."""
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
    problems += [f"accepted spin {spin} is not recorded" for spin in accepted if recorded[spin] != 1]
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
    return problems


def run_load(
    settings: Settings,
    deployment: Deployment,
    spins: int = 100,
    concurrency: int = 50,
    users: int = 10,
    bet: int = 5,
    database: str | None = None,
    ramp_step: int = 10,
) -> LoadReport:
    players = [f"user_{number}" for number in range(1, users + 1)]
    client = MongoClient(settings.effective_mongodb_uri, serverSelectionTimeoutMS=5000)
    db = client[database or os.environ.get("MONGODB_DATABASE", "sentry_poc")]
    start = {u["_id"]: u["balance"] for u in db[USERS].find({"_id": {"$in": players}}, {"balance": 1})}
    since = time.time()
    peak = 0
    for level in range(ramp_step, concurrency, ramp_step):  # warm-up: scale out a few at a time
        _, wave_peak = _wave(
            deployment.api_url, [players[n % users] for n in range(level)], level, bet, settings
        )
        peak = max(peak, wave_peak)
    plan = [players[number % users] for number in range(spins)]
    started = time.monotonic()
    results, burst_peak = _wave(deployment.api_url, plan, concurrency, bet, settings)
    elapsed = time.monotonic() - started
    time.sleep(1)  # settlements of lost answers finish on their own
    statuses = Counter(str(status) for status, _, _ in results)
    accepted = [body["spin_id"] for status, body, _ in results if status == 200]
    problems = check_ledger(db, players, start, since, accepted)
    client.close()
    latencies = sorted(ms for status, _, ms in results if status == 200) or [0.0]
    failed = sum(1 for status, _, _ in results if status == 0 or status >= 500)
    if not accepted:
        problems.append(f"none of {spins} spins was accepted")
    return LoadReport(
        spins=spins,
        concurrency=concurrency,
        users=users,
        seconds=round(elapsed, 1),
        accepted=len(accepted),
        refused=sum(1 for status, _, _ in results if 400 <= status < 500),
        failed=failed,
        statuses=dict(statuses),
        latency_ms_p50=round(latencies[len(latencies) // 2], 1),
        latency_ms_p95=round(latencies[max(0, int(len(latencies) * 0.95) - 1)], 1),
        max_environments=max(peak, burst_peak),
        problems=problems,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make load", description=__doc__)
    parser.add_argument("--spins", type=int, default=100)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--users", type=int, default=10)
    parser.add_argument("--bet", type=int, default=5)
    args = parser.parse_args(argv)
    if not (1 <= args.concurrency <= 200 and 1 <= args.spins <= 5000 and 1 <= args.users <= 10):
        parser.error("bounded load only: concurrency 1-200, spins 1-5000, users 1-10")
    settings = Settings.from_env()
    report = run_load(
        settings, describe_deployment(settings), args.spins, args.concurrency, args.users, args.bet
    )
    print(json.dumps(asdict(report), indent=2))
    verdict = f"load: OK, nothing lost ({report.accepted} accepted, {report.failed} failed)"
    print(verdict if report.ok else "load: FAILED", file=sys.stderr)
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
