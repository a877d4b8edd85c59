"""Weighted reels with the original's symbols, weights and multipliers, at about 90% RTP.

A spin wins with probability WIN_PROBABILITY and then shows three of one symbol drawn by
weight; the payout is bet x that symbol's multiplier. The original used a 30% win chance,
which with these weights returns 123%; the win chance here is derived from the target RTP.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

SYMBOLS = ("cherry", "lemon", "orange", "grape", "star", "diamond")
WEIGHTS = (30, 25, 20, 15, 8, 2)
MULTIPLIERS = dict(zip(SYMBOLS, (2, 3, 4, 5, 10, 20), strict=True))
TARGET_RTP = 0.90
EXPECTED_MULTIPLIER = sum(w * MULTIPLIERS[s] for s, w in zip(SYMBOLS, WEIGHTS, strict=True)) / sum(WEIGHTS)
WIN_PROBABILITY = TARGET_RTP / EXPECTED_MULTIPLIER


@dataclass(frozen=True)
class Outcome:
    symbols: tuple[str, str, str]
    multiplier: int

    @property
    def win(self) -> bool:
        return self.multiplier > 0

    def payout(self, bet: int) -> int:
        return bet * self.multiplier


def spin(rng: random.Random) -> Outcome:
    if rng.random() < WIN_PROBABILITY:
        (symbol,) = rng.choices(SYMBOLS, WEIGHTS)
        return Outcome((symbol, symbol, symbol), MULTIPLIERS[symbol])
    symbols = rng.choices(SYMBOLS, WEIGHTS, k=3)
    if symbols[0] == symbols[1] == symbols[2]:  # a losing spin never shows three of a kind
        symbols[1] = rng.choice([s for s in SYMBOLS if s != symbols[0]])
    return Outcome((symbols[0], symbols[1], symbols[2]), 0)
