"""The local MongoDB asks for credentials over TLS, as a hosted one does."""

from __future__ import annotations

import stat

import pytest
from pymongo import MongoClient
from pymongo.errors import OperationFailure, PyMongoError

from tests.conftest import TEST_SETTINGS

pytestmark = pytest.mark.localstack


def test_a_client_without_credentials_is_refused(mongo_server):
    secrets = TEST_SETTINGS.mongo_secrets
    anonymous = MongoClient(
        secrets.uri(TEST_SETTINGS.mongo_port, with_credentials=False), serverSelectionTimeoutMS=3000
    )
    with anonymous, pytest.raises(OperationFailure, match="requires authentication"):
        anonymous.sentry_poc.users.find_one()
    plain = MongoClient(f"mongodb://127.0.0.1:{TEST_SETTINGS.mongo_port}/", serverSelectionTimeoutMS=1500)
    with plain, pytest.raises(PyMongoError):
        plain.admin.command("ping")  # no TLS: the server does not speak to it
    with MongoClient(mongo_server, serverSelectionTimeoutMS=3000) as ours:
        assert ours.admin.command("connectionStatus")["authInfo"]["authenticatedUsers"], "ours logs in"


def test_the_secrets_are_private_files(mongo_server):
    folder = TEST_SETTINGS.mongo_secrets.folder
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    files = list(folder.iterdir())
    assert {"ca.pem", "server.pem", "server.key", "credentials.json"} <= {f.name for f in files}
    assert all(stat.S_IMODE(f.stat().st_mode) == 0o600 for f in files), {
        f.name: oct(f.stat().st_mode) for f in files
    }
