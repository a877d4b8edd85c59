"""Fixtures for the three Chalice apps: a real MongoDB server, small seeded data, and the
apps loaded by path (each function's app.py is a module called ``app`` on Lambda)."""

from __future__ import annotations

import importlib.util
import json
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
from chalice.test import Client
from pymongo import MongoClient

from deploy.seed import SeedSize, seed
from slot_common import settings as settings_module
from tests.support.sentry_capture import reset_sentry

FUNCTIONS = Path(__file__).resolve().parents[2] / "functions"
SMALL = SeedSize(users=3, history_per_user=600, games=3000, days=30)


def load_app(service: str) -> Any:
    """Imports functions/<service>/app.py afresh (module-level init runs, as on a cold start)."""
    name = f"{service}_app"
    spec = importlib.util.spec_from_file_location(name, FUNCTIONS / service / "app.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(autouse=True)
def no_sentry_client_left() -> Any:
    """The apps set Sentry up at import, and some tests with a capturing transport: none of it
    may outlive the test. The tests that run next in this worker's process send requests of
    their own trace (make scenarios), which a leftover client's stdlib integration rewrites."""
    yield
    reset_sentry()


@pytest.fixture
def env(monkeypatch):
    """Sets environment variables for the functions and forgets the cached settings."""

    def set_env(**values: str) -> None:
        for key, value in values.items():
            monkeypatch.setenv(key, value)
        settings_module.settings.cache_clear()

    yield set_env
    settings_module.settings.cache_clear()


@pytest.fixture(scope="module")
def seeded_database(mongo_server) -> Any:
    """A fresh database per test module with the small seed."""
    client = MongoClient(mongo_server, serverSelectionTimeoutMS=3000)
    name = f"test_{uuid.uuid4().hex[:10]}"
    seed(client[name], SMALL, log=lambda _: None)
    yield client[name]
    client.drop_database(name)
    client.close()


@pytest.fixture
def db_env(env, mongo_server, seeded_database, monkeypatch):
    """Points the functions at the seeded database; fresh Mongo client per test."""
    from slot_common import mongo

    env(MONGODB_URI=mongo_server, MONGODB_DATABASE=seeded_database.name, MONGO_TIMEOUT_MS="2000")
    mongo.shared_client.cache_clear()
    yield seeded_database
    mongo.shared_client.cache_clear()


class InProcessLambda:
    """Stands in for boto3's Lambda client: invokes the user service's pure function."""

    def __init__(self, user_service_app: Any) -> None:
        self.client = Client(user_service_app)
        self.payloads: list[dict] = []

    def invoke(self, FunctionName: str, Payload: bytes) -> dict:  # noqa: N803 - boto3's names
        payload = json.loads(Payload)
        self.payloads.append(payload)
        result = self.client.lambda_.invoke("balance_transaction", payload)
        import io

        return {"StatusCode": 200, "Payload": io.BytesIO(json.dumps(result.payload).encode())}


@pytest.fixture
def user_service(db_env):
    return load_app("user_service")


@pytest.fixture
def analytics(db_env):
    return load_app("analytics")


@pytest.fixture
def game_engine(db_env, user_service, monkeypatch):
    """The game engine whose balance calls reach the user service in process."""
    from engine import balance_client

    fake = InProcessLambda(user_service.app)
    monkeypatch.setattr(balance_client, "lambda_client", lambda: fake)
    module = load_app("game_engine")
    module.fake_lambda = fake
    return module
