"""Sentry's N+1 DB rules, one hand-built span tree per rule, and transactions recorded from the
real stack (tests/scenarios/recorded/, taken from Spotlight)."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest

from demo import sentry_rules

RECORDED = Path(__file__).parent / "recorded"
ROOT = "a" * 16
_ids = itertools.count(1)

SOURCE = '{"find": "game_history", "filter": {"user_id": "%s"}, "limit": 20}'
REPEAT = '{"find": "game_history", "filter": {"game_id": "%s"}, "limit": 1}'


def span(
    description: str, start_ms: float, length_ms: float, parent: str = ROOT, op: str = "db", **data
) -> dict:
    return {
        "span_id": f"{next(_ids):016x}",
        "parent_span_id": parent,
        "op": op,
        "description": description,
        "start_timestamp": 1000 + start_ms / 1000,
        "timestamp": 1000 + (start_ms + length_ms) / 1000,
        "data": {"db.system": "mongodb", "db.mongodb.collection": "game_history", **data}
        if op == "db"
        else data,
    }


def transaction(*spans: dict) -> dict:
    return {"contexts": {"trace": {"span_id": ROOT, "op": "function.aws"}}, "spans": list(spans)}


def repeats(
    count: int, start_ms: float = 20, length_ms: float = 12, gap_ms: float = 1, **options
) -> list[dict]:
    return [span(REPEAT, start_ms + n * (length_ms + gap_ms), length_ms, **options) for n in range(count)]


def test_a_source_then_five_repeats_over_50_ms_is_an_n_plus_one():
    found = sentry_rules.n_plus_one(transaction(span(SOURCE, 0, 10), *repeats(5)))
    assert found is not None and found.repeats == 5 and found.total_ms == pytest.approx(60, abs=0.5)
    assert found.description == '{"find":"game_history","filter":{"game_id":"?"},"limit":"?"}', "Relay's"


def test_four_repeats_are_under_the_count_threshold():
    assert sentry_rules.n_plus_one(transaction(span(SOURCE, 0, 10), *repeats(4, length_ms=30))) is None


def test_repeats_under_50_ms_of_time_are_not_flagged():
    assert sentry_rules.n_plus_one(transaction(span(SOURCE, 0, 10), *repeats(8, length_ms=5))) is None


def test_overlapping_repeats_count_their_time_once():
    """Six parallel 20 ms queries cover 20 ms, not 120 ms."""
    parallel = [span(REPEAT, 20 + n * 0.5, 20) for n in range(6)]
    assert sentry_rules.n_plus_one(transaction(span(SOURCE, 0, 10), *parallel)) is None
    staggered = [span(REPEAT, 20 + n * 10, 20) for n in range(6)]  # overlap half: 70 ms covered
    found = sentry_rules.n_plus_one(transaction(span(SOURCE, 0, 10), *staggered))
    assert found is not None and found.total_ms == pytest.approx(70, abs=0.5)


def test_a_db_connection_span_ends_the_run():
    run = repeats(10)
    connection = span("connect", 70, 2, op="db.connection")
    assert sentry_rules.n_plus_one(transaction(span(SOURCE, 0, 10), *run[:4], connection, *run[4:])) is None
    assert sentry_rules.n_plus_one(transaction(span(SOURCE, 0, 10), *run)) is not None


def test_repeats_under_another_parent_than_the_source_are_not_a_run():
    handler = span("handler", 15, 200, op="function")
    moved = repeats(6, parent=handler["span_id"])
    assert sentry_rules.n_plus_one(transaction(span(SOURCE, 0, 10), handler, *moved)) is None


def test_the_tree_is_walked_parent_by_parent_not_by_start_time():
    """A sibling subtree that starts in the middle of the run does not break it."""
    handler = span("handler", 0, 200, op="function")
    inside = [span(SOURCE, 1, 10, parent=handler["span_id"]), *repeats(6, parent=handler["span_id"])]
    sibling = span("other work", 40, 5, op="function")
    found = sentry_rules.n_plus_one(transaction(handler, sibling, *inside))
    assert found is not None and found.parent_span_id == handler["span_id"]


def test_a_source_must_hang_from_the_root_or_a_non_db_span():
    """Queries nested under another db span have no parent Sentry can fingerprint."""
    outer = span('{"aggregate": "games", "pipeline": []}', 0, 300)
    nested = [span(SOURCE, 1, 10, parent=outer["span_id"]), *repeats(6, parent=outer["span_id"])]
    assert sentry_rules.n_plus_one(transaction(outer, *nested)) is None


def test_a_truncated_repeat_description_is_not_flagged():
    """The truncated part might differ: Sentry cannot be sure the repeats are one query."""
    sql = {"db.system": "postgresql"}
    source = span("SELECT id FROM games WHERE user_id = %s", 0, 10, **sql)
    whole = [span("SELECT * FROM games WHERE id = %s", 20 + n * 13, 12, **sql) for n in range(6)]
    cut = [span("SELECT * FROM games WHERE id = %s AND ...", 20 + n * 13, 12, **sql) for n in range(6)]
    assert sentry_rules.n_plus_one(transaction(source, *whole)) is not None
    assert sentry_rules.n_plus_one(transaction(source, *cut)) is None


def test_a_source_with_the_same_query_as_the_repeats_is_no_source():
    """Seven identical queries and nothing before them: Sentry has no source to fingerprint."""
    assert sentry_rules.n_plus_one(transaction(*repeats(7))) is None
    assert sentry_rules.n_plus_one(transaction(span(SOURCE, 0, 5), *repeats(7, start_ms=10))) is not None


def test_mongodb_repeats_must_share_relays_description():
    """Same raw description and hash, other collection: Relay's descriptions differ."""
    run = repeats(3) + repeats(3, start_ms=60, **{"db.mongodb.collection": "games"})
    assert sentry_rules.n_plus_one(transaction(span(SOURCE, 0, 10), *run)) is None


