"""Collections, indexes and documents shared by the functions, the seed and the tools."""

from __future__ import annotations

from typing import Any

from pymongo import ASCENDING, DESCENDING, IndexModel
from pymongo.database import Database

USERS = "users"  # {_id: user id, username, balance, created_at, updated_at, applied_transactions}
GAME_HISTORY = (
    "game_history"  # {game_id, user_id, game_type, bet_amount, payout, result, played_at, session_id}
)
GAMES = "games"  # {user_id, bet, win, payout, symbols, timestamp (epoch seconds)}
# {_id: "<route>:<key>", status, fingerprint, token, locked_until, plan, response, expires_at}
IDEMPOTENCY = "idempotency_keys"

DATABASE = "sentry_poc"  # the default; MONGODB_DATABASE names another
START_BALANCE = 1000
RECENT_TRANSACTIONS = 200  # idempotency window kept on each user document

INDEXES: dict[str, list[IndexModel]] = {
    # the player's history, newest first; game_id is deliberately not indexed (see the N+1 scenario)
    GAME_HISTORY: [
        IndexModel([("user_id", ASCENDING), ("played_at", DESCENDING)], name="user_played_at"),
        # settlements are keyed by spin id (session_id of a spin's history entry)
        IndexModel([("session_id", ASCENDING)], name="session_id"),
    ],
    GAMES: [
        # the fix of the slow aggregation: a range on timestamp first
        IndexModel([("timestamp", ASCENDING), ("user_id", ASCENDING)], name="timestamp_user"),
        # player metrics
        IndexModel([("user_id", ASCENDING), ("timestamp", DESCENDING)], name="user_timestamp"),
        # settlements: one game per spin id (seeded games have none, hence sparse)
        IndexModel([("spin_id", ASCENDING)], name="spin_id", unique=True, sparse=True),
    ],
    # spins' Idempotency-Keys expire (a key is kept IDEMPOTENCY_TTL_SECONDS)
    IDEMPOTENCY: [IndexModel([("expires_at", ASCENDING)], name="expires_at_ttl", expireAfterSeconds=0)],
}


def ensure_indexes(db: Database[Any]) -> None:
    for collection, indexes in INDEXES.items():
        db[collection].create_indexes(indexes)
