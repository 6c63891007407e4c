"""How long the load runs: long enough that every endpoint gets the samples its percentile needs, within a
time budget. Pure functions.

The rule, for the p95 gate: at least ``min_samples`` (default 100) measured requests per endpoint. 100 is
where about 5 samples lie above the 95th percentile (n x 0.05 >= 5, the usual bar for a tail estimate);
below 72 a two-sided 95 % interval of p95 has no upper end at all (stats.minimum_samples), and with 29
samples — 200 requests over 7 endpoints — "p95" is the second-largest value, a coin toss near the budget.
Requests go to the endpoints by weight in a smooth round-robin, so endpoint i gets rate x duration x
w_i / W of them (+-1); the lightest endpoint decides the duration.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Sizing:
    duration: float            # measured seconds (all rounds together)
    source: str                # "sized" | "given" (--load-duration or the config's duration)
    needed_s: float            # seconds that give every endpoint min_samples at this rate
    expected_min: int          # requests the lightest endpoint is expected to get
    capped: bool               # sized, but the budget was shorter than needed


def needed_seconds(weights: list[int], rate: float, min_samples: int) -> float:
    """Measured seconds for the lightest endpoint to get ``min_samples`` (+1: the round-robin's slack)."""
    if not weights or rate <= 0:
        return 0.0
    return (min_samples + 1) * sum(weights) / (min(weights) * rate)


def expected_samples(weights: list[int], rate: float, duration: float) -> int:
    """Requests the lightest endpoint gets in ``duration`` seconds."""
    if not weights:
        return 0
    return int(rate * duration * min(weights) / sum(weights))


def plan(weights: list[int], rate: float, min_samples: int, budget_s: float, given: float | None,
         floor_s: float = 1.0) -> Sizing:
    """``given`` (the user's --load-duration or config duration) wins: it is their choice, and endpoints short
    of samples are reported as insufficient data with the duration that would do. Otherwise the duration is
    sized, in whole seconds, between ``floor_s`` and ``budget_s``."""
    needed = needed_seconds(weights, rate, min_samples)
    if given is not None:
        return Sizing(given, "given", needed, expected_samples(weights, rate, given), False)
    duration = max(floor_s, float(math.ceil(needed)))
    capped = duration > budget_s
    duration = min(duration, budget_s)
    return Sizing(duration, "sized", needed, expected_samples(weights, rate, duration), capped)


def hint(needed_s: float, ceiling_s: float) -> str:
    """How to get enough samples, for the console line and LAT010."""
    if needed_s <= ceiling_s:
        return f"give --load-duration {math.ceil(needed_s)} or load fewer endpoints (exclude)"
    return (f"load fewer endpoints (exclude, or weight the rare ones up): even {ceiling_s:g} s is too short at "
            "this rate (or raise --load-rate)")
