"""Balance changes for the spin: atomic, never negative, applied once per transaction id."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pymongo import ReturnDocument
from pymongo.database import Database

from slot_common.data_model import RECENT_TRANSACTIONS, USERS

KINDS = ("debit", "credit")


class BalanceError(Exception):
    """A change that was refused; ``status`` is the HTTP status the caller should answer."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class BalanceChange:
    user_id: str
    kind: str
    amount: int
    transaction_id: str

    @classmethod
    def from_event(cls, event: dict[str, Any]) -> BalanceChange:
        """Validates an invoke payload from the game engine."""
        try:
            change = cls(str(event["user_id"]), event["kind"], event["amount"], str(event["transaction_id"]))
        except (KeyError, TypeError) as missing:
            raise BalanceError(400, f"balance change is missing {missing}") from None
        if change.kind not in KINDS:
            raise BalanceError(400, f"kind must be one of {KINDS}")
        if isinstance(change.amount, bool) or not isinstance(change.amount, int) or change.amount < 0:
            raise BalanceError(400, "amount must be a non-negative integer")
        if not change.transaction_id:
            raise BalanceError(400, "transaction_id must not be empty")
        return change


def get_balance(db: Database, user_id: str) -> int | None:
    user = db[USERS].find_one({"_id": user_id}, {"balance": 1})
    return None if user is None else user["balance"]


def apply_change(db: Database, change: BalanceChange) -> dict[str, Any]:
    """One atomic update on the user document; a retried transaction id changes nothing."""
    delta = change.amount if change.kind == "credit" else -change.amount
    condition: dict[str, Any] = {
        "_id": change.user_id,
        "applied_transactions": {"$ne": change.transaction_id},
    }
    if change.kind == "debit":
        condition["balance"] = {"$gte": change.amount}
    updated = db[USERS].find_one_and_update(
        condition,
        {
            "$inc": {"balance": delta},
            "$set": {"updated_at": datetime.now(UTC)},
            "$push": {
                "applied_transactions": {"$each": [change.transaction_id], "$slice": -RECENT_TRANSACTIONS}
            },
        },
        projection={"balance": 1},
        return_document=ReturnDocument.AFTER,
    )
    if updated is not None:
        return {"balance": updated["balance"], "applied": True}
    user = db[USERS].find_one({"_id": change.user_id}, {"balance": 1, "applied_transactions": 1})
    if user is None:
        raise BalanceError(404, f"user {change.user_id} not found")
    if change.transaction_id in user.get("applied_transactions", []):
        return {"balance": user["balance"], "applied": False}  # a retry: already applied once
    raise BalanceError(400, f"bet of {change.amount} exceeds the balance of {user['balance']}")
