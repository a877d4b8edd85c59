"""`make power-tune`'s measurement and its table, on a probe with a fixed amount of CPU work
in real runtimes at AWS's CPU share (the template's functions need a stack: make bench runs
the CPU spike)."""

from __future__ import annotations

import json
import math
import uuid

import pytest

from lambda_process_executor import confinement
from lambda_process_executor.capacity import CapacitySettings
from lambda_process_executor.runtime import RuntimeProcess
from perf import power_tune
from perf.lambda_clock import WORK_DIR, probe_spec

pytestmark = [pytest.mark.runtime, pytest.mark.serial]
WORK = WORK_DIR / "power-tune"
EVENT = json.dumps({"action": "work", "blocks": 150}).encode()


@pytest.fixture(scope="module")
def tuned():
    owner = confinement.for_owner(CapacitySettings.defaults(), WORK)
    if owner.kind == "signals":
        pytest.skip("no writable cgroup on this machine: every size runs at the host's speed")

    def new_runtime(memory_mb: int, timeout: float = 20.0) -> tuple[RuntimeProcess, str]:
        runtime_id = uuid.uuid4().hex
        spec = probe_spec(memory_mb, timeout=1.0 if memory_mb == 128 else timeout)
        return RuntimeProcess(spec, WORK / runtime_id, runtime_id, owner), "arn:aws:lambda:::function:clock"

    try:
        yield [power_tune.measure(new_runtime, EVENT, size, invokes=3) for size in (128, 256, 1769)]
    finally:
        owner.close()


def test_duration_follows_the_cpu_share_and_a_size_too_small_times_out(tuned):
    small, medium, full = tuned
    assert small.timed_out and small.duration_ms >= 1000, "128 MB with a 1 s Timeout must time out"
    assert not medium.timed_out and not full.timed_out
    assert medium.duration_ms / full.duration_ms == pytest.approx(1769 / 256, rel=0.3)
    # the cold start's bill holds its Init Duration and its Duration, as AWS bills since 2025
    assert full.init_ms is not None
    assert abs(full.cold_billed_ms - math.ceil(full.init_ms + full.cold_duration_ms)) <= 1  # REPORT rounds


def test_cost_is_requests_plus_gb_seconds_at_aws_prices(tuned):
    _, medium, full = tuned
    for row in (medium, full):
        warm_bill_ms = round(row.duration_ms)  # the median of whole milliseconds, within 1 ms
        expected = 1000 * (0.20 / 1e6 + warm_bill_ms / 1000 * row.memory_mb / 1024 * 0.0000166667)
        assert row.cost_per_1000_usd == pytest.approx(expected, rel=0.01)


def test_the_table_has_a_row_per_size_with_its_share_and_the_timeout(tuned):
    table = power_tune.table(tuned).splitlines()
    rows = [line for line in table[2:] if line.startswith("| ")]
    assert [row.split("|")[1].strip() for row in rows] == ["128 MB", "256 MB", "1769 MB"]
    assert rows[0].split("|")[2].strip() == "0.072" and "timed out" in rows[0]
    assert rows[2].split("|")[2].strip() == "1" and "timed out" not in rows[2]
    chart = power_tune.chart(tuned)
    assert chart.count("time ") == 3 and chart.count("cost ") == 3
