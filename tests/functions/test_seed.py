"""The seed is idempotent and never resets a balance."""

from __future__ import annotations

import uuid

import pytest
from pymongo import MongoClient

from deploy.seed import SeedSize, seed
from slot_common.data_model import GAME_HISTORY, GAMES, USERS


def test_seed_twice_changes_nothing_the_second_time(mongo_server):
    client = MongoClient(mongo_server)
    db = client[f"seed_{uuid.uuid4().hex[:8]}"]
    size = SeedSize(users=2, history_per_user=30, games=500, days=10)
    try:
        first = seed(db, size, log=lambda _: None)
        assert first == {"users_created": 2, "history_inserted": 60, "games_inserted": 500}
        db[USERS].update_one({"_id": "user_1"}, {"$set": {"balance": 123}})
        second = seed(db, size, log=lambda _: None)
        assert second == {"users_created": 0, "history_inserted": 0, "games_inserted": 0}
        assert db[USERS].find_one({"_id": "user_1"})["balance"] == 123
        assert db[GAME_HISTORY].count_documents({}) == 60 and db[GAMES].count_documents({}) == 500
        assert "timestamp_user" in db[GAMES].index_information()
    finally:
        client.drop_database(db.name)
        client.close()


def test_the_seed_size_is_the_demos_unless_the_environment_says_smaller(monkeypatch):
    monkeypatch.delenv("SEED_GAMES", raising=False)
    monkeypatch.delenv("SEED_HISTORY_PER_USER", raising=False)
    assert SeedSize.from_env() == SeedSize()
    monkeypatch.setenv("SEED_GAMES", "3000")
    monkeypatch.setenv("SEED_HISTORY_PER_USER", "100")
    assert SeedSize.from_env() == SeedSize(games=3000, history_per_user=100)
    for bad in ("many", "0"):
        monkeypatch.setenv("SEED_GAMES", bad)
        with pytest.raises(SystemExit, match="SEED_GAMES"):
            SeedSize.from_env()
