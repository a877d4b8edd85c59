"""make test's xdist scheduling (tests/support/scheduling.py), on a small suite of its own run
by a real pytest with three workers: the files that mostly wait run on the last worker alone.
The one that waits is collected first, where a plain --dist loadfile gives it to gw0."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]

CONFTEST = """
from tests.support.scheduling import OwnWorkerScheduling

def pytest_xdist_make_scheduler(config, log):
    return OwnWorkerScheduling(config, log, ("test_0waits.py",))
"""

RECORDING_TEST = """
import json, os, pathlib

def test_{name}(request):
    out = pathlib.Path(os.environ["RAN_DIR"]) / "{name}.json"
    out.write_text(json.dumps(os.environ["PYTEST_XDIST_WORKER"]))
"""

FILES = ("0waits", "a", "b", "c", "d", "e", "f")


def run_suite(tmp_path: Path, *args: str) -> dict[str, str]:
    """{test name: the worker that ran it} of the suite, run with three workers."""
    suite, ran = tmp_path / "suite", tmp_path / "ran"
    suite.mkdir()
    ran.mkdir()
    (suite / "conftest.py").write_text(CONFTEST)
    for name in FILES:
        (suite / f"test_{name}.py").write_text(RECORDING_TEST.format(name=name))
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-n", "3", "--dist", "loadfile", "-p", "no:cacheprovider",
         "-q", *args],
        cwd=suite, capture_output=True, text=True, timeout=120,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(PROJECT), "RAN_DIR": str(ran)},
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return {path.stem: json.loads(path.read_text()) for path in ran.glob("*.json")}


def test_the_file_that_waits_runs_on_the_last_worker_alone(tmp_path):
    workers = run_suite(tmp_path)
    assert set(workers) == set(FILES), "every test ran"
    assert workers["0waits"] == "gw2"
    assert {workers[name] for name in FILES if name != "0waits"} <= {"gw0", "gw1"}


def test_without_the_file_that_waits_the_other_workers_run_the_rest(tmp_path):
    workers = run_suite(tmp_path, "-k", "not 0waits")
    assert set(workers) == set(FILES) - {"0waits"}, "every selected test ran, none hung"
    assert set(workers.values()) <= {"gw0", "gw1"}
