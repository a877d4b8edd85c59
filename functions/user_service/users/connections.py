"""Connection churn and its fix: a MongoClient per invocation versus one per environment."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from pymongo.database import Database

from slot_common.modes import Mode
from slot_common.mongo import database, new_client
from slot_common.observability import record, span

T = TypeVar("T")


def with_database[T](mode: Mode, work: Callable[[Database], T]) -> T:
    """Runs ``work`` on a database handle obtained the way ``mode`` says."""
    if mode is Mode.OPTIMIZED:
        return work(database())  # the environment's client: already connected when warm
    # ANTI-PATTERN: a new client, so a new TCP connection and handshake, on every call
    with span(op="db.connection", name="MongoClient() connect + handshake") as connecting:
        client = new_client()
        client.admin.command("ping")
        connecting.set_data("db.system", "mongodb")
    record("db.connections_opened", 1)
    try:
        return work(database(client))
    finally:
        client.close()
