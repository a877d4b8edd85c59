"""The transactions recorded from the real stack (tests/scenarios/recorded/, from Spotlight)
pass Sentry's own normalizer (Relay's, from the sentry-relay package) without an error."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.relay import relay_errors

RECORDED = sorted((Path(__file__).parent / "recorded").glob("*.json"))


@pytest.mark.parametrize("path", RECORDED, ids=lambda p: p.stem)
def test_relay_normalizes_the_recorded_transaction_without_errors(path):
    transaction = {"type": "transaction", **json.loads(path.read_text())}
    assert relay_errors(transaction) == []
