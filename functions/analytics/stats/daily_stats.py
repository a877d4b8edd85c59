"""Daily stats: an index-hostile pipeline versus $match on an indexed timestamp first.

Both pipelines group the same games by day; the numbers are identical.
"""

from __future__ import annotations

import time
from typing import Any

from pymongo.database import Database

from slot_common.data_model import GAMES
from slot_common.modes import Mode

DAY_OF = {"$dateToString": {"format": "%Y-%m-%d", "date": {"$toDate": {"$multiply": ["$timestamp", 1000]}}}}
GROUP_BY_DAY = [
    {
        "$group": {
            "_id": "$day",
            "games": {"$sum": 1},
            "wagered": {"$sum": "$bet"},
            "paid": {"$sum": "$payout"},
            "wins": {"$sum": {"$cond": ["$win", 1, 0]}},
            "players": {"$addToSet": "$user_id"},
        }
    },
    {"$project": {"games": 1, "wagered": 1, "paid": 1, "wins": 1, "players": {"$size": "$players"}}},
    {"$sort": {"_id": 1}},
]


def pipeline(mode: Mode, since: float) -> list[dict[str, Any]]:
    if mode is Mode.ANTIPATTERN:
        # ANTI-PATTERN: a computed field first, then $expr: no index can serve it (COLLSCAN)
        return [
            {"$addFields": {"day": DAY_OF}},
            {"$match": {"$expr": {"$gte": ["$timestamp", since]}}},
            *GROUP_BY_DAY,
        ]
    # FIX: a plain range on the indexed timestamp first (IXSCAN), then the rest
    return [{"$match": {"timestamp": {"$gte": since}}}, {"$addFields": {"day": DAY_OF}}, *GROUP_BY_DAY]


def since_for(days: int, now: float | None = None) -> float:
    """Midnight UTC (days - 1) days ago: whole days, so both variants see the same range."""
    now = time.time() if now is None else now
    today = now - now % 86400
    return today - (days - 1) * 86400


def daily_stats(db: Database, days: int, mode: Mode, now: float | None = None) -> dict[str, Any]:
    rows = list(db[GAMES].aggregate(pipeline(mode, since_for(days, now)), allowDiskUse=True))
    daily, running_wagered, running_paid = [], 0, 0
    for row in rows:
        running_wagered += row["wagered"]
        running_paid += row["paid"]
        daily.append(
            {
                "date": row["_id"],
                "games": row["games"],
                "wins": row["wins"],
                "players": row["players"],
                "wagered": row["wagered"],
                "paid": row["paid"],
                "rtp": round(row["paid"] / row["wagered"], 4) if row["wagered"] else 0.0,
                "running_wagered": running_wagered,
                "running_paid": running_paid,
            }
        )
    return {
        "days": days,
        "total_games": sum(day["games"] for day in daily),
        "total_wagered": running_wagered,
        "total_paid": running_paid,
        "daily": daily,
    }


def winning_stage(plan: dict[str, Any]) -> str:
    """COLLSCAN / IXSCAN: the access stage at the bottom of the winning plan."""
    stage = plan
    while "inputStage" in stage:
        stage = stage["inputStage"]
    return stage.get("stage", "UNKNOWN")


def _winning_plan(explained: dict[str, Any]) -> dict[str, Any]:
    if "queryPlanner" in explained:
        return explained["queryPlanner"]["winningPlan"]
    for stage in explained.get("stages", []):
        if "$cursor" in stage:
            return stage["$cursor"]["queryPlanner"]["winningPlan"]
    return {}


def explain(db: Database, days: int, mode: Mode) -> dict[str, Any]:
    explained = db.command(
        "explain",
        {"aggregate": GAMES, "pipeline": pipeline(mode, since_for(days)), "cursor": {}},
        verbosity="queryPlanner",
    )
    plan = _winning_plan(explained)
    return {"stage": winning_stage(plan), "winning_plan": plan, "pipeline": pipeline(mode, since_for(days))}
