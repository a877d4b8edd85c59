"""make test's xdist scheduling (tests/support/scheduling.py), on a small suite of its own run
by a real pytest with three workers: the files that mostly wait run on the last worker alone.
The one that waits is collected first, where a plain --dist loadfile gives it to gw0."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

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
    suite.mkdir(parents=True)
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


class FakeWorker:
    """What the scheduler sees of an xdist worker: its id, the tests it is sent, its shutdown."""

    def __init__(self, workerid: str) -> None:
        self.workerinput = {"workerid": workerid}
        self.gateway = SimpleNamespace(id=workerid)
        self.shutting_down = False
        self.sent: list[int] = []

    def shutdown(self) -> None:
        self.shutting_down = True

    def send_runtest_some(self, indexes: list[int]) -> None:
        self.sent.extend(indexes)


def test_when_xdist_keeps_only_the_own_worker_it_runs_the_ordinary_file():
    """xdist shuts down the workers beyond the number of files: the last ones to get ready, at
    times all but the own worker. That one must then take the ordinary file."""
    from tests.support.scheduling import OwnWorkerScheduling

    config = SimpleNamespace(
        getvalue={"tx": ["popen"] * 3}.get, option=SimpleNamespace(loadscopereorder=False)
    )
    scheduler = OwnWorkerScheduling(config, None, ("test_0waits.py",))
    workers = [FakeWorker("gw2"), FakeWorker("gw0"), FakeWorker("gw1")]  # in the order they got ready
    for worker in workers:
        scheduler.add_node(worker)
    for worker in workers:
        scheduler.add_node_collection(worker, ["test_a.py::test_a"])
    scheduler.schedule()
    assert workers[0].sent == [0], "the own worker, the only one left, runs test_a"
    assert not scheduler.workqueue


def test_the_own_worker_files_of_make_test_exist():
    from tests.conftest import OWN_WORKER

    assert all((PROJECT / path).is_file() for path in OWN_WORKER), OWN_WORKER


def test_without_the_file_that_waits_the_other_workers_run_the_rest(tmp_path):
    workers = run_suite(tmp_path, "-k", "not 0waits")
    assert set(workers) == set(FILES) - {"0waits"}, "every selected test ran, none hung"
    assert set(workers.values()) <= {"gw0", "gw1"}
