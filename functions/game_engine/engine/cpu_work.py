"""The CPU spike: a naive trial-division prime search plus math loops, and its fix (a sieve).

Both return the same numbers; only the algorithm differs. The size (``limit``) is a setting.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

from slot_common.modes import Mode
from slot_common.observability import span


@dataclass(frozen=True)
class PrimeReport:
    limit: int
    primes_found: int
    largest_prime: int
    checksum: float

    def as_dict(self) -> dict:
        return asdict(self)


def primes_trial_division(limit: int) -> list[int]:
    """ANTI-PATTERN: tests every candidate against every integer up to its square root."""
    primes = []
    for candidate in range(2, limit):
        divisor = 2
        while divisor * divisor <= candidate:
            if candidate % divisor == 0:
                break
            divisor += 1
        else:
            primes.append(candidate)
    return primes


def primes_sieve(limit: int) -> list[int]:
    """FIX: the sieve of Eratosthenes, O(n log log n)."""
    if limit < 3:
        return []
    is_prime = bytearray([1]) * limit
    is_prime[0:2] = b"\x00\x00"
    for number in range(2, math.isqrt(limit - 1) + 1):
        if is_prime[number]:
            is_prime[number * number :: number] = bytes(len(range(number * number, limit, number)))
    return [number for number, flag in enumerate(is_prime) if flag]


def heavy_calculation(primes: list[int]) -> float:
    """The original's sin/cos loop over the primes, the same in both modes."""
    total = 0.0
    for prime in primes[-2000:]:
        total += math.sin(prime) * math.cos(prime / 7)
    return round(total, 9)


def prime_report(limit: int, mode: Mode) -> PrimeReport:
    method = "intensive" if mode is Mode.ANTIPATTERN else "normal"
    with span(op="cpu.prime_generation", name=f"primes below {limit} ({method})") as generating:
        primes = primes_trial_division(limit) if mode is Mode.ANTIPATTERN else primes_sieve(limit)
        generating.set_data("primes_generated", len(primes))
        generating.set_data("calculation_method", method)
    with span(op="cpu.heavy_calculation", name="sin/cos over the largest primes"):
        checksum = heavy_calculation(primes)
    return PrimeReport(limit, len(primes), primes[-1] if primes else 0, checksum)
