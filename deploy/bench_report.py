"""Renders docs/benchmarks.md from the numbers `make bench` measured (nothing typed by hand)."""

from __future__ import annotations

import statistics
from datetime import datetime
from typing import Any

EXPECTED = {"n-plus-one": (1000, 2000), "cpu-spike": (5000, 10000), "slow-aggregation": (5000, 15000)}


def _median(values: list[float]) -> float:
    clean = [v for v in values if v == v]  # drop NaN
    return statistics.median(clean) if clean else float("nan")


def _spread(values: list[float]) -> str:
    clean = [v for v in values if v == v]
    return f"{min(clean):.0f}-{max(clean):.0f}" if clean else "-"


def _verdict(ok: bool) -> str:
    return "met" if ok else "**missed**"


def render(results: dict[str, Any], *, rounds: int, machine: dict, versions: dict, when: datetime) -> str:
    lines = [
        "# Benchmarks",
        "",
        f"Written by `make bench` on {when:%Y-%m-%d %H:%M} UTC; {rounds} interleaved rounds per comparison.",
        "Medians with the min-max spread in brackets. Re-run `make bench` to refresh every number.",
        "",
        "## Machine and versions",
        "",
        f"- {machine['cpu']}, {machine['cores']} cores, {machine['memory']}, Linux {machine['kernel']}",
        "- " + ", ".join(f"{name} {version}" for name, version in versions.items()),
        "",
    ]
    targets: list[tuple[str, str, bool]] = []

    if "cold_warm" in results:
        lines += [
            "## Cold start and warm invoke, Sentry on and off",
            "",
            "Init Duration and Duration are the executor's REPORT lines (measured in the function's",
            "environment); client is the round trip of a Lambda Invoke through LocalStack. Sentry off",
            "means no DSN and no Spotlight, so the SDK is not imported at all.",
            "",
            "| function | init on | init off | Sentry's init cost | warm on | warm off | Sentry's warm cost | warm client |",
            "|---|---|---|---|---|---|---|---|",
        ]
        worst_init, worst_warm, worst_cold = 0.0, 0.0, 0.0
        for function, samples in results["cold_warm"].items():
            on, off = samples["on"], samples["off"]
            init_cost = _median(on["init"]) - _median(off["init"])
            warm_cost = _median(on["warm"]) - _median(off["warm"])
            lines.append(
                f"| {function} | {_median(on['init']):.0f} ms [{_spread(on['init'])}] "
                f"| {_median(off['init']):.0f} ms [{_spread(off['init'])}] | {init_cost:+.0f} ms "
                f"| {_median(on['warm']):.1f} ms | {_median(off['warm']):.1f} ms | {warm_cost:+.1f} ms "
                f"| {_median(on['warm_client']):.0f} ms |"
            )
            worst_init = max(worst_init, init_cost)
            if function != "GameEngineEagerInitFunction":
                worst_cold = max(worst_cold, _median(on["init"]))
            if function == "UserServiceFunction":
                worst_warm = warm_cost
        lines.append("")
        targets += [
            (
                "Sentry adds at most 3 ms to a warm invoke (user service balance)",
                f"{worst_warm:+.1f} ms",
                worst_warm <= 3,
            ),
            (
                "Sentry adds at most 120 ms to a cold start (worst function)",
                f"{worst_init:+.0f} ms",
                worst_init <= 120,
            ),
            (
                "every cold start under 700 ms (eager-init scenario aside)",
                f"worst {worst_cold:.0f} ms",
                worst_cold < 700,
            ),
        ]

    if "imports" in results:
        lines += [
            "## Import time of the layers (python -X importtime, cumulative, fresh interpreter)",
            "",
            "| module | median | spread |",
            "|---|---|---|",
        ]
        for module, values in results["imports"].items():
            lines.append(f"| `{module}` | {_median(values):.0f} ms | {_spread(values)} ms |")
        lines += [
            "",
            "Each integration's own cost is its row minus `sentry_sdk`'s. The functions enable",
            "AwsLambdaIntegration, ChaliceIntegration and PyMongoIntegration only (auto-enabling off);",
            "Boto3Integration is not enabled: its import is measured above to show why.",
            "",
        ]

    if "sizes" in results:
        total_layers = sum(v["unzipped"] for k, v in results["sizes"].items() if k.endswith("layer"))
        lines += ["## Package and layer sizes (Lambda limits: 50 MB zipped, 250 MB unzipped)", ""]
        lines += ["| artifact | zipped | unzipped |", "|---|---|---|"]
        for name, size in results["sizes"].items():
            lines.append(f"| {name} | {size['zipped'] / 1e6:.2f} MB | {size['unzipped'] / 1e6:.2f} MB |")
        biggest = max(v["unzipped"] for k, v in results["sizes"].items() if not k.endswith("layer"))
        lines += [
            "",
            f"Largest function with its layers: {(biggest + total_layers) / 1e6:.1f} MB of 250 MB.",
            "",
        ]

    if "executor" in results:
        ex = results["executor"]
        warm = _median(ex["localstack_warm"]) - _median(ex["in_process_warm"])
        cold = _median(ex["localstack_cold"]) - _median(ex["in_process_cold"])
        lines += [
            "## The executor's overhead: Invoke through LocalStack versus the handler in-process",
            "",
            "User service, balance event, Sentry off on both sides. In-process cold = a new interpreter",
            "importing the app and handling one event; LocalStack cold = the first Invoke after a",
            "configuration change (new environment).",
            "",
            "| | in-process | through LocalStack | overhead |",
            "|---|---|---|---|",
            f"| warm | {_median(ex['in_process_warm']):.1f} ms | {_median(ex['localstack_warm']):.1f} ms | {warm:+.1f} ms |",
            f"| cold | {_median(ex['in_process_cold']):.0f} ms | {_median(ex['localstack_cold']):.0f} ms | {cold:+.0f} ms |",
            "",
        ]
        targets.append(("LocalStack adds at most 30 ms to a warm invoke", f"{warm:+.1f} ms", warm <= 30))

    if "scenarios" in results:
        lines += [
            "## Every scenario against its fix (through API Gateway, client-side)",
            "",
            "| scenario | anti-pattern | fix | speed-up | seed's expectation |",
            "|---|---|---|---|---|",
        ]
        slowest_ratio = float("inf")
        for scenario, samples in results["scenarios"].items():
            slow, fast = _median(samples["antipattern"]), _median(samples["fix"])
            ratio = slow / fast if fast else float("inf")
            slowest_ratio = min(slowest_ratio, ratio)
            expected = EXPECTED.get(scenario)
            expectation = "-"
            if expected:
                inside = expected[0] <= slow <= expected[1]
                expectation = f"{expected[0] / 1000:.0f}-{expected[1] / 1000:.0f} s: {'inside' if inside else 'outside'}"
            lines.append(
                f"| {scenario} | {slow:.0f} ms [{_spread(samples['antipattern'])}] "
                f"| {fast:.0f} ms [{_spread(samples['fix'])}] | {ratio:.1f}x | {expectation} |"
            )
        lines.append("")
        targets.append(
            ("every fix at least 10x faster", f"slowest ratio {slowest_ratio:.1f}x", slowest_ratio >= 10)
        )

    if "deploy_unchanged_s" in results:
        unchanged = _median(results["deploy_unchanged_s"])
        lines += [
            "## make deploy-local",
            "",
            f"- re-deploy with no change: {unchanged:.1f} s [{_spread(results['deploy_unchanged_s'])}]",
            "",
        ]
        targets.append(
            ("a re-deploy with no change takes at most 15 s", f"{unchanged:.1f} s", unchanged <= 15)
        )

    if "memory" in results:
        idle, load = results["memory"]["idle"], results["memory"]["under_load"]
        lines += [
            "## Memory (RSS, MB)",
            "",
            "| | idle | peak under 50 concurrent spins |",
            "|---|---|---|",
        ]
        for key in ("localstack", "mongodb", "spotlight", "function_environments", "environments"):
            lines.append(f"| {key.replace('_', ' ')} | {idle.get(key, 0):.0f} | {load.get(key, 0):.0f} |")
        if "load" in results:
            run = results["load"]
            lines += [
                "",
                f"The load: {run['accepted']} accepted, {run['failed']} failed, p50 {run['p50']:.0f} ms, "
                f"p95 {run['p95']:.0f} ms, ledger problems: {len(run['problems'])}.",
            ]
        lines.append("")

    lines += ["## Targets", "", "| target | measured | |", "|---|---|---|"]
    lines += [f"| {name} | {value} | {_verdict(ok)} |" for name, value, ok in targets]
    lines += ["", "Why a missed target is missed, and what was changed, is in docs/performance-notes.md.", ""]
    return "\n".join(lines)
