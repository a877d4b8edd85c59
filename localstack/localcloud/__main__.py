"""``python -m localcloud up|down|status [service ...]``."""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable

from lambda_process_executor import confinement
from localcloud.processes import ServiceError
from localcloud.services import EXTERNAL, all_services, http_answers, mongo_answers, start_all
from localcloud.settings import Settings

ADDRESSES: dict[str, Callable[[Settings], str]] = {
    "localstack": lambda s: s.localstack_url,
    "mongo": lambda s: re.sub(r"//([^:/@]+):[^@]+@", r"//\1:***@", s.effective_mongodb_uri),
    "spotlight": lambda s: s.spotlight_url,
}


def lambda_clock(settings: Settings) -> str:
    """One line: whether runtimes get AWS's CPU share and freeze here, or why not."""
    return confinement.for_owner(settings.capacity, settings.lambda_envs_dir, sweep=False).describe()


def up(settings: Settings, names: list[str]) -> int:
    services = all_services(settings)
    wanted = {}
    for name in names or services:
        if name not in services:
            reason = f"{EXTERNAL[name]} is set" if name in EXTERNAL else "unknown service"
            print(f"{name}: skipped ({reason})")
            continue
        wanted[name] = services[name]
    if wanted:
        print(f"{', '.join(wanted)}: starting at once ...", flush=True)
    failed = False
    for name, (state, seconds) in start_all(wanted).items():
        if isinstance(state, ServiceError):
            print(f"{name}: FAILED: {state}", file=sys.stderr)
            failed = True
            continue
        print(f"{name}: {state} at {ADDRESSES[name](settings)} ({seconds:.1f} s)")
        if name == "localstack":
            print(lambda_clock(settings))
    if failed:
        return 1
    if settings.mongodb_uri and not mongo_answers(settings.mongodb_uri):
        print(f"mongo: MONGODB_URI={settings.mongodb_uri} does not answer", file=sys.stderr)
        return 1
    external = {
        "LOCALSTACK_ENDPOINT": (
            settings.localstack_endpoint,
            f"{settings.localstack_url}/_localstack/health",
        ),
        "SPOTLIGHT_URL": (settings.spotlight_endpoint, f"{settings.spotlight_url}/health"),
    }
    for variable, (named, probe) in external.items():
        if named and not http_answers(probe):
            print(f"{variable}={named} does not answer", file=sys.stderr)
            return 1
    return 0


def down(settings: Settings, names: list[str]) -> int:
    services = all_services(settings)
    for name in reversed(names or list(services)):
        if name in services:
            print(f"{name}: {services[name].stop()}")
    return 0


def status(settings: Settings) -> int:
    services = all_services(settings)
    print(f"{'service':<11} {'state':<22} {'address':<34} log")
    for name, service in services.items():
        pid = service.pid()
        if pid is not None:
            state = f"running (pid {pid})"
        elif service.ready():
            state = "NOT OURS on its port"
        else:
            state = "stopped"
        print(f"{name:<11} {state:<22} {ADDRESSES[name](settings):<34} {service.log_path}")
    if "mongo" not in services:
        reachable = "reachable" if mongo_answers(settings.effective_mongodb_uri) else "NOT reachable"
        print(f"{'mongo':<11} {'external, ' + reachable:<22} {settings.effective_mongodb_uri:<34} -")
    if "localstack" in services:
        print(lambda_clock(settings))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="localcloud", description=__doc__)
    parser.add_argument("command", choices=["up", "down", "status"])
    parser.add_argument("services", nargs="*", help="localstack, mongo, spotlight (default: all)")
    args = parser.parse_args(argv)
    settings = Settings.from_env()
    if args.command == "up":
        return up(settings, args.services)
    if args.command == "down":
        return down(settings, args.services)
    return status(settings)


if __name__ == "__main__":
    sys.exit(main())
