"""LocalStack restarted: make deploy-local brings everything back; a failed deploy changes
nothing and leaves no process behind once the services are stopped. A stack of its own on its
own ports."""

from __future__ import annotations

import dataclasses
import urllib.error
import urllib.request

import pytest

from deploy.local import StepFailedError, deploy_local
from deploy.seed import SeedSize
from localcloud import census
from localcloud.processes import process_start_time, read_pid_file
from localcloud.services import all_services
from localcloud.settings import Settings

pytestmark = pytest.mark.localstack
SMALL = SeedSize(users=2, history_per_user=30, games=500, days=10)
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def status_of(url: str) -> int:
    try:
        with _OPENER.open(url, timeout=60) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def test_restart_redeploy_and_a_failed_deploy_leave_nothing_behind(tmp_path):
    settings = Settings(
        local_dir=tmp_path / "local",
        localstack_port=4595,
        mongo_port=27095,
        spotlight_port=8995,
        mongodb_uri=None,
        lambda_keepalive_ms=60_000,
    )
    services = all_services(settings)
    seen_pids: set[int] = set()

    def remember() -> None:
        seen_pids.update(p for s in services.values() if (p := s.pid()))
        for pid_file in settings.lambda_envs_dir.glob("envs/*/*.pid"):
            if pid := read_pid_file(pid_file):
                seen_pids.add(pid)

    try:
        first = deploy_local(settings, name="restart-test", seed_size=SMALL, log=lambda _: None)
        assert status_of(f"{first.api_url}/api/v1/users/user_1/balance") == 200
        remember()

        services["localstack"].stop()  # LocalStack keeps no state: the stack is gone
        services["localstack"].start()
        assert status_of(f"{first.api_url}/api/v1/users/user_1/balance") >= 400

        again = deploy_local(settings, name="restart-test", seed_size=SMALL, log=lambda _: None)
        assert again.stack_change == "created"
        assert status_of(f"{again.api_url}/api/v1/users/user_1/balance") == 200
        remember()

        unreachable = dataclasses.replace(settings, mongodb_uri="mongodb://127.0.0.1:9/")
        with pytest.raises(StepFailedError, match="seed failed"):
            deploy_local(unreachable, name="restart-test", seed_size=SMALL, log=lambda _: None)
        # the failed deploy changed nothing: the functions still read the reachable MongoDB
        assert status_of(f"{again.api_url}/api/v1/users/user_1/balance") == 200
        remember()
    finally:
        for service in reversed(list(services.values())):
            service.stop()
    assert len(seen_pids) >= 4, f"three services and at least one Lambda runtime were seen: {seen_pids}"
    alive = [pid for pid in seen_pids if process_start_time(pid) is not None]
    assert alive == [], f"processes left: {alive}"
    left = census.processes_in(tmp_path)
    assert left == [], f"processes still running in or naming {tmp_path}: {left}"
