"""The per-endpoint gates over the merged result: p95 against its budget through its confidence interval,
its rounds and the machine's health (verdict.py), and the error rate. Pure."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from auditor.defects import server_error_defect
from auditor.model import Finding

from checks.latency import hist, sizing
from checks.latency.config import MAX_DURATION_S, LatencyConfig
from checks.latency.health import Machine
from checks.latency.rules import make_finding
from checks.latency.stats import interval_ms
from checks.latency.verdict import FAIL, INCONCLUSIVE, INSUFFICIENT, judge_p95

PERCENTILE = 95.0
CONFIDENCE = 0.95


@dataclass
class Gated:
    rows: list[dict[str, Any]] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    insufficient: list[str] = field(default_factory=list)   # "GET /a: 40 samples"
    inconclusive: list[str] = field(default_factory=list)   # "GET /a: interval 85-130 ms straddles 100 ms"


def ms(value: float | None) -> str:
    if value is None:
        return "n/a"
    return f"{value:.0f} ms" if value >= 10 else f"{value:.1f} ms"


def interval_text(low: float | None, high: float | None) -> str:
    """ "14.8–15.4 ms": one decimal below 100 ms, so a narrow interval does not print as "15–15"."""
    def num(value: float) -> str:
        return f"{value:.0f}" if value >= 100 else f"{value:.1f}"
    if low is None:
        return "n/a"
    return f"{num(low)}–{num(high)} ms" if high is not None else f"{num(low)} ms–unbounded"


def rounds_p95(stats: Any) -> list[float | None]:
    parts = stats.rounds if len(stats.rounds) > 1 else [stats.histogram]
    return [hist.summary_ms(part)["p95_ms"] for part in parts]


def spread(values: list[float | None]) -> float | None:
    seen = [v for v in values if v is not None]
    return round(max(seen) - min(seen), 3) if len(seen) > 1 else None


def evaluate(merged: Any, config: LatencyConfig, run: Any, machine: Machine, caveat: str,
             budgets_for: Any) -> Gated:
    """Rows for metrics["endpoints"] and the endpoint findings (LAT001, LAT002, LAT010, LAT016, LAT017)."""
    out = Gated()
    gated = run.mode == "open"
    for name in sorted(merged.endpoints):
        stats = merged.endpoints[name]
        summary = hist.summary_ms(stats.histogram)
        low, high, _ranks = interval_ms(stats.histogram, PERCENTILE, CONFIDENCE)
        by_round = rounds_p95(stats)
        p95_budget, error_budget = budgets_for(name, config)
        verdict = judge_p95(requests=stats.requests, low_ms=low, high_ms=high, rounds_p95=by_round,
                            budget_ms=p95_budget, min_samples=config.min_samples, gated=gated, machine=machine)
        out.rows.append({"method": stats.method, "path": stats.path, "requests": stats.requests,
                         "p50_ms": summary["p50_ms"], "p95_ms": summary["p95_ms"], "p99_ms": summary["p99_ms"],
                         "max_ms": summary["max_ms"], "error_rate": round(stats.error_rate, 4),
                         "rps": round(stats.requests / run.duration, 2) if run.duration else None,
                         "throttled": stats.throttled, "p95_budget_ms": p95_budget,
                         "p95_ci_ms": [low, high], "rounds_p95_ms": by_round, "round_spread_ms": spread(by_round),
                         "verdict": verdict.state})
        location = {"endpoint": name}
        figures = (f"p50 {ms(summary['p50_ms'])} · p95 {ms(summary['p95_ms'])} (95 % interval "
                   f"{interval_text(low, high)}) · p99 {ms(summary['p99_ms'])} · max {ms(summary['max_ms'])} "
                   f"over {stats.requests} requests")
        rounds_text = (f"; rounds: {', '.join(ms(p) for p in by_round)}" if len(by_round) > 1 else "")
        evidence = f"{figures}{rounds_text}; open model, latency from the intended send time"
        if verdict.state == INSUFFICIENT:
            out.insufficient.append(f"{name}: {stats.requests} samples")
            out.findings.append(make_finding(
                "LAT010", f"{name} got {stats.requests} measured requests, fewer than min_samples = "
                f"{config.min_samples}: its percentiles are not judged ({figures}); "
                f"{sizing.hint(run.needed_s, MAX_DURATION_S) if run.needed_s else 'run longer'}.", location,
                evidence=figures))
        elif verdict.state == FAIL:
            note = f" Measured on a saturated machine; {verdict.reason}." if verdict.saturated else ""
            out.findings.append(make_finding(
                "LAT001", f"{name} answered with p95 {ms(summary['p95_ms'])} (95 % interval {interval_text(low, high)})"
                f" under a steady {run.rate:g} req/s (all endpoints), over the {p95_budget:g} ms budget: the "
                f"interval's lower end is over it{' in every round' if len(by_round) > 1 else ''}.{note}{caveat}",
                location, evidence=evidence))
        elif verdict.state == INCONCLUSIVE:
            rule = "LAT017" if verdict.saturated and low is not None and low > p95_budget else "LAT016"
            where = (f" Measured on a saturated machine ({'; '.join(machine.reasons)})."
                     if machine.saturated else "")
            out.inconclusive.append(f"{name}: p95 {ms(summary['p95_ms'])}, interval {interval_text(low, high)} "
                                    f"vs {p95_budget:g} ms ({verdict.reason})")
            out.findings.append(make_finding(
                rule, f"{name}: p95 {ms(summary['p95_ms'])}, 95 % interval {interval_text(low, high)} against the "
                f"{p95_budget:g} ms budget — inconclusive: {verdict.reason}{rounds_text}.{where}", location,
                evidence=evidence))
        if stats.errors and stats.error_rate > error_budget:
            out.findings.append(_errors(name, stats, error_budget, location))
    return out


def _errors(name: str, stats: Any, error_budget: float, location: dict[str, Any]) -> Finding:
    every = "every request failed" if stats.errors == stats.requests else \
        f"{stats.errors} of {stats.requests} requests failed"
    finding = make_finding(
        "LAT002", f"{name}: {every} ({100 * stats.error_rate:.1f} %, budget {100 * error_budget:g} %).",
        location, evidence="; ".join(stats.error_samples) or _statuses(stats.statuses))
    if _mostly_server_errors(stats.statuses, stats.errors):
        finding.defect = server_error_defect(name)  # the openapi check's OAS101 is the same defect
    return finding


def _mostly_server_errors(statuses: dict[str, int], errors: int) -> bool:
    server = sum(n for status, n in statuses.items() if str(status).startswith("5"))
    return errors > 0 and server * 2 > errors


def _statuses(statuses: dict[str, int]) -> str:
    return ", ".join(f"{k}: {v}" for k, v in sorted(statuses.items(), key=lambda kv: -kv[1]))


def overall(merged: Any) -> dict[str, Any]:
    """The interval of p95 over every request, and each round's figures over every endpoint."""
    low, high, _ = interval_ms(merged.total, PERCENTILE, CONFIDENCE)
    count = max((len(s.rounds) for s in merged.endpoints.values()), default=1)
    rounds = []
    if count > 1:
        for index in range(count):
            part = hist.new()
            for stats in merged.endpoints.values():
                if index < len(stats.rounds):
                    part.add(stats.rounds[index])
            summary = hist.summary_ms(part)
            rounds.append({"round": index + 1, "requests": summary["count"], "p50_ms": summary["p50_ms"],
                           "p95_ms": summary["p95_ms"], "p99_ms": summary["p99_ms"]})
    return {"p95_ci_ms": [low, high], "rounds": rounds, "round_spread_ms": spread([r["p95_ms"] for r in rounds])}
