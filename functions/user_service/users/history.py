"""Game history: the N+1 and its fix, side by side. Both return the same list."""

from __future__ import annotations

from typing import Any

from pymongo.database import Database

from slot_common.data_model import GAME_HISTORY
from slot_common.modes import Mode

HISTORY_LENGTH = 20
FIELDS = {"_id": 0, "game_id": 1, "game_type": 1, "bet_amount": 1, "payout": 1, "result": 1, "played_at": 1}


def recent_game_ids(db: Database, user_id: str) -> list[str]:
    cursor = db[GAME_HISTORY].find({"user_id": user_id}, {"_id": 0, "game_id": 1})
    return [doc["game_id"] for doc in cursor.sort("played_at", -1).limit(HISTORY_LENGTH)]


def history_n_plus_one(db: Database, user_id: str) -> list[dict[str, Any]]:
    """ANTI-PATTERN: one query for the ids, then one round trip per game.

    Each lookup filters the player's history by game_id, which no index covers, so every
    one of the 20 queries walks the player's whole history again.
    """
    ids = recent_game_ids(db, user_id)
    games = [db[GAME_HISTORY].find_one({"user_id": user_id, "game_id": game_id}, FIELDS) for game_id in ids]
    return [game for game in games if game is not None]


def history_single_query(db: Database, user_id: str) -> list[dict[str, Any]]:
    """FIX: the query that finds the ids already returns the games."""
    cursor = db[GAME_HISTORY].find({"user_id": user_id}, FIELDS).sort("played_at", -1).limit(HISTORY_LENGTH)
    return list(cursor)


def recent_games(db: Database, user_id: str, mode: Mode) -> list[dict[str, Any]]:
    """The player's last games, newest first."""
    if mode is Mode.ANTIPATTERN:
        return history_n_plus_one(db, user_id)
    return history_single_query(db, user_id)
