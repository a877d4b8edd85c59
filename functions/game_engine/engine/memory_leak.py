"""The memory-leak scenario: an RTP simulation report whose raw results are cached forever,
versus a bounded cache that keeps only summaries. Both return the same summary."""

from __future__ import annotations

import random
from collections import Counter
from functools import lru_cache
from typing import Any

from engine import reels

# ANTI-PATTERN: module level, so it survives between warm invocations, and nothing evicts it
_audit_logs: list[list[tuple[int, tuple[str, str, str], int]]] = []


def simulate(spins: int, seed: int) -> tuple[dict[str, Any], list[tuple[int, tuple[str, str, str], int]]]:
    rng = random.Random(seed)
    audit = []
    wins: Counter[str] = Counter()
    paid = 0
    for number in range(spins):
        outcome = reels.spin(rng)
        audit.append((number, outcome.symbols, outcome.multiplier))
        if outcome.win:
            wins[outcome.symbols[0]] += 1
            paid += outcome.multiplier
    summary = {
        "spins": spins,
        "seed": seed,
        "wins": sum(wins.values()),
        "rtp": round(paid / spins, 6),
        "wins_by_symbol": {symbol: wins[symbol] for symbol in reels.SYMBOLS},
    }
    return summary, audit


def report_leaking(spins: int, seed: int) -> tuple[dict[str, Any], int]:
    summary, audit = simulate(spins, seed)
    _audit_logs.append(audit)  # "kept for later export", never read again
    return summary, len(_audit_logs)


@lru_cache(maxsize=4)
def _summary(spins: int, seed: int) -> dict[str, Any]:
    return simulate(spins, seed)[0]


def report_bounded(spins: int, seed: int) -> tuple[dict[str, Any], int]:
    """FIX: cache what is served (the summary), bounded; the raw log is dropped."""
    return dict(_summary(spins, seed)), _summary.cache_info().currsize


def current_rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024, 1)
    return 0.0
