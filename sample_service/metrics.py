"""RED metrics (rate, errors, duration) on a per-app CollectorRegistry.

A registry per app (not the global default) lets several apps live in one process, as in tests.
Names follow Prometheus conventions so `promtool check metrics` is clean: base units, _total only on
counters, snake_case, HELP on everything.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client import gc_collector, platform_collector, process_collector

# Buckets sized for an API whose p99 target is well under a second.
DURATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        process_collector.ProcessCollector(registry=self.registry)
        platform_collector.PlatformCollector(registry=self.registry)
        gc_collector.GCCollector(registry=self.registry)
        self.requests = Counter(
            "http_requests", "HTTP requests answered, by method, route template and status code.",
            ["method", "route", "status"], registry=self.registry)
        self.duration = Histogram(
            "http_request_duration_seconds", "Time to answer HTTP requests, by method and route template.",
            ["method", "route"], buckets=DURATION_BUCKETS, registry=self.registry)

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        self.requests.labels(method, route, str(status)).inc()
        self.duration.labels(method, route).observe(seconds)
