"""`make bench`: the numbers that matter, measured side by side on the deployed stack, written
to docs/benchmarks.md. Every comparison is interleaved (A, B, A, B, ...) because these
machines are noisy; every number in the report comes from this run.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import json
import os
import platform
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import asdict
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import metadata
from pathlib import Path
from typing import Any

from demo import docs_blocks
from demo.scenario_catalog import SCENARIOS
from demo.scenarios import call
from deploy import build
from deploy.local import Deployment, deploy_local, describe_deployment
from dev.events import EVENTS, api_gateway_event
from dev.logs import report_of
from lambda_process_executor import procfs, report
from localcloud import aws, census
from localcloud.processes import read_pid_file
from localcloud.settings import PROJECT_ROOT, Settings
from perf import hot_reload, lambda_clock, power_tune, relay_soak
from perf.load import run_load

REPORT = PROJECT_ROOT / "docs" / "benchmarks.md"
EVENT_FOR = {
    "UserServiceFunction": "balance.json",
    "GameEngineFunction": "spin.json",
    "GameEngineEagerInitFunction": "cold-start-eager.json",
    "AnalyticsFunction": "player-metrics-one-aggregation.json",
}
SENTRY_VARIABLES = ("SENTRY_DSN", "SENTRY_SPOTLIGHT")
SINK_DELAY_MS = 30  # a Sentry ingest this far away (a Lambda region to sentry.io is often more)


class SlowIngest:
    """A Sentry envelope endpoint on loopback that answers after ``delay_ms``."""

    def __init__(self, delay_ms: int) -> None:
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                time.sleep(delay_ms / 1000)
                sink.received += 1
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

        self.received = 0
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.dsn = f"http://public@127.0.0.1:{self.server.server_address[1]}/1"

    def __enter__(self) -> SlowIngest:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *_: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def median(values: list[float]) -> float:
    return round(statistics.median(values), 2) if values else float("nan")


def report_numbers(log_result: str) -> dict[str, float]:
    """Duration, Init Duration and Max Memory Used of the REPORT line in an Invoke's LogResult."""
    fields = report.report_fields(base64.b64decode(log_result).decode(errors="replace"))
    numbers: dict[str, float] = {
        key: report.milliseconds(fields[key]) for key in ("Duration", "Init Duration") if key in fields
    }
    if "Max Memory Used" in fields:
        numbers["Max Memory Used"] = float(report.megabytes(fields["Max Memory Used"]))
    return numbers


