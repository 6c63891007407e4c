"""HdrHistogram helpers shared by the load subprocess and the judging side (imports only ``hdrh``).

Values are recorded in microseconds; percentiles come back in milliseconds. Histograms travel as
HdrHistogram's own compressed base64 encoding, so merging across workers is exact (decode + add),
not an average of percentiles.
"""

from __future__ import annotations

from hdrh.histogram import HdrHistogram

LOWEST_US = 1
HIGHEST_US = 3_600_000_000  # one hour: any latency a bounded run can produce
SIGNIFICANT_FIGURES = 3     # 0.1 % resolution at every magnitude
COARSE_FIGURES = 2          # per-second time-series buckets: 1 % resolution is plenty for a chart


def new(figures: int = SIGNIFICANT_FIGURES) -> HdrHistogram:
    return HdrHistogram(LOWEST_US, HIGHEST_US, figures)


def record_s(histogram: HdrHistogram, seconds: float) -> None:
    """Record a duration given in seconds (clamped into the trackable range)."""
    histogram.record_value(min(HIGHEST_US, max(LOWEST_US, round(seconds * 1_000_000))))


def encode(histogram: HdrHistogram) -> str:
    return histogram.encode().decode("ascii")


def decode(text: str) -> HdrHistogram:
    return HdrHistogram.decode(text.encode("ascii"))


def merge(encoded: list[str], figures: int = SIGNIFICANT_FIGURES) -> HdrHistogram:
    """Exact merge of encoded histograms (counts add up bucket by bucket)."""
    total = new(figures)
    for text in encoded:
        total.add(decode(text))
    return total


def summary_ms(histogram: HdrHistogram) -> dict[str, float | int | None]:
    """count, p50/p95/p99/max in ms (None when empty: a percentile of nothing is not 0)."""
    count = histogram.get_total_count()
    if not count:
        return {"count": 0, "p50_ms": None, "p95_ms": None, "p99_ms": None, "max_ms": None}

    def ms(value_us: int) -> float:
        return round(value_us / 1000, 3)

    return {"count": count,
            "p50_ms": ms(histogram.get_value_at_percentile(50)),
            "p95_ms": ms(histogram.get_value_at_percentile(95)),
            "p99_ms": ms(histogram.get_value_at_percentile(99)),
            "max_ms": ms(histogram.get_max_value())}
