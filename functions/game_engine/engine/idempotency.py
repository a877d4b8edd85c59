"""Idempotent spins: one client key, one spin, whatever the retries (Powertools' semantics).

A spin with an ``Idempotency-Key`` header claims a record first. A repeat of a completed
spin gets the stored answer (same spin id, symbols and balance) and never spins again; the
same key with another request is refused (422); a repeat while the first still runs is told
to come back (409 with Retry-After). A claim holds a lock only as long as the function may
run: an attempt that was killed (timeout, crash) is taken over by the next retry.

Before any money moves the attempt stores its *plan* (spin id, symbols, payout) in the
record. A retry that takes over an attempt which died after storing it settles that same
plan; the user service applies a spin id once, so money moves once and the answer is the
settled one.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo import ReturnDocument
from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

from slot_common.data_model import IDEMPOTENCY

HEADER = "idempotency-key"
IN_PROGRESS = "INPROGRESS"
COMPLETED = "COMPLETED"
KEY_PATTERN = re.compile(r"[A-Za-z0-9._:-]{1,128}")


class IdempotencyError(Exception):
    """Answered to the client as ``status`` with ``{"error": message}``."""

    def __init__(self, status: int, message: str, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after


@dataclass(frozen=True)
class Claim:
    """This attempt owns the record ``record_id`` while its token is in it."""

    record_id: str
    token: str
    plan: dict[str, Any] | None  # left by an earlier attempt that died after storing it


@dataclass(frozen=True)
class Replay:
    body: dict[str, Any]


def validate_key(raw: str | None) -> str | None:
    if raw is None:
        return None
    if not KEY_PATTERN.fullmatch(raw):
        raise IdempotencyError(400, "Idempotency-Key must be 1-128 characters of A-Z a-z 0-9 . _ : -")
    return raw


def fingerprint(scope: str, request: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps([scope, request], sort_keys=True).encode()).hexdigest()


def begin(
    db: Database, scope: str, key: str, request_fingerprint: str, lock_seconds: float, ttl_seconds: int
) -> Claim | Replay:
    """Claims the key for this attempt, or says what to answer instead."""
    record_id = f"{scope}:{key}"
    collection = db[IDEMPOTENCY]
    for _ in range(3):  # a record deleted or taken over between two reads: look again
        now = time.time()
        token = uuid.uuid4().hex
        try:
            collection.insert_one(
                {
                    "_id": record_id,
                    "status": IN_PROGRESS,
                    "fingerprint": request_fingerprint,
                    "token": token,
                    "locked_until": now + lock_seconds,
                    "expires_at": datetime.now(UTC) + timedelta(seconds=ttl_seconds),
                }
            )
            return Claim(record_id, token, None)
        except DuplicateKeyError:
            pass
        existing = collection.find_one({"_id": record_id})
        if existing is None:
            continue
        if existing["expires_at"].replace(tzinfo=UTC) < datetime.now(UTC):  # the TTL index is lazy
            collection.delete_one({"_id": record_id, "token": existing.get("token")})
            continue
        if existing["fingerprint"] != request_fingerprint:
            raise IdempotencyError(422, f"Idempotency-Key {key!r} was already used with a different request")
        if existing["status"] == COMPLETED:
            return Replay(existing["response"])
        if existing["locked_until"] > now:
            wait = max(1, math.ceil(existing["locked_until"] - now))
            raise IdempotencyError(
                409, f"a spin with Idempotency-Key {key!r} is still in progress; retry later", wait
            )
        taken = collection.find_one_and_update(
            {"_id": record_id, "token": existing["token"], "status": IN_PROGRESS},
            {"$set": {"token": token, "locked_until": now + lock_seconds}},
            return_document=ReturnDocument.AFTER,
        )
        if taken is not None:
            return Claim(record_id, token, taken.get("plan"))
    raise IdempotencyError(409, f"Idempotency-Key {key!r} is contended; retry later", 1)


def store_plan(db: Database, claim: Claim, plan: dict[str, Any]) -> dict[str, Any]:
    """Records what this attempt is about to settle; an earlier stored plan wins."""
    stored = db[IDEMPOTENCY].find_one_and_update(
        {"_id": claim.record_id, "token": claim.token, "plan": {"$exists": False}},
        {"$set": {"plan": plan}},
        return_document=ReturnDocument.AFTER,
    )
    if stored is None:
        current = db[IDEMPOTENCY].find_one({"_id": claim.record_id}) or {}
        if current.get("token") != claim.token:
            raise IdempotencyError(409, "this spin was taken over by a retry; retry to read its result", 1)
        return current["plan"]
    return stored["plan"]


def complete(db: Database, claim: Claim, body: dict[str, Any]) -> None:
    db[IDEMPOTENCY].update_one(
        {"_id": claim.record_id, "token": claim.token},
        {"$set": {"status": COMPLETED, "response": body}, "$unset": {"token": "", "plan": ""}},
    )


def abandon(db: Database, claim: Claim, refused: bool) -> None:
    """The attempt failed. Refused (nothing moved): forget the key. Otherwise a retry may take
    over at once and settle the stored plan, if any."""
    if refused:
        db[IDEMPOTENCY].delete_one({"_id": claim.record_id, "token": claim.token})
    else:
        db[IDEMPOTENCY].update_one(
            {"_id": claim.record_id, "token": claim.token}, {"$set": {"locked_until": 0}}
        )
