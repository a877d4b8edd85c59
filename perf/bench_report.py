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


Target = tuple[str, str, bool]  # what is promised, what was measured, whether it is met
Section = tuple[list[str], list[Target]]


def _verdict(ok: bool) -> str:
    return "met" if ok else "**missed**"


def _cold_and_warm(results: dict[str, Any]) -> Section:
    lines: list[str] = []
    targets: list[Target] = []
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
    return lines, targets


def _imports(results: dict[str, Any]) -> Section:
    lines: list[str] = []
    targets: list[Target] = []
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
    return lines, targets


def _sizes(results: dict[str, Any]) -> Section:
    lines: list[str] = []
    targets: list[Target] = []
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
    return lines, targets


def _executor(results: dict[str, Any]) -> Section:
    lines: list[str] = []
    targets: list[Target] = []
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
    if cold < 0:
        lines += [
            "The cold overhead is negative: the in-process cold start is a new interpreter that also",
            "pays Python's own start-up and a cold file cache, which LocalStack's runtime (started from",
            "precompiled bytecode, its Init Duration excludes the interpreter's start) does not count.",
            "",
        ]
    targets.append(("LocalStack adds at most 30 ms to a warm invoke", f"{warm:+.1f} ms", warm <= 30))
    return lines, targets


def _scenarios(results: dict[str, Any]) -> Section:
    lines: list[str] = []
    targets: list[Target] = []
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
            expectation = (
                f"{expected[0] / 1000:.0f}-{expected[1] / 1000:.0f} s: {'inside' if inside else 'outside'}"
            )
        lines.append(
            f"| {scenario} | {slow:.0f} ms [{_spread(samples['antipattern'])}] "
            f"| {fast:.0f} ms [{_spread(samples['fix'])}] | {ratio:.1f}x | {expectation} |"
        )
    lines.append("")
    targets.append(
        ("every fix at least 10x faster", f"slowest ratio {slowest_ratio:.1f}x", slowest_ratio >= 10)
    )
    return lines, targets


def _deploy(results: dict[str, Any]) -> Section:
    lines: list[str] = []
    targets: list[Target] = []
    unchanged = _median(results["deploy_unchanged_s"])
    lines += [
        "## make deploy-local",
        "",
        f"- re-deploy with no change: {unchanged:.1f} s [{_spread(results['deploy_unchanged_s'])}]",
        "",
    ]
    targets.append(("a re-deploy with no change takes at most 15 s", f"{unchanged:.1f} s", unchanged <= 15))
    return lines, targets


SECTIONS = [
    ("cold_warm", _cold_and_warm),
    ("imports", _imports),
    ("sizes", _sizes),
    ("executor", _executor),
    ("scenarios", _scenarios),
    ("deploy_unchanged_s", _deploy),
    (
        "sentry_far_away",
        lambda results: (
            _sentry_far_away(results["sentry_far_away"]),
            _relay_targets(results["sentry_far_away"]),
        ),
    ),
    ("lambda_clock", lambda results: _lambda_clock(results["lambda_clock"])),
    ("power_tune", lambda results: _power_tune(results["power_tune"])),
    ("hot_reload", lambda results: _hot_reload(results["hot_reload"])),
    ("relay_soak", lambda results: _relay_soak(results["relay_soak"])),
    ("memory", lambda results: _memory_and_crowd(results)),
]


def render(results: dict[str, Any], *, rounds: int, machine: dict, versions: dict, when: datetime) -> str:
    lines = [
        "# Benchmarks",
        "",
        f"Written by `make bench` on {when:%Y-%m-%d %H:%M} UTC: {rounds} interleaved rounds of cold and warm",
        "invokes; the scenario pairs use as many pairs as their table says. Medians with the min-max",
        "spread in brackets. Re-run `make bench` to refresh every number.",
        "",
        "## Machine and versions",
        "",
        f"- {machine['cpu']}, {machine['cores']} cores, {machine['memory']}, Linux {machine['kernel']}",
        "- " + ", ".join(f"{name} {version}" for name, version in versions.items()),
        "",
    ]
    targets: list[Target] = []
    for key, section in SECTIONS:
        if key in results:
            more_lines, more_targets = section(results)
            lines += more_lines
            targets += more_targets
    lines += ["## Targets", "", "| target | measured | |", "|---|---|---|"]
    lines += [f"| {name} | {value} | {_verdict(ok)} |" for name, value, ok in targets]
    lines += ["", "Why a missed target is missed, and what was changed, is in docs/performance-notes.md.", ""]
    return "\n".join(lines)


