"""`make load`: concurrent spins through API Gateway, then proof that nothing was lost.

Every accepted spin must be recorded exactly once (games and game_history), no balance may
go negative, and each player's balance must equal start - bets + payouts. Bounded: a fixed
number of spins, each with a timeout, against loopback only.
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
        return not self.problems and self.failed == 0


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
    return len(list(settings.lambda_envs_dir.glob("envs/*/init.pid")))


def run_load(
    settings: Settings,
    deployment: Deployment,
    spins: int = 100,
    concurrency: int = 50,
    users: int = 10,
    bet: int = 5,
    database: str | None = None,
) -> LoadReport:
    players = [f"user_{number}" for number in range(1, users + 1)]
    client = MongoClient(settings.effective_mongodb_uri, serverSelectionTimeoutMS=5000)
    db = client[database or os.environ.get("MONGODB_DATABASE", "sentry_poc")]
    start = {u["_id"]: u["balance"] for u in db[USERS].find({"_id": {"$in": players}}, {"balance": 1})}
    plan = [players[number % users] for number in range(spins)]
    peak_environments = 0
    started = time.monotonic()
    with ThreadPoolExecutor(concurrency) as pool:
        futures = [pool.submit(_spin, deployment.api_url, user, bet) for user in plan]
        while not all(f.done() for f in futures):
            peak_environments = max(peak_environments, _count_environments(settings))
            time.sleep(0.2)
        results = [f.result() for f in futures]
    elapsed = time.monotonic() - started

    statuses = Counter(str(status) for status, _, _ in results)
    accepted = [(user, body) for user, (status, body, _) in zip(plan, results, strict=True) if status == 200]
    problems = []
    spin_ids = [body["spin_id"] for _, body in accepted]
    recorded = Counter(
        doc["spin_id"] for doc in db[GAMES].find({"spin_id": {"$in": spin_ids}}, {"spin_id": 1})
    )
    history = Counter(
        doc["session_id"]
        for doc in db[GAME_HISTORY].find({"session_id": {"$in": spin_ids}}, {"session_id": 1})
    )
    for spin_id in spin_ids:
        if recorded[spin_id] != 1 or history[spin_id] != 1:
            problems.append(
                f"spin {spin_id} recorded {recorded[spin_id]}x in games, {history[spin_id]}x in history"
            )
    final = {u["_id"]: u["balance"] for u in db[USERS].find({"_id": {"$in": players}}, {"balance": 1})}
    for user in players:
        expected = start[user] - sum(b["bet"] for u, b in accepted if u == user)
        expected += sum(b["payout"] for u, b in accepted if u == user)
        if final[user] != expected:
            problems.append(f"{user}: balance {final[user]}, expected {expected}")
        if final[user] < 0:
            problems.append(f"{user}: negative balance {final[user]}")
    client.close()
    latencies = sorted(ms for status, _, ms in results if status == 200) or [0.0]
    return LoadReport(
        spins=spins,
        concurrency=concurrency,
        users=users,
        seconds=round(elapsed, 1),
        accepted=len(accepted),
        refused=sum(1 for status, _, _ in results if 400 <= status < 500),
        failed=sum(1 for status, _, _ in results if status == 0 or status >= 500),
        statuses=dict(statuses),
        latency_ms_p50=round(latencies[len(latencies) // 2], 1),
        latency_ms_p95=round(latencies[int(len(latencies) * 0.95) - 1 if len(latencies) > 1 else 0], 1),
        max_environments=peak_environments,
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
    print("load: OK, nothing lost" if report.ok else "load: FAILED", file=sys.stderr)
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