class Bench:
    def __init__(self, settings: Settings, deployment: Deployment, rounds: int, log: Callable[[str], None]):
        self.settings, self.deployment, self.rounds, self.log = settings, deployment, rounds, log
        self.lambda_client = aws.client(settings, "lambda")
        self.results: dict[str, Any] = {}

    # --- Lambda invokes ----------------------------------------------------------------
    def invoke(self, logical_id: str) -> tuple[float, dict[str, float]]:
        """(client round trip, the REPORT line's numbers), once the invoke's Invoke phase has
        ended: with an extension still sending, the next invoke would find it busy."""
        spec = next(e for e in EVENTS if e.file == EVENT_FOR[logical_id])
        payload = json.dumps(api_gateway_event(spec)).encode()
        since_ms = int(time.time() * 1000) - 1000
        started = time.perf_counter()
        name = self.deployment.functions[logical_id]
        response = self.lambda_client.invoke(FunctionName=name, Payload=payload, LogType="Tail")
        response["Payload"].read()
        client_ms = (time.perf_counter() - started) * 1000
        numbers = report_numbers(response.get("LogResult", ""))
        if "Duration" not in numbers:  # the sentry-relay extension ends the phase after the answer
            request_id = response["ResponseMetadata"]["RequestId"]
            line = report_of(self.settings, name, request_id, since_ms)
            numbers = report_numbers(base64.b64encode(line.encode()).decode())
        return client_ms, numbers

    def deployed_sentry(self, logical_id: str) -> dict[str, str]:
        """The function's deployed Sentry variables, to restore after switching Sentry off."""
        name = self.deployment.functions[logical_id]
        env = self.lambda_client.get_function_configuration(FunctionName=name)["Environment"]["Variables"]
        return {key: env.get(key, "") for key in SENTRY_VARIABLES}

    def set_sentry(self, logical_id: str, enabled: bool, saved: dict[str, str]) -> None:
        """Sentry on = the deployed configuration; off = no DSN, no Spotlight. Forces a cold start."""
        changes = {key: saved.get(key, "") if enabled else "" for key in SENTRY_VARIABLES}
        self.set_variables(self.deployment.functions[logical_id], changes)

    def cold_and_warm(self) -> None:
        rows = {}
        for logical_id in EVENT_FOR:
            saved = self.deployed_sentry(logical_id)
            samples: dict[str, dict[str, list[float]]] = {
                mode: {"init": [], "cold_client": [], "warm": [], "warm_client": []} for mode in ("on", "off")
            }
            for _ in range(self.rounds):
                for mode in ("on", "off"):
                    self.set_sentry(logical_id, mode == "on", saved)
                    client_ms, fields = self.invoke(logical_id)
                    samples[mode]["init"].append(fields.get("Init Duration", float("nan")))
                    samples[mode]["cold_client"].append(client_ms)
                    for _ in range(5):
                        client_ms, fields = self.invoke(logical_id)
                        samples[mode]["warm"].append(fields.get("Duration", float("nan")))
                        samples[mode]["warm_client"].append(client_ms)
            self.set_sentry(logical_id, True, saved)
            rows[logical_id] = samples
            on, off = samples["on"], samples["off"]
            self.log(
                f"bench: {logical_id}: init {median(on['init'])} vs {median(off['init'])} ms, "
                f"warm {median(on['warm'])} vs {median(off['warm'])} ms (Sentry on vs off)"
            )
        self.results["cold_warm"] = rows

    # --- what the flush costs when Sentry is far away ----------------------------------------
    def sentry_far_away(self) -> None:
        """Warm REPORT Duration of the balance route with Sentry off, with Spotlight (loopback),
        and with a DSN whose ingest answers after SINK_DELAY_MS: AWS users pay that on every
        invoke, because AwsLambdaIntegration flushes before the response."""
        logical_id = "UserServiceFunction"
        name = self.deployment.functions[logical_id]
        saved = self.deployed_sentry(logical_id)
        far = f"dsn {SINK_DELAY_MS} ms away"
        with SlowIngest(SINK_DELAY_MS) as sink:
            variants = {
                "off": {"SENTRY_DSN": "", "SENTRY_SPOTLIGHT": "", "SENTRY_RELAY_PORT": "0"},
                "spotlight": saved | {"SENTRY_RELAY_PORT": "0"},
                far: {"SENTRY_DSN": sink.dsn, "SENTRY_SPOTLIGHT": "", "SENTRY_RELAY_PORT": "0"},
                f"{far}, through the relay extension": {"SENTRY_DSN": sink.dsn, "SENTRY_SPOTLIGHT": "",
                                                        "SENTRY_RELAY_PORT": "5333"},
            }  # fmt: skip
            samples: dict[str, dict[str, list[float]]] = {
                label: {"duration": [], "client": [], "init": []} for label in variants
            }
            for _ in range(self.rounds):
                for label, variables in variants.items():
                    self.set_variables(name, variables)
                    samples[label]["init"].append(
                        self.invoke(logical_id)[1].get("Init Duration", float("nan"))
                    )
                    for _ in range(10):
                        client_ms, numbers = self.invoke(logical_id)
                        samples[label]["duration"].append(numbers.get("Duration", float("nan")))
                        samples[label]["client"].append(client_ms)
            sink_received = sink.received
        self.set_variables(name, saved | {"SENTRY_RELAY_PORT": "5333"})
        self.results["sentry_far_away"] = {
            "samples": samples,
            "delay_ms": SINK_DELAY_MS,
            "received": sink_received,
        }
        self.log(f"bench: flush to a far Sentry: { {k: median(v['client']) for k, v in samples.items()} } ms")

    def set_variables(self, name: str, changes: dict[str, str]) -> None:
        """A configuration change, with a nonce so that even an equal one is a new environment."""
        aws.update_function_environment(
            self.lambda_client, name, changes | {"BENCH_NONCE": str(time.time_ns())}
        )

    # --- executor overhead: LocalStack versus calling the handler in-process ------------
    def executor_overhead(self) -> None:
        logical_id = "UserServiceFunction"
        spec = next(e for e in EVENTS if e.file == EVENT_FOR[logical_id])
        event = json.dumps(api_gateway_event(spec))
        dependencies = next(build.BUILD_DIR.glob("dependencies-layer-*/python"))
        env = {
            "PATH": os.environ.get("PATH", ""),
            "PYTHONPATH": ":".join(
                [
                    str(PROJECT_ROOT / "functions/user_service"),
                    str(dependencies),
                    str(PROJECT_ROOT / "layers/common/python"),
                ]
            ),
            "MONGODB_URI": self.settings.effective_mongodb_uri,
            "AWS_DEFAULT_REGION": self.settings.region,
        }
        in_process_cold, in_process_warm, through_cold, through_warm = [], [], [], []
        saved = self.deployed_sentry(logical_id)
        for _ in range(self.rounds):
            started = time.perf_counter()
            out = subprocess.run(
                [
                    str(self.settings.lambda_python),
                    str(PROJECT_ROOT / "perf" / "handler_in_process.py"),
                    event,
                ],
                env=env,
                capture_output=True,
                text=True,
            )
            spawn_ms = (time.perf_counter() - started) * 1000
            measured = json.loads(out.stdout.strip().splitlines()[-1])
            in_process_cold.append(spawn_ms - sum(measured["warm"]))
            in_process_warm += measured["warm"]
            self.set_sentry(logical_id, False, saved)
            through_cold.append(self.invoke(logical_id)[0])
            through_warm += [self.invoke(logical_id)[0] for _ in range(20)]
        self.set_sentry(logical_id, True, saved)
        self.results["executor"] = {
            "in_process_cold": in_process_cold,
            "in_process_warm": in_process_warm,
            "localstack_cold": through_cold,
            "localstack_warm": through_warm,
        }
        self.log(
            f"bench: executor overhead warm {median(through_warm) - median(in_process_warm):.1f} ms, "
            f"cold {median(through_cold) - median(in_process_cold):.1f} ms"
        )

    # --- imports and sizes ----------------------------------------------------------------
    def import_times(self) -> None:
        dependencies = next(build.BUILD_DIR.glob("dependencies-layer-*/python"))
        modules = [
            "sentry_sdk",
            "sentry_sdk.integrations.aws_lambda",
            "sentry_sdk.integrations.chalice",
            "sentry_sdk.integrations.pymongo",
            "sentry_sdk.integrations.boto3",
            "pymongo",
            "chalice",
            "boto3",
            "slot_common.service_app",
        ]
        times: dict[str, list[float]] = {module: [] for module in modules}
        for _ in range(self.rounds):
            for module in modules:
                out = subprocess.run(
                    [str(self.settings.lambda_python), "-X", "importtime", "-c", f"import {module}"],
                    env={"PYTHONPATH": f"{dependencies}:{PROJECT_ROOT / 'layers/common/python'}"},
                    capture_output=True,
                    text=True,
                )
                line = out.stderr.strip().splitlines()[-1]
                times[module].append(int(line.split("|")[1]) / 1000)
        self.results["imports"] = times
        self.log("bench: import times measured")

    def sizes(self) -> None:
        functions, layers = build.build_all(log=lambda _: None)
        self.results["sizes"] = {
            a.name: {"zipped": a.zipped_bytes, "unzipped": a.unzipped_bytes}
            for a in [*layers, *functions.values()]
        }

    # --- deploy times ---------------------------------------------------------------------
    def deploy_times(self) -> None:
        unchanged = []
        for _ in range(self.rounds):
            started = time.perf_counter()
            result = deploy_local(self.settings, self.deployment.stack_name, log=lambda _: None)
            unchanged.append(time.perf_counter() - started)
            assert result.stack_change == "unchanged", result.stack_change
        self.results["deploy_unchanged_s"] = unchanged
        self.log(f"bench: re-deploy with no change {median(unchanged)} s")

    # --- scenarios against their fixes ------------------------------------------------------
    def scenarios(self) -> None:
        pairs: dict[str, dict[str, list[float]]] = {}
        repeat = {
            "cpu-spike": 3,
            "slow-aggregation": 3,
            "n-plus-one": 5,
            "many-queries": 5,
            "connection-churn": 10,
        }
        for scenario in SCENARIOS:
            if scenario.id not in repeat:
                continue
            samples: dict[str, list[float]] = {"antipattern": [], "fix": []}
            call(self.deployment.api_url, scenario.fixed)  # warm both
            call(self.deployment.api_url, scenario.antipattern)
            for _ in range(repeat[scenario.id]):
                samples["antipattern"].append(call(self.deployment.api_url, scenario.antipattern).duration_ms)
                samples["fix"].append(call(self.deployment.api_url, scenario.fixed).duration_ms)
            pairs[scenario.id] = samples
            self.log(
                f"bench: {scenario.id}: {median(samples['antipattern'])} vs {median(samples['fix'])} ms "
                f"({median(samples['antipattern']) / median(samples['fix']):.1f}x)"
            )
        self.results["scenarios"] = pairs

    # --- Lambda's clock: the CPU share per MemorySize, the freeze, the spike per size ---------
    def clock(self) -> None:
        self.results["lambda_clock"] = lambda_clock.measure(self.settings.capacity)
        self.log(f"bench: CPU share {self.results['lambda_clock']['share']}")

    def power_tune(self) -> None:
        """make power-tune on the CPU spike (two invokes per size, the first cold)."""
        event = (PROJECT_ROOT / "events" / "cpu-spike.json").read_bytes()
        sizes = list(power_tune.DEFAULT_MEMORY_MB)
        rows = power_tune.tune("GameEngineFunction", event, sizes, 2, self.settings, log=self.log)
        self.results["power_tune"] = {"function": "GameEngineFunction", "event": "events/cpu-spike.json",
                                      "rows": [asdict(row) for row in rows]}  # fmt: skip

    def relay_soak(self) -> None:
        """1,000 invokes through the relay with an ingest outage and two shutdowns: none lost."""
        name = self.deployment.functions["UserServiceFunction"]
        self.results["relay_soak"] = relay_soak.soak(self.settings, name)
        self.log(f"bench: relay soak {self.results['relay_soak']['received']} received")

    def hot_reload(self) -> None:
        """make watch's loop: from a saved file to the first answer of the new code."""
        self.results["hot_reload"] = hot_reload.measure(self.settings, rounds=max(5, self.rounds))
        self.log(f"bench: hot reload {self.results['hot_reload']['save_to_answer_ms']} ms")

    # --- memory and a crowd at once -----------------------------------------------------------
    def memory(self) -> None:
        """Services' memory at rest, then 100 spins at once (make load's code) and after."""
        idle = self.memory_snapshot()
        load = run_load(self.settings, self.deployment, spins=100, concurrency=100, users=10, bet=1)
        self.results["memory"] = {"idle": idle, "after_burst": self.memory_snapshot()}
        self.results["load"] = asdict(load)
        self.log(
            f"bench: burst {load.accepted}/{load.spins}, p95 {load.latency_ms_p95} ms, problems {load.problems}"
        )

    def memory_snapshot(self) -> dict[str, float]:
        def rss_mb(pid: int | None) -> float:
            return round(procfs.memory_kb(pid)[0] / 1024, 1) if pid else 0.0

        run = self.settings.local_dir / "run"
        lambdas = census.take(self.settings.local_dir / "localstack", read_pid_file(run / "localstack.pid"))
        return {
            "localstack": lambdas.localstack_rss_mb,
            "mongodb": rss_mb(read_pid_file(run / "mongo.pid")),
            "spotlight": rss_mb(read_pid_file(run / "spotlight.pid")),
            "function_runtimes": lambdas.runtimes_rss_mb,
            "runtime_processes": float(lambdas.count),
        }

    def run(self, only: set[str] | None) -> dict[str, Any]:
        steps = {
            "sizes": self.sizes,
            "imports": self.import_times,
            "cold_warm": self.cold_and_warm,
            "executor": self.executor_overhead,
            "sentry_far_away": self.sentry_far_away,
            "scenarios": self.scenarios,
            "clock": self.clock,
            "power_tune": self.power_tune,
            "hot_reload": self.hot_reload,
            "relay_soak": self.relay_soak,
            "deploy": self.deploy_times,
            "memory": self.memory,
        }
        for name, step in steps.items():
            if not only or name in only:
                step()
        return self.results


