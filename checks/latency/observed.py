"""What the check observed besides the load's own record — the machine's health and the service's
processes during the load (health.py), the connection cost measured before it (conncost.py) — and how
it becomes metrics and findings. Pure over the saved observations."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from auditor.model import Finding

from checks.latency import health
from checks.latency.config import LatencyConfig
from checks.latency.conncost import slower_side
from checks.latency.rules import make_finding
from checks.latency.serviceproc import ServiceRef


@dataclass
class Observed:
    samples: list[health.Sample] = field(default_factory=list)
    service: ServiceRef | None = None
    connection: list[dict[str, Any]] = field(default_factory=list)    # conncost rows, one per endpoint
    connection_note: str = ""                                          # why it was not measured
    cores: int = field(default_factory=lambda: os.cpu_count() or 1)


def thresholds(config: LatencyConfig) -> health.Thresholds:
    return health.Thresholds(cpu=config.saturation_cpu, runnable=config.saturation_runnable,
                             steal=config.max_steal, lag_ms=config.max_scheduling_lag_ms)


def machine_health(observed: Observed, window: tuple[float | None, float | None], lag_ms: float | None,
                   requests: int, config: LatencyConfig
                   ) -> tuple[dict[str, Any], dict[str, Any], list[dict[str, Any]], health.Machine]:
    if not observed.samples:
        machine = {"cores": observed.cores, "samples": 0, "saturated": False, "saturation_reasons": [],
                   "generator_scheduling_lag_p99_ms": lag_ms}
        verdict = health.Machine(lag_ms=lag_ms or 0.0)
        # Without samples only the generator's own timers can tell.
        if lag_ms is not None and lag_ms > config.max_scheduling_lag_ms:
            verdict.saturated = machine["saturated"] = True
            verdict.reasons = machine["saturation_reasons"] = [f"generator timers {lag_ms:.0f} ms late (p99)"]
        return machine, {"visible": False, "reason": "not sampled"}, [], verdict
    return health.summarise(observed.samples, start=window[0], end=window[1], cores=observed.cores,
                            generator_lag_ms=lag_ms, requests=requests, thresholds=thresholds(config),
                            service=observed.service)


def connection_findings(rows: list[dict[str, Any]], config: LatencyConfig, base_url: str) -> list[Finding]:
    """LAT004: one finding per endpoint whose fresh and kept-alive TTFB differ; one for the service when
    every measured endpoint does, the same way (the server does it, not an endpoint)."""
    slow = [(row, side) for row in rows if (side := slower_side(row, config.connection_cost_ms))]
    measured = [row for row in rows if row.get("pairs")]
    if not slow:
        return []

    def line(row: dict[str, Any], side: str) -> str:
        return (f"{row['method']} {row['path']}: median TTFB {row['kept_alive_ttfb_ms']:.1f} ms kept-alive vs "
                f"{row['fresh_ttfb_ms']:.1f} ms fresh ({row['pairs']} interleaved pairs, sign test p = "
                f"{row['sign_test_p']:.4f})")

    sides = {side for _, side in slow}
    if len(slow) == len(measured) and len(measured) > 1 and len(sides) == 1:
        side = sides.pop()
        other = "fresh" if side == "kept-alive" else "kept-alive"
        worst = max(abs(row["difference_ms"]) for row, _ in slow)
        return [make_finding(
            "LAT004", f"Every endpoint answers up to {worst:.0f} ms later on a {side} connection than on a {other} "
                      f"one ({len(slow)} endpoints): the server adds it, whatever the endpoint.",
            {"url": base_url}, evidence="; ".join(line(row, s) for row, s in slow[:5]),
            stable_location={"scope": "connections"})]
    findings = []
    for row, side in slow:
        other = "fresh" if side == "kept-alive" else "kept-alive"
        findings.append(make_finding(
            "LAT004", f"{row['method']} {row['path']} answers {abs(row['difference_ms']):.0f} ms later on a {side} "
                      f"connection than on a {other} one.",
            {"endpoint": f"{row['method']} {row['path']}"}, evidence=line(row, side)))
    return findings
