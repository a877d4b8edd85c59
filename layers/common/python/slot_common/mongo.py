"""The one MongoDB client factory: short timeouts, so a missing server fails fast (503)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from typing import Any

from pymongo import MongoClient, monitoring
from pymongo.database import Database

from slot_common.settings import settings

# the driver's own round trips: handshakes, authentication, heartbeats, session clean-up
DRIVER_COMMANDS = frozenset(
    {"hello", "ismaster", "isMaster", "ping", "endSessions", "saslStart", "saslContinue"}
)


class QueryCounter(monitoring.CommandListener):
    """Counts the queries each thread sends, as the driver reports them (not as we think)."""

    def __init__(self) -> None:
        self._local = threading.local()

    @property
    def count(self) -> int:
        return getattr(self._local, "count", 0)

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        if event.command_name not in DRIVER_COMMANDS:
            self._local.count = self.count + 1

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass


QUERY_COUNTER = QueryCounter()


@dataclass
class Counted:
    queries: int = 0


@contextmanager
def counting_queries() -> Iterator[Counted]:
    """The number of queries the block sent to MongoDB, measured by the driver's events."""
    counted, before = Counted(), QUERY_COUNTER.count
    try:
        yield counted
    finally:
        counted.queries = QUERY_COUNTER.count - before


def single_server(uri: str) -> bool:
    """One host, no replica set named, no SRV lookup: talk to it directly."""
    if uri.startswith("mongodb+srv://") or "replicaSet=" in uri:
        return False
    hosts = uri.split("://", 1)[-1].split("/", 1)[0].split("@")[-1]
    return "," not in hosts


def new_client() -> MongoClient[Any]:
    """A fresh client with its own pool; connects lazily on the first command.

    A single server gets a direct connection: otherwise a server that answers as a replica
    set member while it shuts down can leave the driver with an empty topology that never
    heals, and the function would need a new environment to reach the database again.
    """
    config = settings()
    return MongoClient(
        config.mongodb_uri,
        directConnection=single_server(config.mongodb_uri),
        serverSelectionTimeoutMS=config.mongo_timeout_ms,
        connectTimeoutMS=config.mongo_timeout_ms,
        socketTimeoutMS=max(config.mongo_timeout_ms, 60_000),
        appname=config.sentry_environment,
        event_listeners=[QUERY_COUNTER],
    )


@cache
def shared_client() -> MongoClient[Any]:
    """One client per execution environment, reused by every warm invocation."""
    return new_client()


def database(client: MongoClient[Any] | None = None) -> Database[Any]:
    return (client or shared_client())[settings().mongodb_database]
