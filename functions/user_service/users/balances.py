"""Settling a spin: the balance change and the game's records, safe to retry.

The balance moves by payout - bet in one atomic update that also remembers the spin id, so
a balance never goes negative and a retried settlement is applied once. The game is then
recorded with upserts keyed by the spin id: a retry after a crash completes the records
without paying twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pymongo import ReturnDocument
from pymongo.database import Database

from slot_common.data_model import GAME_HISTORY, GAMES, RECENT_TRANSACTIONS, USERS


class BalanceError(Exception):
    """A settlement that was refused; ``status`` is the HTTP status the caller should answer."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def _non_negative_int(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise BalanceError(400, f"{name} must be a non-negative integer")
    return value


@dataclass(frozen=True)
class Settlement:
    user_id: str
    spin_id: str
    bet: int
    payout: int
    symbols: list[str]

    @classmethod
    def from_event(cls, event: dict[str, Any]) -> Settlement:
        """Validates an invoke payload from the game engine."""
        try:
            settlement = cls(
                str(event["user_id"]),
                str(event["spin_id"]),
                event["bet"],
                event["payout"],
                list(event["symbols"]),
            )
        except (KeyError, TypeError) as missing:
            raise BalanceError(400, f"settlement is missing {missing}") from None
        _non_negative_int(settlement.payout, "payout")
        if _non_negative_int(settlement.bet, "bet") == 0:
            raise BalanceError(400, "bet must be greater than 0")
        if not settlement.spin_id:
            raise BalanceError(400, "spin_id must not be empty")
        return settlement


def get_balance(db: Database, user_id: str) -> int | None:
    user = db[USERS].find_one({"_id": user_id}, {"balance": 1})
    return None if user is None else user["balance"]


def _apply(db: Database, settlement: Settlement) -> tuple[int, bool]:
    """(balance after, applied now); raises BalanceError when refused."""
    updated = db[USERS].find_one_and_update(
        {
            "_id": settlement.user_id,
            "balance": {"$gte": settlement.bet},
            "applied_transactions": {"$ne": settlement.spin_id},
        },
        {
            "$inc": {"balance": settlement.payout - settlement.bet},
            "$set": {"updated_at": datetime.now(UTC)},
            "$push": {
                "applied_transactions": {"$each": [settlement.spin_id], "$slice": -RECENT_TRANSACTIONS}
            },
        },
        projection={"balance": 1},
        return_document=ReturnDocument.AFTER,
    )
    if updated is not None:
        return updated["balance"], True
    user = db[USERS].find_one({"_id": settlement.user_id}, {"balance": 1, "applied_transactions": 1})
    if user is None:
        raise BalanceError(404, f"user {settlement.user_id} not found")
    if settlement.spin_id in user.get("applied_transactions", []):
        return user["balance"], False  # a retry: the money moved once already
    raise BalanceError(400, f"bet of {settlement.bet} exceeds the balance of {user['balance']}")


def _record(db: Database, settlement: Settlement, now: datetime) -> None:
    win = settlement.payout > 0
    db[GAMES].update_one(
        {"spin_id": settlement.spin_id},
        {
            "$setOnInsert": {
                "user_id": settlement.user_id,
                "bet": settlement.bet,
                "win": win,
                "payout": settlement.payout,
                "symbols": settlement.symbols,
                "timestamp": now.timestamp(),
            }
        },
        upsert=True,
    )
    db[GAME_HISTORY].update_one(
        {"session_id": settlement.spin_id},
        {
            "$setOnInsert": {
                "game_id": f"game_{settlement.spin_id}",
                "user_id": settlement.user_id,
                "game_type": "slots",
                "bet_amount": settlement.bet,
                "payout": settlement.payout,
                "result": settlement.symbols,
                "played_at": now.timestamp(),
            }
        },
        upsert=True,
    )


def settle(db: Database, settlement: Settlement) -> dict[str, Any]:
    balance, applied = _apply(db, settlement)
    _record(db, settlement, datetime.now(UTC))
    return {"balance": balance, "applied": applied}