def _memory(results: dict[str, Any]) -> list[str]:
    """The services at rest and after the crowd below."""
    idle, after = results["memory"]["idle"], results["memory"]["after_burst"]
    lines = [
        "## Memory (RSS, MB)",
        "",
        "| | at rest | after the burst below |",
        "|---|---|---|",
    ]
    for key in ("localstack", "mongodb", "spotlight", "function_runtimes"):
        lines.append(f"| {key.replace('_', ' ')} | {idle.get(key, 0):.0f} | {after.get(key, 0):.0f} |")
    lines += [
        "",
        f"Runtime processes: {idle.get('runtime_processes', 0):.0f} at rest, "
        f"{after.get('runtime_processes', 0):.0f} after the burst.",
        "",
    ]
    return lines


def _crowd(load: dict[str, Any]) -> Section:
    """100 spins at once (make load's code). Long because it is one table and its targets,
    which read best whole."""
    targets: list[Target] = []
    per_runtime = load["runtimes_rss_peak_mb"] / max(load["runtimes_peak"], 1)
    back = load["back_within_2x_idle_after_s"]
    capacity = load["capacity"]
    lines = [
        f"## A crowd at once: {load['spins']} spins, {load['concurrency']} concurrent clients",
        "",
        "Each spin has its own Idempotency-Key and is retried with it (up to 3 times) on 409, 429,",
        "5xx or a network failure, as the page does (`make load`, docs/capacity.md). Runtimes and",
        "their memory are sampled in the process tree every 250 ms.",
        "",
        "| | |",
        "|---|---|",
        f"| answered 200 at the first try | {load['accepted_first_try']} of {load['spins']} |",
        f"| answered 200 after retries | {load['accepted']} of {load['spins']} "
        f"(most tries for one spin: {load['most_attempts']}) |",
        f"| latency p50 / p95 / max, retries included | {load['latency_ms_p50'] / 1000:.1f} / "
        f"{load['latency_ms_p95'] / 1000:.1f} / {load['latency_ms_max'] / 1000:.1f} s |",
        f"| runtime processes at the peak (bound: {capacity['max_per_function']} per function, "
        f"{capacity['max_total']} in all) | {load['runtimes_peak']} |",
        f"| runtimes' RSS: at rest / peak / after | {load['runtimes_rss_idle_mb']:.0f} / "
        f"{load['runtimes_rss_peak_mb']:.0f} / {load['runtimes_rss_after_mb']:.0f} MB |",
        f"| RSS per runtime at the peak | {per_runtime:.0f} MB |",
        f"| surplus runtimes reaped, RSS within 2x of rest, after | "
        f"{f'{back:.0f} s' if back is not None else 'not within the wait'} |",
        f"| LocalStack's RSS: before / peak | {load['localstack_rss_idle_mb']:.0f} / "
        f"{load['localstack_rss_peak_mb']:.0f} MB |",
        f"| orphaned runtimes seen | {load['orphans_seen']} |",
        f"| spins that moved money while their client got an error | {load['silent_spins']} |",
        f"| ledger problems | {len(load['problems'])} |",
        "",
    ]
    targets += [
        (
            "a crowd of 100: every spin answered 200 after at most 3 retries",
            f"{load['accepted']} of {load['spins']}",
            load["accepted"] == load["spins"] and load["most_attempts"] <= 4,
        ),
        (
            "a crowd of 100: p95 at most 15 s",
            f"{load['latency_ms_p95'] / 1000:.1f} s",
            load["latency_ms_p95"] <= 15000,
        ),
        (
            "a crowd of 100: function runtimes' peak RSS at most 1.5 GB",
            f"{load['runtimes_rss_peak_mb']:.0f} MB",
            load["runtimes_rss_peak_mb"] <= 1536,
        ),
        (
            "after the burst, surplus runtimes gone and RSS within 2x of rest within 2 minutes",
            f"{back:.0f} s" if back is not None else "no",
            back is not None and back <= 120,
        ),
        (
            "no orphan, no silent spin, ledger exact",
            f"{load['orphans_seen']} / {load['silent_spins']} / {len(load['problems'])}",
            not load["problems"],
        ),
    ]
    return lines, targets