def _pinned(requirements: str, package: str) -> str:
    lines = (PROJECT_ROOT / requirements).read_text().splitlines()
    return next((line.split("==")[1].strip() for line in lines if line.startswith(f"{package}==")), "?")


def versions() -> dict[str, str]:
    """What the functions run with (the layers' and the runtime's pins), and the tools' own."""
    found = {
        "python": platform.python_version(),
        "sentry-sdk": _pinned("layers/dependencies/requirements.txt", "sentry-sdk"),
        "pymongo": _pinned("layers/dependencies/requirements.txt", "pymongo"),
        "chalice": _pinned("layers/dependencies/requirements.txt", "chalice"),
        "boto3 (the functions')": _pinned("requirements/lambda-runtime.txt", "boto3"),
    }
    for package in ("secantusdb", "localstack-client"):
        with contextlib.suppress(metadata.PackageNotFoundError):
            found[package] = metadata.version(package)
    lines = (PROJECT_ROOT / "localstack" / "requirements.txt").read_text().splitlines()
    found["localstack-core"] = next(
        line.split("==")[1] for line in lines if line.startswith("localstack-core==")
    )
    lines = (PROJECT_ROOT / "requirements" / "lambda-runtime.txt").read_text().splitlines()
    found["awslambdaric"] = next(line.split("==")[1] for line in lines if line.startswith("awslambdaric=="))
    found["spotlight"] = json.loads((PROJECT_ROOT / "localstack/spotlight/package.json").read_text())[
        "dependencies"
    ]["@spotlightjs/spotlight"]
    return found


