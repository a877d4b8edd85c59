"""The memory-leak scenario: an RTP simulation report whose raw results are cached forever,
versus a bounded cache that keeps only summaries. Both return the same summary.

Each leaking call keeps its audit log and the export rendered from it, sized as an eighth of
the function's MemorySize by default: the kill comes after about eight warm calls whatever
the MemorySize, and cheaply (copying bytes, not simulating more spins)."""

from __future__ import annotations

import os
import random
from collections import Counter
from functools import lru_cache
from typing import Any

from engine import reels

# ANTI-PATTERN: module level, so it survives between warm invocations, and nothing evicts it
_audit_logs: list[tuple[list[tuple[int, tuple[str, str, str], int]], bytes]] = []
EXPORT_ROW_BYTES = 64


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


def render_export(audit: list[tuple[int, tuple[str, str, str], int]], megabytes: int) -> bytes:
    """The audit log as a fixed-width export of ``megabytes`` (its rows repeated to the size)."""
    rows = b"".join(
        f"{number:>10} {'|'.join(symbols):<40} {multiplier:>8}".encode().ljust(EXPORT_ROW_BYTES - 1) + b"\n"
        for number, symbols, multiplier in audit[:1024]
    )
    size = megabytes * 1024 * 1024
    return (rows * (size // max(len(rows), 1) + 1))[:size]


def report_leaking(spins: int, seed: int, export_mb: int) -> tuple[dict[str, Any], int]:
    summary, audit = simulate(spins, seed)
    _audit_logs.append((audit, render_export(audit, export_mb)))  # "kept for later export", never read
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


def memory_limit_mb() -> int:
    """The function's MemorySize, sent with each answer so that the page can say where the
    kill came against it."""
    return int(os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "0") or 0)
