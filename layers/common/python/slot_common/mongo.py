"""The one MongoDB client factory: short timeouts, so a missing server fails fast (503)."""

from __future__ import annotations

from functools import cache

from pymongo import MongoClient
from pymongo.database import Database

from slot_common.settings import settings


def single_server(uri: str) -> bool:
    """One host, no replica set named, no SRV lookup: talk to it directly."""
    if uri.startswith("mongodb+srv://") or "replicaSet=" in uri:
        return False
    hosts = uri.split("://", 1)[-1].split("/", 1)[0].split("@")[-1]
    return "," not in hosts


def new_client() -> MongoClient:
    """A fresh client with its own pool; connects lazily on the first command.

    A single server gets a direct connection: otherwise a server that answers as a replica
    set member while it shuts down can leave the driver with an empty topology that never
    heals, and the function would need a new environment to reach the database again.
    """
    config = settings()
    options = {"directConnection": True} if single_server(config.mongodb_uri) else {}
    return MongoClient(
        config.mongodb_uri,
        **options,
        serverSelectionTimeoutMS=config.mongo_timeout_ms,
        connectTimeoutMS=config.mongo_timeout_ms,
        socketTimeoutMS=max(config.mongo_timeout_ms, 60_000),
        appname=config.sentry_environment,
    )


@cache
def shared_client() -> MongoClient:
    """One client per execution environment, reused by every warm invocation."""
    return new_client()


def database(client: MongoClient | None = None) -> Database:
    return (client or shared_client())[settings().mongodb_database]
