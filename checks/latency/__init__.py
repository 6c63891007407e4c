"""latency: latency under load — BEING BUILT (its issue); registered so the entry point resolves."""

from checks.latency.check import LatencyCheck

__all__ = ["LatencyCheck"]