def _memory_and_crowd(results: dict[str, Any]) -> Section:
    lines = _memory(results)
    if not results.get("load"):
        return lines, []
    crowd_lines, targets = _crowd(results["load"])
    return lines + crowd_lines, targets


def _sentry_far_away(far: dict[str, Any]) -> list[str]:
    lines = [
        "## What the flush costs when Sentry is far away",
        "",
        "AwsLambdaIntegration flushes the SDK's queue before the function answers (a frozen Lambda",
        "would lose it otherwise), so every invoke waits for its envelope to be taken. Warm REPORT",
        "Duration of the balance route (user service): Sentry off, sending to Spotlight on loopback,",
        f"and sending to an ingest that answers {far['delay_ms']} ms later (a local sink; it received",
        f"{far['received']} envelopes):",
        "",
        "| | warm REPORT Duration | warm client round trip | cold Init Duration |",
        "|---|---|---|---|",
    ]
    lines += [
        f"| {label} | {_median(v['duration']):.1f} ms [{_spread(v['duration'])}] "
        f"| {_median(v['client']):.1f} ms [{_spread(v['client'])}] | {_median(v['init']):.0f} ms |"
        for label, v in far["samples"].items()
    ]
    lines += [
        "",
        "Through the relay extension (layers/sentry-relay) the SDK's flush goes to 127.0.0.1 and the",
        "caller has its answer before anything is sent; the extension forwards before its own Next,",
        "and AWS counts that time in the REPORT's Duration (\"the sum of all invocation time (runtime",
        "+ extensions)\"), so the client's round trip shows the gain. The options are in",
        "docs/performance-notes.md (Sentry's cost on a warm invoke).",
        "",
    ]
    return lines


def _lambda_clock(clock: dict[str, Any]) -> Section:
    """The CPU share per MemorySize and the freeze (perf/lambda_clock.py)."""
    share, idle = clock["share"], clock["idle"]
    aws_256, aws_1769 = 256 / 1769, 1.0
    lines = [
        "## Lambda's clock: the CPU share per MemorySize, and the freeze",
        "",
        f"{clock['confinement']}. A probe function burns CPU for 3 s of wall time; the share is its",
        "process's CPU time over that wall time (docs/fidelity.md).",
        "",
        "| MemorySize | AWS's CPU | measured |",
        "|---|---|---|",
        f"| 256 MB, one busy thread | {aws_256:.1%} of a vCPU | {share['256']:.1%} of a core |",
        f"| 1,769 MB, one busy thread | one vCPU | {share['1769']:.1%} of a core |",
        f"| 3,008 MB, two busy threads | {3008 / 1769:.2f} vCPUs | {share['3008x2']:.2f} cores |",
        "",
        f"A background thread ticking every millisecond, across a {clock['idle_gap_s']:g} s idle gap "
        "between two invokes:",
        "",
        "| | ticks between the invokes | ticks during the next invoke (0.3 s) |",
        "|---|---|---|",
        f"| frozen between invokes (aws) | {idle['aws']['between']} | {idle['aws']['during_next']} |",
        f"| not frozen (LOCAL_LAMBDA_CPU=host) | {idle['host']['between']} | {idle['host']['during_next']} |",
        "",
    ]
    targets = [
        ("CPU share at 256 MB: 14.5 % +- 2 points of a core", f"{share['256']:.1%}",
         abs(share["256"] - aws_256) <= 0.02),
        ("CPU share at 1,769 MB: 100 % +- 5", f"{share['1769']:.1%}", abs(share["1769"] - aws_1769) <= 0.05),
        ("two busy threads at 3,008 MB: at least 1.6 cores", f"{share['3008x2']:.2f}", share["3008x2"] >= 1.6),
        ("a background thread makes no progress across an idle gap, and resumes",
         f"{idle['aws']['between']} ticks idle, {idle['aws']['during_next']} on the next invoke",
         idle["aws"]["between"] <= 5 and idle["aws"]["during_next"] >= 50),
    ]  # fmt: skip
    return lines, targets