def machine() -> dict[str, str]:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if "model name" in line
        ),
        platform.machine(),
    )
    memory = int(Path("/proc/meminfo").read_text().split()[1]) / 1024 / 1024
    return {
        "cpu": cpu,
        "cores": str(os.cpu_count()),
        "memory": f"{memory:.1f} GiB",
        "kernel": platform.release(),
    }


def write_report(results: dict[str, Any], rounds: int) -> str:
    from perf.bench_report import render

    text = render(results, rounds=rounds, machine=machine(), versions=versions(), when=datetime.now(UTC))
    REPORT.write_text(text)
    return text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make bench", description=__doc__)
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds per comparison")
    parser.add_argument(
        "--only",
        nargs="*",
        help="sizes imports cold_warm executor sentry_far_away scenarios clock power_tune hot_reload relay_soak "
        "deploy memory "
        "(merged into --raw)",
    )
    parser.add_argument("--raw", default=str(PROJECT_ROOT / ".local" / "bench.json"), help="raw results file")
    args = parser.parse_args(argv)
    settings = Settings.from_env()
    bench = Bench(
        settings,
        describe_deployment(settings),
        args.rounds,
        log=lambda m: print(m, file=sys.stderr, flush=True),
    )
    raw = Path(args.raw)
    results = bench.run(set(args.only) if args.only else None)
    results["when"] = f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC"
    if args.only and raw.exists():  # a partial run refreshes its sections of the last full one
        results = json.loads(raw.read_text()) | results
    raw.write_text(json.dumps(results, indent=1))
    write_report(results, args.rounds)
    print(f"bench: wrote {REPORT.relative_to(PROJECT_ROOT)}", file=sys.stderr)
    for path in docs_blocks.refresh(results):
        print(f"bench: wrote {path.relative_to(PROJECT_ROOT)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
