"""The cold-start scenario: heavy initialisation at import (eager) versus on first use (lazy).

Eager: every environment pays for a prime table, an RTP simulation and index creation
before its first request, whether the request needs them or not.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from engine import cpu_work, memory_leak

PRIME_TABLE_LIMIT = 3_000_000
RTP_SIMULATION_SPINS = 150_000


@cache
def prime_table() -> list[int]:
    return cpu_work.primes_sieve(PRIME_TABLE_LIMIT)


@cache
def rtp_table() -> dict[str, Any]:
    return memory_leak.simulate(RTP_SIMULATION_SPINS, seed=1)[0]


@cache
def indexes_ready() -> bool:
    from slot_common.data_model import ensure_indexes
    from slot_common.mongo import database

    ensure_indexes(database())
    return True


def preload() -> None:
    """ANTI-PATTERN when run at import: all of it lands in Init Duration."""
    prime_table()
    rtp_table()
    indexes_ready()