def _power_tune(tuned: dict[str, Any]) -> Section:
    """`make power-tune` on the CPU spike: duration and cost per MemorySize."""
    from perf.power_tune import SizeResult, chart, table

    rows = [SizeResult(**row) for row in tuned["rows"]]
    by_size = {row.memory_mb: row for row in rows}
    lines = [
        "## Memory is CPU: the CPU spike at each MemorySize",
        "",
        f"`make power-tune FUNCTION={tuned['function']} EVENT={tuned['event']}`: two invokes per size in",
        "a new runtime (the first cold), at AWS's CPU share; costs at AWS's x86 prices (us-east-1),",
        "requests included, the Init phase billed in the cold start's Billed Duration as AWS bills",
        "it since August 2025. The game engine's Timeout is 15 s.",
        "",
        table(rows),
        "",
        "```",
        chart(rows),
        "```",
        "",
    ]
    targets: list[Target] = []
    if 1769 in by_size and 256 in by_size:
        one, seventh = by_size[1769], by_size[256]
        targets.append((
            "the CPU spike at the game engine's 1,769 MB: 5-10 s (the seed's range)",
            f"{(one.duration_ms or 0) / 1000:.1f} s",
            not one.timed_out and 5000 <= (one.duration_ms or 0) <= 10000,
        ))  # fmt: skip
        targets.append((
            "the same spike at 256 MB: a timeout, as on AWS",
            "timed out" if seventh.timed_out else f"{(seventh.duration_ms or 0) / 1000:.1f} s",
            seventh.timed_out,
        ))  # fmt: skip
    return lines, targets


def _relay_targets(far: dict[str, Any]) -> list[Target]:
    """The relay extension against Sentry off and against the direct flush to a far ingest."""
    samples = far["samples"]
    relayed = next((v for label, v in samples.items() if "relay" in label), None)
    direct = next(
        (v for label, v in samples.items() if label.startswith("dsn") and "relay" not in label), None
    )
    if relayed is None or direct is None or "client" not in samples["off"]:
        return []
    off_client, relay_client = _median(samples["off"]["client"]), _median(relayed["client"])
    init_cost = _median(relayed["init"]) - _median(direct["init"])
    return [
        ("a far DSN through the relay: the client's warm round trip at most Sentry off + 3 ms",
         f"{relay_client - off_client:+.1f} ms (direct: {_median(direct['client']) - off_client:+.1f} ms)",
         relay_client - off_client <= 3),
        ("the relay extension adds at most 30 ms to a cold start", f"{init_cost:+.0f} ms", init_cost <= 30),
    ]  # fmt: skip


def _hot_reload(reload: dict[str, Any]) -> Section:
    """From a save to the new code's first answer (perf/hot_reload.py)."""
    samples = sorted(reload["save_to_answer_ms"])
    p50 = _median(samples)
    p95 = samples[min(len(samples) - 1, round(0.95 * (len(samples) - 1)))] if samples else float("nan")
    lines = [
        "## Hot reload: from a save to the next invoke running it",
        "",
        f"`make watch`'s executor serving a copy of the working tree to {reload['function']}: each round",
        "appends a line to its app.py and invokes until the new code answers (a cold start: the",
        "executor checks the files' modification times before each invoke).",
        "",
        f"- {len(samples)} rounds: p50 {p50:.0f} ms, p95 {p95:.0f} ms [{_spread(samples)}]; invokes needed per "
        f"save: {', '.join(map(str, reload['invokes_needed']))}",
        "",
    ]
    targets = [
        ("hot reload: from a save to the new code's answer, p50 at most 500 ms", f"{p50:.0f} ms", p50 <= 500),
        ("hot reload: p95 at most 1 s", f"{p95:.0f} ms", p95 <= 1000),
    ]
    return lines, targets


def _relay_soak(soak: dict[str, Any]) -> Section:
    """perf/relay_soak.py: every invoke's transaction through the relay, across an outage."""
    lines = [
        "## The relay extension over a long run",
        "",
        f"{soak['invokes']} invokes of the user service's balance route through the sentry-relay",
        f"extension to a local ingest that is down for {soak['outage_s']:g} s a third of the way, with two",
        "configuration changes (every environment shut down: the relay drains on SHUTDOWN) and one at",
        "the end. (A timeout kill and `make down` are in tests/localcloud/test_sentry_relay.py.)",
        "",
        f"- transactions received: {soak['received']} of {soak['invokes']}; lost: {soak['lost_count']}",
        "",
    ]
    return lines, [
        ("the relay: 0 envelopes lost over the long run", str(soak["lost_count"]), soak["lost_count"] == 0)
    ]
