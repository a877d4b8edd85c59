"""Player metrics: five separate queries versus one aggregation; the same numbers."""

from __future__ import annotations

from typing import Any

from pymongo.database import Database

from slot_common.data_model import GAMES
from slot_common.modes import Mode


def _metrics(
    games: int, wagered: int, paid: int, biggest_win: int, last_played: float | None
) -> dict[str, Any]:
    return {
        "games_played": games,
        "total_wagered": wagered,
        "total_paid": paid,
        "biggest_win": biggest_win,
        "last_played": last_played,
        "rtp": round(paid / wagered, 4) if wagered else 0.0,
    }


def _sum(db: Database, user_id: str, field: str) -> int:
    rows = list(
        db[GAMES].aggregate(
            [{"$match": {"user_id": user_id}}, {"$group": {"_id": None, "t": {"$sum": field}}}]
        )
    )
    return rows[0]["t"] if rows else 0


def five_queries(db: Database, user_id: str) -> dict[str, Any]:
    """ANTI-PATTERN: one round trip per number."""
    games = db[GAMES].count_documents({"user_id": user_id})
    wagered = _sum(db, user_id, "$bet")
    paid = _sum(db, user_id, "$payout")
    biggest = db[GAMES].find_one({"user_id": user_id}, {"payout": 1}, sort=[("payout", -1)])
    last = db[GAMES].find_one({"user_id": user_id}, {"timestamp": 1}, sort=[("timestamp", -1)])
    return _metrics(
        games, wagered, paid, biggest["payout"] if biggest else 0, last["timestamp"] if last else None
    )


def one_aggregation(db: Database, user_id: str) -> dict[str, Any]:
    """FIX: one $group computes every number in a single pass."""
    rows = list(
        db[GAMES].aggregate(
            [
                {"$match": {"user_id": user_id}},
                {
                    "$group": {
                        "_id": None,
                        "games": {"$sum": 1},
                        "wagered": {"$sum": "$bet"},
                        "paid": {"$sum": "$payout"},
                        "biggest": {"$max": "$payout"},
                        "last": {"$max": "$timestamp"},
                    }
                },
            ]
        )
    )
    if not rows:
        return _metrics(0, 0, 0, 0, None)
    row = rows[0]
    return _metrics(row["games"], row["wagered"], row["paid"], row["biggest"], row["last"])


def player_metrics(db: Database, user_id: str, mode: Mode) -> dict[str, Any]:
    return five_queries(db, user_id) if mode is Mode.ANTIPATTERN else one_aggregation(db, user_id)
