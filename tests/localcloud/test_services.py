"""make up / down / status: idempotent starts, exact stops by PID, ports from the environment."""

from __future__ import annotations

import http.server
import os
import socket
import subprocess
import sys
import threading

import pytest

from localcloud import census
from localcloud.aws import client
from localcloud.processes import process_start_time, read_pid_file, write_pid_file
from localcloud.services import all_services
from localcloud.settings import PROJECT_ROOT, Settings
from tests.localcloud.lambdas import deploy_function, invoke, zip_tree

pytestmark = pytest.mark.localstack


@pytest.fixture
def cli_env(tmp_path):
    """Environment for `python -m localcloud` on its own ports and state folder."""
    env = os.environ | {
        "LOCAL_DIR": str(tmp_path / "local"),
        "LOCALSTACK_PORT": "4597",
        "MONGO_PORT": "27097",
        "SPOTLIGHT_PORT": "8997",
    }
    env.pop("MONGODB_URI", None)
    yield env
    subprocess.run([sys.executable, "-m", "localcloud", "down"], env=env, check=False, capture_output=True)


def cli_settings(tmp_path) -> Settings:
    """The settings cli_env describes."""
    return Settings(
        local_dir=(tmp_path / "local").resolve(),
        localstack_port=4597,
        mongo_port=27097,
        spotlight_port=8997,
        mongodb_uri=None,
        lambda_keepalive_ms=600000,
    )


def frozen_runtime(settings: Settings) -> int:
    """A function invoked once on the cli_env LocalStack: its runtime waits, frozen, for more."""
    lambda_client = client(settings, "lambda")
    code = zip_tree({"clock.py": PROJECT_ROOT / "perf" / "probes" / "clock.py"})
    deploy_function(lambda_client, "frozen", "clock.handler", code, memory=256)
    invoke(lambda_client, "frozen", {})
    runtimes = census.lambda_runtimes(settings.local_dir / "localstack")
    assert len(runtimes) == 1, runtimes
    return runtimes[0]


def localcloud(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "localcloud", *args], env=env, capture_output=True, text=True, timeout=180
    )


def listening_on_loopback_only(port: int) -> bool:
    lines = subprocess.run(["ss", "-ltnH"], capture_output=True, text=True).stdout.splitlines()
    addresses = [line.split()[3] for line in lines if line.split()[3].endswith(f":{port}")]
    return bool(addresses) and all(a.startswith(("127.0.0.1:", "[::1]:")) for a in addresses)


def test_up_is_idempotent_status_tells_and_down_leaves_no_process(cli_env, tmp_path):
    first = localcloud(cli_env, "up")
    assert first.returncode == 0, first.stderr
    assert first.stdout.count(": started at") == 3
    run_dir = tmp_path / "local" / "run"
    pids = {name: read_pid_file(run_dir / f"{name}.pid") for name in ("localstack", "mongo", "spotlight")}
    assert all(pids.values()), pids
    # at once: LocalStack was started while MongoDB's first start was still provisioning its user
    # (its server is started once without --auth for that, stopped, then started with it)
    assert int(process_start_time(pids["localstack"])) < int(process_start_time(pids["mongo"]))
    for port in (4597, 27097, 8997):
        assert listening_on_loopback_only(port), f"port {port} must listen on 127.0.0.1 only"

    again = localcloud(cli_env, "up")
    assert again.returncode == 0 and again.stdout.count("already running") == 3
    assert {name: read_pid_file(run_dir / f"{name}.pid") for name in pids} == pids

    status = localcloud(cli_env, "status").stdout
    for name, pid in pids.items():
        assert f"running (pid {pid})" in status and str(run_dir / f"{name}.log") in status

    settings = cli_settings(tmp_path)
    runtime = frozen_runtime(settings)
    assert census.cgroups_of(settings.lambda_envs_dir), "the runtime should be in a cell"

    # at once, while LocalStack still records the invoke's metrics in a request to itself: it
    # must end on SIGTERM (it used to hang at exit until the SIGKILL 15 s later)
    assert all_services(settings)["localstack"].stop() == "stopped"
    down = localcloud(cli_env, "down")
    assert down.returncode == 0 and down.stdout.count(": stopped") == 2, down.stdout
    assert process_start_time(runtime) is None, "a frozen runtime outlived make down"
    assert census.cgroups_of(settings.lambda_envs_dir) == [], "cgroups left after make down"
    assert all(process_start_time(pid) is None for pid in pids.values())
    assert census.processes_in(tmp_path / "local") == [], "a process still runs in the state folder"
    assert "stopped" in localcloud(cli_env, "status").stdout


