"""Distribution-free statistics for the latency gate: a confidence interval of a percentile from order
statistics, the value at a rank of an HdrHistogram, and the sign test for paired differences. Pure
functions, no I/O, no locust.

Why order statistics (the binomial method) rather than a bootstrap: the interval is exact for any
continuous distribution — the number of samples at or below the true p-quantile is Binomial(n, p), so
[x_(l), x_(u)] covers it with probability P(l <= B < u), computed here to floating precision — it needs
no resampling (one pass over the histogram's buckets, a few thousand binomial terms at most), it is
deterministic (the same histogram always gives the same interval), and it works on the merged
HdrHistogram the check already has, where a bootstrap would need the raw samples. A bootstrap of an
extreme percentile is also known to under-cover with small samples; this interval never does.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

# Terms further than this many standard deviations from the binomial mean carry less than 1e-40 of the
# mass: the CDF is summed over this window only, so the cost does not grow with n (600 k samples → ~5 k
# terms), and the result is exact to floating precision.
_WINDOW_SD = 14.0


@dataclass(frozen=True)
class Interval:
    """A two-sided confidence interval of a percentile, as 1-based ranks into the sorted samples.
    ``low_rank`` 0 means no finite lower bound (0 is the bound); ``high_rank`` None means none above: too
    few samples for the upper end to exist at this confidence (n < 72 for p95 at 95 %)."""

    n: int
    low_rank: int
    high_rank: int | None
    coverage: float            # the exact coverage of these ranks, >= the confidence asked for


def _log_pmf(k: int, n: int, p: float) -> float:
    return (math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1)
            + k * math.log(p) + (n - k) * math.log1p(-p))


def binomial_cdf_table(n: int, p: float) -> tuple[int, list[float]]:
    """(first, cdf) with cdf[i] = P(B <= first + i) for B ~ Binomial(n, p), over the window where the CDF
    is not (to floating precision) 0 or 1; below ``first`` it is 0, past the end 1."""
    mean, sd = n * p, math.sqrt(n * p * (1 - p))
    first = max(0, int(mean - _WINDOW_SD * sd) - 1)
    last = min(n, int(mean + _WINDOW_SD * sd) + 2)
    total, cdf = 0.0, []
    for k in range(first, last + 1):
        total += math.exp(_log_pmf(k, n, p))
        cdf.append(min(1.0, total))
    if last == n:
        cdf[-1] = 1.0
    return first, cdf


def percentile_interval(n: int, percentile: float, confidence: float = 0.95) -> Interval:
    """Equal-tailed, distribution-free ``confidence`` interval for the ``percentile`` (0-100) of n samples.

    B = the number of samples at or below the true quantile ~ Binomial(n, q). The lower bound x_(l) is
    above the quantile only if B < l, so l is the largest rank with P(B <= l - 1) <= alpha/2; the upper
    bound x_(u) is below it only if B >= u, so u is the smallest rank with P(B >= u) <= alpha/2."""
    if n <= 0:
        return Interval(0, 0, None, 0.0)
    q, tail = percentile / 100.0, (1.0 - confidence) / 2.0
    if q <= 0.0 or q >= 1.0:
        raise ValueError("percentile must be strictly between 0 and 100")
    first, cdf = binomial_cdf_table(n, q)

    def at(k: int) -> float:   # P(B <= k)
        if k < first:
            return 0.0
        index = k - first
        return cdf[index] if index < len(cdf) else 1.0

    low = 0
    # P(B <= l - 1) grows with l: walk up while it stays within the tail.
    for rank in range(max(1, first), n + 1):
        if at(rank - 1) <= tail:
            low = rank
        else:
            break
    high: int | None = None
    for rank in range(max(1, first), n + 1):
        if 1.0 - at(rank - 1) <= tail:     # P(B >= u) = 1 - P(B <= u - 1)
            high = rank
            break
    covered = (at(high - 1) if high is not None else 1.0) - (at(low - 1) if low >= 1 else 0.0)
    return Interval(n, low, high, round(covered, 6))


def value_at_rank_us(histogram: Any, rank: int, *, lowest: bool) -> int | None:
    """The ``rank``-th smallest recorded value (1-based) of an HdrHistogram, in its units (µs here).
    Values share buckets at 3 significant digits; ``lowest`` gives the bucket's lowest equivalent value
    (for a lower bound), else its highest (for an upper bound), so rounding never narrows the interval."""
    if rank < 1 or rank > histogram.get_total_count():
        return None
    seen = 0
    for item in histogram.get_recorded_iterator():
        seen += item.count_at_value_iterated_to
        if seen >= rank:
            value = item.value_iterated_to
            return int(histogram.get_lowest_equivalent_value(value)) if lowest \
                else int(histogram.get_highest_equivalent_value(value))
    return None


def interval_ms(histogram: Any, percentile: float = 95.0, confidence: float = 0.95
                ) -> tuple[float | None, float | None, Interval]:
    """(low_ms, high_ms, ranks) of the percentile's interval for the values in ``histogram`` (µs).
    low is 0.0 when no sample can bound it from below; high None when none can from above."""
    ranks = percentile_interval(histogram.get_total_count(), percentile, confidence)
    if ranks.n == 0:
        return None, None, ranks
    low_us = value_at_rank_us(histogram, ranks.low_rank, lowest=True) if ranks.low_rank else 0
    high_us = value_at_rank_us(histogram, ranks.high_rank, lowest=False) if ranks.high_rank else None
    return (round((low_us or 0) / 1000, 3), round(high_us / 1000, 3) if high_us is not None else None, ranks)


def minimum_samples(percentile: float, confidence: float = 0.95) -> int:
    """The fewest samples for which the interval has a finite upper end (72 for p95 at 95 %)."""
    q, tail = percentile / 100.0, (1.0 - confidence) / 2.0
    # x_(n) is above the quantile unless every sample is below it: P = q^n must be <= the tail.
    return math.ceil(math.log(tail) / math.log(q))


def sign_test_p(positive: int, negative: int) -> float:
    """Two-sided exact sign test: the probability of a split at least this uneven if either sign were
    equally likely (ties left out by the caller)."""
    n = positive + negative
    if n == 0:
        return 1.0
    k = min(positive, negative)
    tail = sum(math.comb(n, i) for i in range(k + 1)) / 2 ** n
    return min(1.0, 2 * tail)


def median(values: list[float]) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2
