"""Demo data: users, their game history, and enough games to make the slow aggregation slow.

Idempotent: users are inserted only if missing (balances are never reset), history and
games only up to the requested counts. ``python -m deploy.seed --help``.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from pymongo.database import Database

from deploy.settings import DeploySettings
from localcloud.services import mongo_client
from localcloud.settings import Settings
from slot_common.data_model import GAME_HISTORY, GAMES, START_BALANCE, USERS, ensure_indexes

SYMBOLS = ("cherry", "lemon", "orange", "grape", "star", "diamond")
WEIGHTS = (30, 25, 20, 15, 8, 2)
MULTIPLIERS = (2, 3, 4, 5, 10, 20)
BATCH = 5000


@dataclass(frozen=True)
class SeedSize:
    users: int = 10
    history_per_user: int = 2000
    games: int = 120_000
    days: int = 365

    @classmethod
    def from_env(cls) -> SeedSize:
        """The demo's size, or a smaller one (SEED_GAMES, SEED_HISTORY_PER_USER): the slow
        aggregation is slow because of the 120,000 games, and seeding them takes a while on a
        slow server."""
        default = cls()
        try:
            games = int(os.environ.get("SEED_GAMES") or default.games)
            history = int(os.environ.get("SEED_HISTORY_PER_USER") or default.history_per_user)
        except ValueError as error:
            raise SystemExit(f"SEED_GAMES and SEED_HISTORY_PER_USER must be whole numbers: {error}") from None
        if games < 1 or history < 1:
            raise SystemExit("SEED_GAMES and SEED_HISTORY_PER_USER must be at least 1")
        return cls(games=games, history_per_user=history)


def user_ids(count: int) -> list[str]:
    return [f"user_{number}" for number in range(1, count + 1)]


def seed_users(db: Database, size: SeedSize) -> int:
    now = datetime.now(UTC)
    created = 0
    for number, user_id in enumerate(user_ids(size.users), start=1):
        result = db[USERS].update_one(
            {"_id": user_id},
            {
                "$setOnInsert": {
                    "username": f"demo_player_{number}",
                    "balance": START_BALANCE,
                    "created_at": now,
                    "updated_at": now,
                    "applied_transactions": [],
                }
            },
            upsert=True,
        )
        created += result.upserted_id is not None
    return created


def _history_doc(user_id: str, index: int, count: int, now: float) -> dict:
    """The original's seed: bets 10-49, 30% wins paying x2-x9, one hour apart."""
    rng = random.Random(f"{user_id}:{index}")
    bet = rng.randint(10, 49)
    win = rng.random() < 0.30
    symbol = rng.choice(SYMBOLS)
    return {
        "game_id": f"game_{user_id}_{index}",
        "user_id": user_id,
        "game_type": "slots",
        "bet_amount": bet,
        "payout": bet * rng.randint(2, 9) if win else 0,
        "result": [symbol] * 3 if win else rng.sample(SYMBOLS, 3),
        "played_at": now - (count - index) * 3600.0,
        "session_id": f"seed_{user_id}_{index // 50}",
        "seeded": True,
    }


def seed_history(db: Database, size: SeedSize) -> int:
    now, inserted = time.time(), 0
    for user_id in user_ids(size.users):
        existing = db[GAME_HISTORY].count_documents({"user_id": user_id, "seeded": True})
        for start in range(existing, size.history_per_user, BATCH):
            stop = min(start + BATCH, size.history_per_user)
            docs = [_history_doc(user_id, i, size.history_per_user, now) for i in range(start, stop)]
            db[GAME_HISTORY].insert_many(docs, ordered=True)
            inserted += len(docs)
    return inserted


def _game_doc(rng: random.Random, users: list[str], now: float, days: int) -> dict:
    bet = rng.randint(10, 49)
    win = rng.random() < 0.22
    (multiplier,) = rng.choices(MULTIPLIERS, WEIGHTS) if win else (0,)
    symbol = SYMBOLS[MULTIPLIERS.index(multiplier)] if win else None
    return {
        "user_id": rng.choice(users),
        "bet": bet,
        "win": win,
        "payout": bet * multiplier,
        "symbols": [symbol] * 3 if symbol else rng.sample(SYMBOLS, 3),
        "timestamp": now - rng.random() * days * 86400,
        "seeded": True,
    }


def seed_games(db: Database, size: SeedSize) -> int:
    existing = db[GAMES].count_documents({"seeded": True})
    users, now, inserted = user_ids(size.users), time.time(), 0
    rng = random.Random(f"games:{existing}")
    for start in range(existing, size.games, BATCH):
        docs = [_game_doc(rng, users, now, size.days) for _ in range(min(BATCH, size.games - start))]
        db[GAMES].insert_many(docs, ordered=True)
        inserted += len(docs)
    return inserted


def seed(db: Database, size: SeedSize = SeedSize(), log=print) -> dict[str, int]:
    started = time.monotonic()
    ensure_indexes(db)
    counts = {"users_created": seed_users(db, size)}
    log(f"seed: users ready ({counts['users_created']} created)")
    counts["history_inserted"] = seed_history(db, size)
    log(f"seed: game_history ready ({counts['history_inserted']} inserted)")
    counts["games_inserted"] = seed_games(db, size)
    log(f"seed: games ready ({counts['games_inserted']} inserted)")
    log(f"seed: done in {time.monotonic() - started:.1f} s")
    return counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m deploy.seed", description=__doc__)
    parser.add_argument(
        "--uri",
        default=None,
        help="MongoDB to seed (default: MONGODB_URI, else the local server on MONGO_PORT)",
    )
    parser.add_argument("--database", default=DeploySettings.from_env().database)
    parser.add_argument("--users", type=int, default=SeedSize.users)
    size = SeedSize.from_env()
    parser.add_argument("--history-per-user", type=int, default=size.history_per_user)
    parser.add_argument("--games", type=int, default=size.games)
    args = parser.parse_args(argv)
    client = mongo_client(args.uri or Settings.from_env().effective_mongodb_uri)
    try:
        seed(client[args.database], SeedSize(args.users, args.history_per_user, args.games))
    finally:
        client.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