def test_a_mongodb_span_that_is_not_a_query_is_never_an_offender():
    """Relay's description must hold a query ('{'), not a client call."""
    run = [span("endSessions", 20 + n * 13, 12) for n in range(6)]
    for one in run:
        one["sentry_tags"] = {"description": "endSessions"}
    assert sentry_rules.n_plus_one(transaction(span(SOURCE, 0, 10), *run)) is None


def test_literals_are_parametrized_into_the_same_hash():
    a = span('{"find": "games", "limit": 1}', 0, 1)
    b = span('{"find": "games", "limit": 20}', 0, 1)
    assert sentry_rules.grouping_hash(a) == sentry_rules.grouping_hash(b)
    assert sentry_rules.grouping_hash(a) != sentry_rules.grouping_hash(span(SOURCE, 0, 1))


def recorded(name: str) -> dict:
    return json.loads((RECORDED / f"{name}.json").read_text())


def test_recorded_n_plus_one_is_flagged_and_its_fix_is_not():
    found = sentry_rules.n_plus_one(recorded("n-plus-one-antipattern"))
    assert found is not None and found.repeats == 20
    assert '"game_id":"?"' in found.description
    assert sentry_rules.n_plus_one(recorded("n-plus-one-fix")) is None


@pytest.mark.parametrize(
    "name",
    ["many-queries-antipattern", "many-queries-fix", "connection-churn-antipattern", "connection-churn-fix"],
)
def test_recorded_scenarios_that_are_no_n_plus_one(name):
    assert sentry_rules.n_plus_one(recorded(name)) is None


def test_recorded_churn_has_a_connection_span_that_is_not_a_query():
    transaction_ = recorded("connection-churn-antipattern")
    ops = [s["op"] for s in transaction_["spans"]]
    assert "db.connection" in ops
    assert len(sentry_rules.db_spans(transaction_)) == len(ops) - ops.count("db.connection")


def test_the_verdicts_say_when_an_issue_appears():
    found = sentry_rules.n_plus_one(recorded("n-plus-one-antipattern"))
    verdict = sentry_rules.n_plus_one_verdict(found)
    assert verdict.creates == "N+1 DB Query issue" and verdict.after_runs == 3
    assert str(verdict).startswith("N+1 DB Query issue at the third run within 24 h")
    assert str(sentry_rules.n_plus_one_verdict(None)).startswith("no issue:")
    assert sentry_rules.error_verdict("ServerlessTimeoutWarning").after_runs == 1
