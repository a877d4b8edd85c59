"""The one MongoDB client factory: short timeouts, so a missing server fails fast (503)."""

from __future__ import annotations

from functools import cache

from pymongo import MongoClient
from pymongo.database import Database

from slot_common.settings import settings


def new_client() -> MongoClient:
    """A fresh client with its own pool; connects lazily on the first command."""
    config = settings()
    return MongoClient(
        config.mongodb_uri,
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
