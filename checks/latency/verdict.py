"""One endpoint's p95 verdict from its confidence interval, its rounds and the machine's health. Pure.

    fail          the interval's lower end is over the budget, every round's p95 is over it too, and —
                  on a saturated machine — the machine cannot explain it (below)
    pass          the interval's upper end is within the budget and every round's p95 is within it
    inconclusive  anything else: the interval straddles the budget, the rounds disagree, or it is over
                  the budget on a saturated machine that could explain it
    insufficient  fewer samples than min_samples: not judged

A saturated machine never *produces* a high finding: an endpoint over budget there stays a fail only
when the service's processes were visible and not CPU-starved (so its requests did not queue for a CPU)
and the lower end is still over the budget after the machine's share is taken off — the generator's
worst timer lag (p99: a wake-up delay every task on the machine saw) subtracted, and the rest scaled by
the CPU share a runnable task got (as if all of it were CPU time stretched by the contention). A service
sleeping 200 ms per request survives that; a 5 ms endpoint slowed by a hog does not.
"""

from __future__ import annotations

from dataclasses import dataclass

from checks.latency.health import Machine

PASS, FAIL, INCONCLUSIVE, INSUFFICIENT, NOT_GATED = "pass", "fail", "inconclusive", "insufficient data", "not gated"


@dataclass(frozen=True)
class Verdict:
    state: str
    reason: str = ""                      # why, in words, for the finding and the report
    saturated: bool = False               # the state depends on the machine having been saturated
    discounted_low_ms: float | None = None


def discounted_low(low_ms: float, machine: Machine) -> float:
    return max(0.0, (low_ms - machine.lag_ms) * machine.share)


def judge_p95(*, requests: int, low_ms: float | None, high_ms: float | None, rounds_p95: list[float | None],
              budget_ms: float, min_samples: int, gated: bool, machine: Machine) -> Verdict:
    if requests < min_samples:
        return Verdict(INSUFFICIENT, f"{requests} samples, fewer than {min_samples}")
    if not gated:
        return Verdict(NOT_GATED, "closed model")
    rounds = [p for p in rounds_p95 if p is not None]
    if low_ms is not None and low_ms > budget_ms:
        if not all(p > budget_ms for p in rounds):
            return Verdict(INCONCLUSIVE, "the rounds disagree: " + _rounds(rounds, budget_ms))
        if not machine.saturated:
            return Verdict(FAIL, "the interval's lower end is over the budget in every round")
        low = discounted_low(low_ms, machine)
        if machine.service_starved is None:
            return Verdict(INCONCLUSIVE, "over the budget, but measured on a saturated machine and the "
                           "service's own CPU could not be seen", saturated=True, discounted_low_ms=round(low, 3))
        if machine.service_starved:
            return Verdict(INCONCLUSIVE, "over the budget, but measured on a saturated machine where the "
                           "service was short of CPU", saturated=True, discounted_low_ms=round(low, 3))
        if low <= budget_ms:
            return Verdict(INCONCLUSIVE, f"over the budget, but measured on a saturated machine that can explain "
                           f"it (lower end {low:.0f} ms after the machine's share)", saturated=True,
                           discounted_low_ms=round(low, 3))
        return Verdict(FAIL, f"over the budget even after the saturated machine's share is taken off (lower end "
                       f"{low:.0f} ms)", saturated=True, discounted_low_ms=round(low, 3))
    if high_ms is not None and high_ms <= budget_ms:
        if all(p <= budget_ms for p in rounds):
            return Verdict(PASS, "the interval's upper end is within the budget in every round")
        return Verdict(INCONCLUSIVE, "the rounds disagree: " + _rounds(rounds, budget_ms))
    if high_ms is None:
        return Verdict(INCONCLUSIVE, "too few samples for the interval to have an upper end",
                       saturated=machine.saturated)
    return Verdict(INCONCLUSIVE, "the interval straddles the budget", saturated=machine.saturated)


def _rounds(rounds: list[float], budget_ms: float) -> str:
    over = sum(1 for p in rounds if p > budget_ms)
    return f"{over} of {len(rounds)} rounds over the budget"
