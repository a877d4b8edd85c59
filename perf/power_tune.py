"""`make power-tune FUNCTION=<logical id> EVENT=events/<file>`: memory is CPU, measured.

The local twin of AWS Lambda Power Tuning: the event runs at each MemorySize (128 ... 3008 MB
by default), several invokes each in one fresh runtime (the first a cold start), with AWS's
CPU share for that size (the executor's confinement, as `make invoke`). Reported per size:
the warm Duration (median), the cold start's Init Duration, and the cost at AWS's published
x86 prices (us-east-1): requests, GB-seconds of Billed Duration, and the Init phase billed
as AWS bills it since 1 August 2025 (in the cold start's Billed Duration). A size whose
invoke times out is marked so and not tried again.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from dev.invoke import WORK_DIR, function_runtime
from lambda_process_executor import confinement
from lambda_process_executor.report import milliseconds, report_fields
from lambda_process_executor.runtime import Invocation, RuntimeProcess
from localcloud.settings import Settings

DEFAULT_MEMORY_MB = (128, 256, 512, 1024, 1769, 3008)
# AWS Lambda pricing, x86, us-east-1, first tier (aws.amazon.com/lambda/pricing)
USD_PER_REQUEST = 0.20 / 1_000_000
USD_PER_GB_SECOND = 0.0000166667


def cost_usd(billed_ms: float, memory_mb: int, requests: int = 1) -> float:
    """What ``requests`` invokes of ``billed_ms`` each cost at ``memory_mb``."""
    return requests * (USD_PER_REQUEST + billed_ms / 1000 * memory_mb / 1024 * USD_PER_GB_SECOND)


@dataclass
class SizeResult:
    memory_mb: int
    vcpus: float  # AWS's share for the size
    invokes: int
    duration_ms: float | None  # median of the warm invokes (the cold one's if none)
    init_ms: float | None  # the cold start's Init Duration
    cold_duration_ms: float | None  # the cold start's Duration (without its Init)
    cold_billed_ms: float | None  # Init + Duration of the cold start, as AWS bills it now
    cost_per_1000_usd: float | None  # 1,000 warm invokes
    timed_out: bool = False

    @property
    def note(self) -> str:
        return "timed out" if self.timed_out else ""


RuntimeFactory = Callable[[int], tuple[RuntimeProcess, str]]  # MemorySize -> (runtime, its ARN)


def measure(new_runtime: RuntimeFactory, event: bytes, memory_mb: int, invokes: int) -> SizeResult:
    """``invokes`` invokes of ``event`` in one new runtime of ``memory_mb``."""
    runtime, arn = new_runtime(memory_mb)
    durations, billed, timed_out = [], [], False
    init_ms = cold_duration = cold_billed = None
    try:
        for number in range(invokes):
            request_id = str(uuid.uuid4())
            result = runtime.invoke(Invocation(request_id=request_id, function_arn=arn, payload=event))
            logs = result.logs + (result.settle() if result.settle else "")
            fields = report_fields(logs, request_id)
            timed_out = fields.get("Status") == "timeout"
            if number == 0:
                init_ms = milliseconds(fields["Init Duration"]) if "Init Duration" in fields else None
                cold_duration = milliseconds(fields["Duration"])
                cold_billed = milliseconds(fields["Billed Duration"])
            if number > 0 or invokes == 1 or timed_out:  # a timed-out size is not tried again
                durations.append(milliseconds(fields["Duration"]))
                billed.append(math.ceil(milliseconds(fields["Duration"])))  # a warm invoke's bill
            if timed_out:
                break
    finally:
        runtime.close()
    warm_billed = statistics.median(billed)
    return SizeResult(
        memory_mb=memory_mb,
        vcpus=round(confinement.cpu_cores(memory_mb, host_cores=64), 3),
        invokes=invokes,
        duration_ms=round(statistics.median(durations), 1),
        init_ms=init_ms,
        cold_duration_ms=cold_duration,
        cold_billed_ms=cold_billed,
        cost_per_1000_usd=cost_usd(warm_billed, memory_mb, 1000),
        timed_out=timed_out,
    )


def tune(
    logical_id: str, event: bytes, memory_sizes: list[int], invokes: int, settings: Settings, log=print
) -> list[SizeResult]:
    """Power-tunes a template function (the `make invoke` way) at each of ``memory_sizes``."""
    owner = confinement.for_owner(settings.capacity, WORK_DIR)
    log(owner.describe())

    def new_runtime(memory_mb: int) -> tuple[RuntimeProcess, str]:
        return function_runtime(logical_id, settings, owner, memory_mb, log=lambda _: None)

    results = []
    try:
        for memory_mb in memory_sizes:
            result = measure(new_runtime, event, memory_mb, invokes)
            log(f"{memory_mb} MB: {result.duration_ms} ms {result.note}")
            results.append(result)
    finally:
        owner.close()
    return results


def _seconds(ms: float | None) -> str:
    if ms is None:
        return "-"
    return f"{ms / 1000:.2f} s" if ms >= 1000 else f"{ms:.0f} ms"


def table(results: list[SizeResult], timeout_s: float | None = None) -> str:
    """A Markdown table, one row per MemorySize."""
    rows = [
        "| MemorySize | vCPU share | Duration (warm, median) | Init Duration (cold) | "
        "cost of 1,000 warm invokes | a cold start's bill (Init + Duration) |",
        "|---|---|---|---|---|---|",
    ]
    for r in results:
        duration = f"timed out ({_seconds(r.duration_ms)})" if r.timed_out else _seconds(r.duration_ms)
        cold = f"${cost_usd(r.cold_billed_ms, r.memory_mb):.7f}" if r.cold_billed_ms is not None else "-"
        rows.append(
            f"| {r.memory_mb} MB | {r.vcpus:g} | {duration} | {_seconds(r.init_ms)} | "
            f"${r.cost_per_1000_usd:.4f} | {cold} |"
        )
    return "\n".join(rows)


def chart(results: list[SizeResult], width: int = 40) -> str:
    """Duration and cost per size as bars (text, so that it reads in a terminal and in docs)."""
    longest = max((r.duration_ms or 0) for r in results) or 1
    dearest = max((r.cost_per_1000_usd or 0) for r in results) or 1
    lines = []
    for r in results:
        time_bar = "#" * max(1, round((r.duration_ms or 0) / longest * width))
        cost_bar = "$" * max(1, round((r.cost_per_1000_usd or 0) / dearest * width))
        lines.append(f"{r.memory_mb:>5} MB  time {time_bar:<{width}} {_seconds(r.duration_ms)} {r.note}")
        lines.append(f"{'':>8} cost {cost_bar:<{width}} ${r.cost_per_1000_usd:.4f} / 1,000")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make power-tune", description=__doc__)
    parser.add_argument("function", help="logical id in template.yaml, e.g. GameEngineFunction")
    parser.add_argument("event", help="event file, e.g. events/cpu-spike.json")
    parser.add_argument(
        "--memory", default=",".join(map(str, DEFAULT_MEMORY_MB)), help="MemorySize values, MB"
    )
    parser.add_argument("--invokes", type=int, default=3, help="invokes per size (the first is cold)")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args(argv)
    try:
        sizes = [int(value) for value in args.memory.split(",")]
    except ValueError:
        parser.error(f"--memory {args.memory!r}: MemorySize values in MB, comma-separated")
    if any(not 128 <= size <= 10240 for size in sizes) or args.invokes < 1:
        parser.error("MemorySize must be 128-10240 MB (AWS's range) and --invokes at least 1")
    event = Path(args.event).read_bytes()
    results = tune(
        args.function,
        event,
        sizes,
        args.invokes,
        Settings.from_env(),
        log=lambda line: print(line, file=sys.stderr),
    )
    if args.json:
        print(json.dumps([asdict(r) for r in results], indent=2))
    else:
        print(table(results))
        print()
        print(chart(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
