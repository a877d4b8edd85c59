"""`make scenarios` on the deployed test stack: every scenario shows its promised signal."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from demo import scenarios
from demo.scenario_catalog import by_id
from demo.scenarios import Runner, table
from tests.conftest import TEST_SETTINGS

pytestmark = pytest.mark.localstack
PROJECT = Path(__file__).resolve().parents[2]


def stack_environment(deployed_stack) -> dict[str, str]:
    """What makes `make scenarios` talk to the test stack instead of the developer's."""
    return {
        "LOCALSTACK_PORT": str(TEST_SETTINGS.localstack_port),
        "SPOTLIGHT_PORT": str(TEST_SETTINGS.spotlight_port),
        "MONGO_PORT": str(TEST_SETTINGS.mongo_port),
        "STACK_NAME": deployed_stack.stack_name,
        "LOCAL_DIR": str(TEST_SETTINGS.local_dir),
    }


def test_every_scenario_shows_its_expected_signal(deployed_stack):
    lines: list[str] = []
    outcomes = Runner(TEST_SETTINGS, deployed_stack, log=lines.append).run()
    report = table(outcomes)
    print(report)
    assert [o.scenario for o in outcomes if not o.seen] == [], report + "\n" + "\n".join(lines)
    assert len(lines) == len(outcomes), "one progress line per scenario"
    seen = {o.scenario: o for o in outcomes}
    assert seen["n-plus-one"].db_spans[0] >= 21 and seen["n-plus-one"].db_spans[1] <= 2
    assert seen["timeout"].status[0] >= 500
    assert seen["n-plus-one"].issue_after_runs == 3, "Sentry's N+1 issue needs three detections"
    assert seen["n-plus-one"].sentry.startswith("N+1 DB Query issue at the third run within 24 h")
    assert seen["timeout"].sentry.startswith("error issue at the first run")
    assert all(
        o.sentry.startswith("no issue:") for o in outcomes if o.scenario not in ("n-plus-one", "timeout")
    )
    assert "What Sentry will create, by its own rules:" in report


def test_the_command_prints_json_and_exits_zero_when_all_signals_are_seen(deployed_stack):
    # after the page was used: a warm game engine still holds six presses' leak. The memory
    # leak's series must start in a new environment, or it is killed before its climb shows.
    leak, held = by_id("memory-leak").antipattern, 0
    for _ in range(14):  # a kill (an environment that held a leak already) starts the count anew
        held = held + 1 if scenarios.call(deployed_stack.api_url, leak).status == 200 else 0
        if held == 6:
            break
    assert held == 6, "six leaking calls in a row on one warm environment"
    env = os.environ | stack_environment(deployed_stack)
    result = subprocess.run(
        [sys.executable, "-m", "demo.scenarios", "--json",
         "--only", "many-queries", "memory-leak", "cascade"],
        cwd=PROJECT, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    outcomes = json.loads(result.stdout)
    assert [o["scenario"] for o in outcomes] == ["many-queries", "memory-leak", "cascade"]
    assert all(o["seen"] for o in outcomes)
    assert result.stderr.count("] many-queries: seen") == 1


def test_a_missing_signal_fails_the_command(deployed_stack, monkeypatch, capsys):
    """The trace viewer lost every trace: the command says which signal is missing, exits 1.
    (N+1 queries: the quickest pair; every scenario's own signal is the test above.)"""
    for name, value in stack_environment(deployed_stack).items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(scenarios.Viewer, "transactions", lambda self, trace_id, name=None, timeout=20: [])
    assert scenarios.main(["--only", "n-plus-one"]) == 1
    captured = capsys.readouterr()
    assert "missing signals: n-plus-one" in captured.err
    assert "n-plus-one" in captured.out and " NO " in captured.out