def test_a_stale_pid_file_is_not_trusted(cli_env, tmp_path):
    run_dir = tmp_path / "local" / "run"
    run_dir.mkdir(parents=True)
    # a live process with a wrong start time in the PID file stands for a recycled PID
    # (a group leader, as our services are, so that a wrong stop could reach it)
    stranger = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"], start_new_session=True)
    try:
        (run_dir / "spotlight.pid").write_text(f"{stranger.pid} 1\n")
        assert localcloud(cli_env, "down").returncode == 0
        assert stranger.poll() is None, "down signalled a PID it did not start"
        result = localcloud(cli_env, "up", "spotlight")
        assert result.returncode == 0 and "spotlight: started" in result.stdout
        assert read_pid_file(run_dir / "spotlight.pid") not in (None, stranger.pid)
        assert localcloud(cli_env, "down").returncode == 0
        assert stranger.poll() is None
    finally:
        stranger.kill()
        stranger.wait()


def test_a_port_taken_by_something_else_is_reported_not_killed(cli_env):
    with socket.socket() as blocker:
        blocker.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # earlier tests' TIME_WAIT
        blocker.bind(("127.0.0.1", 8997))
        blocker.listen()
        result = localcloud(cli_env, "up", "spotlight")
    assert result.returncode == 1
    assert "spotlight: FAILED" in result.stderr and "spotlight.log" in result.stderr


def test_write_and_read_pid_file_round_trip(tmp_path):
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        write_pid_file(tmp_path / "child.pid", child.pid)
        assert read_pid_file(tmp_path / "child.pid") == child.pid
    finally:
        child.kill()
        child.wait()
    assert read_pid_file(tmp_path / "child.pid") is None


def test_reading_a_dead_child_leaves_its_exit_status_to_its_owner(tmp_path):
    """A runtime that exits at once (a missing exec wrapper: 127) is a zombie when its PID file
    is written; reaping it there would make Popen report exit status 0."""
    child = subprocess.Popen(["/bin/sh", "-c", "exit 127"])
    while process_start_time(child.pid) is not None:  # until it is a zombie
        pass
    write_pid_file(tmp_path / "child.pid", child.pid)
    assert read_pid_file(tmp_path / "child.pid") is None
    assert child.wait() == 127


class _ForeignSpotlight(http.server.BaseHTTPRequestHandler):
    """Answers like a Spotlight, but make did not start it."""

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"OK")

    def log_message(self, *args: object) -> None:
        pass


def test_a_server_make_did_not_start_is_refused_unless_named(cli_env):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 8997), _ForeignSpotlight)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        refused = localcloud(cli_env, "up", "spotlight")
        assert refused.returncode == 1
        assert "not for a process `make up` started" in refused.stderr and "SPOTLIGHT_URL" in refused.stderr
        named = localcloud(cli_env | {"SPOTLIGHT_URL": "http://127.0.0.1:8997"}, "up", "spotlight")
        assert named.returncode == 0 and "spotlight: skipped (SPOTLIGHT_URL is set)" in named.stdout
        stopped = localcloud(cli_env | {"SPOTLIGHT_URL": "http://127.0.0.1:8997"}, "down")
        assert stopped.returncode == 0
    finally:
        server.shutdown()
        server.server_close()
