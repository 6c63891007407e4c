"""Judging, in pure functions over the load subprocess's saved result (no I/O): merge the per-process
HdrHistograms exactly, compute the contract metrics, apply the gates (gates.py: the p95 interval, the
rounds, the machine's health) and the "insufficient data" rules.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from auditor.model import Finding, Outcome, Status

from checks.latency import gates, hist, sizing
from checks.latency.config import MAX_DURATION_S, LatencyConfig
from checks.latency.gates import ms as _ms
from checks.latency.observed import Observed, connection_findings, machine_health
from checks.latency.rules import make_finding

GENERATOR = {"scope": "load generator"}   # stable location for findings about the generator itself


@dataclass
class Run:
    """What the check knew when it started the load (for judging and the method sentence)."""

    mode: str                      # open | closed | locustfile
    rate: float
    duration: float
    warmup: float
    workers: int
    base_url: str
    excluded: list[dict[str, str]] = field(default_factory=list)
    excluded_note: str = ""        # "5 excluded: 401 without credentials — give --header" (console line)
    probes: list[dict[str, str]] = field(default_factory=list)
    capped: list[str] = field(default_factory=list)   # settings lowered to the hard ceilings
    rounds: int = 1
    duration_source: str = "given"   # "sized" (sizing.py) or "given" (--load-duration or the config)
    needed_s: float = 0.0            # measured seconds that give every endpoint min_samples


@dataclass
class EndpointStats:
    name: str
    histogram: Any
    rounds: list[Any] = field(default_factory=list)   # one histogram per round (empty: a single round)
    requests: int = 0
    errors: int = 0
    throttled: int = 0
    statuses: dict[str, int] = field(default_factory=dict)
    error_samples: list[str] = field(default_factory=list)

    @property
    def method(self) -> str:
        return self.name.split(" ", 1)[0]

    @property
    def path(self) -> str:
        return self.name.split(" ", 1)[-1]

    @property
    def error_rate(self) -> float:
        return self.errors / self.requests if self.requests else 0.0


@dataclass
class Merged:
    endpoints: dict[str, EndpointStats]
    total: Any
    lag: Any
    scheduled: int = 0
    sent: int = 0
    late: int = 0
    dropped: int = 0
    unfinished: int = 0
    processes: list[dict[str, Any]] = field(default_factory=list)
    series: list[dict[str, Any]] = field(default_factory=list)
    timer_lag: Any = field(default_factory=hist.new)
    window_start: float | None = None      # time.monotonic() of the measured window, earliest process
    window_end: float | None = None


def merge(processes: list[dict[str, Any]]) -> Merged:
    """Exact merge of every process's record: histograms decoded and added, counters summed."""
    endpoints: dict[str, EndpointStats] = {}
    lag = hist.new()
    merged = Merged(endpoints=endpoints, total=hist.new(), lag=lag)
    series: dict[int, dict[str, Any]] = {}
    for proc in processes:
        for name, data in proc.get("endpoints", {}).items():
            stats = endpoints.get(name) or endpoints.setdefault(name, EndpointStats(name, hist.new()))
            stats.histogram.add(hist.decode(data["hist"]))
            for index, text in enumerate(data.get("rounds", [])):
                while len(stats.rounds) <= index:
                    stats.rounds.append(hist.new())
                stats.rounds[index].add(hist.decode(text))
            stats.requests += int(data["requests"])
            stats.errors += int(data["errors"])
            stats.throttled += int(data.get("throttled", 0))
            for status, n in data.get("statuses", {}).items():
                stats.statuses[status] = stats.statuses.get(status, 0) + int(n)
            for sample in data.get("error_samples", []):
                if sample not in stats.error_samples and len(stats.error_samples) < 3:
                    stats.error_samples.append(sample)
        lag.add(hist.decode(proc["lag"]))
        if proc.get("timer_lag"):
            merged.timer_lag.add(hist.decode(proc["timer_lag"]))
        start, end = proc.get("window_start_mono"), proc.get("window_end_mono")
        if start is not None:
            merged.window_start = min(start, merged.window_start if merged.window_start is not None else start)
        if end is not None:
            merged.window_end = max(end, merged.window_end if merged.window_end is not None else end)
        for key in ("scheduled", "sent", "late", "dropped", "unfinished"):
            setattr(merged, key, getattr(merged, key) + int(proc.get(key, 0)))
        for second, bucket in proc.get("series", {}).items():
            slot = series.get(int(second)) or series.setdefault(int(second), _slot())
            slot["hist"].add(hist.decode(bucket["hist"]))
            slot["requests"] += int(bucket["requests"])
            slot["errors"] += int(bucket["errors"])
        for second, n in proc.get("completed_series", {}).items():
            slot = series.get(int(second)) or series.setdefault(int(second), _slot())
            slot["completed"] += int(n)
        cpu_s, wall_s = float(proc.get("cpu_s", 0.0)), float(proc.get("wall_s", 0.0))
        merged.processes.append({"process": f"{proc.get('role', 'local')} {proc.get('index', 0)}",
                                 "cpu_s": round(cpu_s, 3), "wall_s": round(wall_s, 3),
                                 "cpu_percent": round(100 * cpu_s / wall_s, 1) if wall_s > 0 else None})
    for stats in endpoints.values():
        merged.total.add(stats.histogram)
    for second in sorted(series):
        slot = series[second]
        summary = hist.summary_ms(slot["hist"])
        merged.series.append({"t_s": second, "requests": slot["requests"], "completed": slot["completed"],
                              "errors": slot["errors"], "p50_ms": summary["p50_ms"], "p95_ms": summary["p95_ms"],
                              "max_ms": summary["max_ms"]})
    return merged


def _slot() -> dict[str, Any]:
    return {"hist": hist.new(hist.COARSE_FIGURES), "requests": 0, "errors": 0, "completed": 0}


def budgets_for(name: str, config: LatencyConfig) -> tuple[float, float]:
    override = config.endpoints.get(name)
    p95 = override.p95_ms if override is not None and override.p95_ms is not None else config.p95_ms
    errors = override.error_rate if override is not None and override.error_rate is not None else config.error_rate
    return p95, errors


def judge(result: dict[str, Any], config: LatencyConfig, run: Run, observed: Observed | None = None) -> Outcome:
    observed = observed or Observed()
    if run.mode == "closed":
        return _judge_capacity(result, config, run)
    merged = merge(result.get("processes", []))
    if result.get("master"):
        master = result["master"]
        wall = float(master.get("wall_s") or 0)
        merged.processes.append({"process": "master", "cpu_s": round(float(master.get("cpu_s") or 0), 3),
                                 "wall_s": round(wall, 3),
                                 "cpu_percent": round(100 * float(master.get("cpu_s") or 0) / wall, 1) if wall else None})
    requests = sum(s.requests for s in merged.endpoints.values())
    throttled = sum(s.throttled for s in merged.endpoints.values())
    insufficient: list[str] = []
    # Generator trouble first: a latency over budget measured by a lagging generator says so.
    findings: list[Finding] = _generator_findings(result, merged, config, run, insufficient, throttled, requests)
    caveat = ""
    if {"LAT011", "LAT012"} & {f.rule_id for f in findings}:
        caveat = (" The load generator itself was late or saturated during the run (see LAT011/LAT012), so part "
                  "of this may be its own delay.")
    timer = hist.summary_ms(merged.timer_lag)
    machine, service, health_series, machine_verdict = machine_health(
        observed, (merged.window_start, merged.window_end), timer["p99_ms"], requests + throttled, config)
    gated = gates.evaluate(merged, config, run, machine_verdict, caveat, budgets_for)
    findings += gated.findings
    findings += connection_findings(observed.connection, config, run.base_url)
    insufficient += gated.insufficient
    total = hist.summary_ms(merged.total)
    errors = sum(s.errors for s in merged.endpoints.values())
    lag = hist.summary_ms(merged.lag)
    if not requests:
        insufficient.append("no request was measured")
    if run.mode != "open":
        findings.append(make_finding(
            "LAT015", "These figures come from your locustfile's users (a closed model): latency is measured "
            "from each request's actual send time, so stalls that slow the users down are under-reported; "
            "the p95 budget is not applied to them (the error budget is).", {"url": run.base_url}, stable_location=GENERATOR))
    whole = gates.overall(merged)
    metrics: dict[str, Any] = {
        "method": _method_sentence(run, config),
        "mode": run.mode,
        "p50_ms": total["p50_ms"], "p95_ms": total["p95_ms"], "p99_ms": total["p99_ms"], "max_ms": total["max_ms"],
        "p95_ci_ms": whole["p95_ci_ms"], "confidence": gates.CONFIDENCE,
        "rps": round(requests / run.duration, 2) if run.duration else None,
        "requests": requests,
        "error_rate": round(errors / requests, 4) if requests else 0.0,
        "target_rate": run.rate if run.mode == "open" else None,
        "duration_s": run.duration, "duration_source": run.duration_source, "warmup_s": run.warmup,
        "workers": run.workers, "min_samples": config.min_samples,
        "p95_budget_ms": config.p95_ms, "error_budget": config.error_rate,
        "round_count": run.rounds, "rounds": whole["rounds"], "round_spread_ms": whole["round_spread_ms"],
        "scheduled": merged.scheduled, "sent": merged.sent, "late": merged.late, "dropped": merged.dropped,
        "unfinished": merged.unfinished, "throttled": throttled,
        "schedule_lag_p50_ms": lag["p50_ms"], "schedule_lag_p99_ms": lag["p99_ms"],
        "schedule_lag_max_ms": lag["max_ms"],
        "generator_cpu_percent": max((p["cpu_percent"] or 0.0 for p in merged.processes), default=None),
        "generator_processes": merged.processes,
        "machine": machine, "service": service, "health_timeseries": health_series,
        "insufficient_data": insufficient, "inconclusive": gated.inconclusive,
        "endpoints": gated.rows,
        "timeseries": merged.series,
    }
    if observed.connection or observed.connection_note:
        metrics["connection_cost"] = observed.connection
        if observed.connection_note:
            metrics["connection_cost_note"] = observed.connection_note
    metrics["not_verified"] = _not_verified(insufficient, gated.inconclusive, machine, run)
    if run.excluded:
        metrics["excluded"] = run.excluded
    if run.capped:
        metrics["capped"] = run.capped
    status = Status.WARN if insufficient or gated.inconclusive else None
    return Outcome(summary=_summary(metrics, findings, run, insufficient), metrics=metrics, findings=findings,
                   status=status)


def _not_verified(insufficient: list[str], inconclusive: list[str], machine: dict[str, Any], run: Run
                  ) -> list[dict[str, str]]:
    """What the report's "not verified" list says for this check (reports/digest.py reads it)."""
    out = []
    short = [line for line in insufficient if ": " in line and line.endswith("samples")]
    if short:
        out.append({"what": f"latency not judged on {len(short)} endpoint{'s' if len(short) != 1 else ''}: too few "
                            "samples", "action": sizing_hint(run)})
    if len(short) < len(insufficient):
        out.append({"what": "latency figures not trusted: " + "; ".join(i for i in insufficient if i not in short),
                    "action": "see the latency check's low findings (LAT011-LAT014)"})
    if inconclusive:
        action = ("re-run on a machine with CPU to spare" if machine.get("saturated")
                  else "raise --load-duration for a narrower interval")
        out.append({"what": f"latency inconclusive on {len(inconclusive)} endpoint"
                            f"{'s' if len(inconclusive) != 1 else ''}", "action": action})
    return out


def sizing_hint(run: Run) -> str:
    return sizing.hint(run.needed_s, MAX_DURATION_S) if run.needed_s else "raise --load-duration or check fewer endpoints"


def _generator_findings(result: dict[str, Any], merged: Merged, config: LatencyConfig, run: Run,
                        insufficient: list[str], throttled: int, requests: int) -> list[Finding]:
    where = {"url": run.base_url}
    findings: list[Finding] = []
    if result.get("interrupted"):
        insufficient.append("interrupted")
        findings.append(make_finding("LAT014", "The load was stopped before the run finished; the figures "
                                     "cover only the part that ran.", where, stable_location=GENERATOR))
    if run.mode == "open" and merged.scheduled:
        late_ratio = merged.late / merged.scheduled
        if merged.dropped or late_ratio > config.max_late_ratio:
            insufficient.append("generator could not hold the rate")
            findings.append(make_finding(
                "LAT011", f"Of {merged.scheduled} requests scheduled at {run.rate:g} req/s, {merged.late} were "
                f"sent more than {config.late_ms:g} ms late and {merged.dropped} were never sent.", where,
                evidence=f"schedule lag p99 {_ms(hist.summary_ms(merged.lag)['p99_ms'])}, max "
                         f"{_ms(hist.summary_ms(merged.lag)['max_ms'])}", stable_location=GENERATOR))
    busy = [p for p in merged.processes if (p["cpu_percent"] or 0) >= 100 * config.max_generator_cpu]
    if busy:
        insufficient.append("generator CPU saturated")
        findings.append(make_finding(
            "LAT012", f"{len(busy)} load generator process(es) used at least "
            f"{100 * config.max_generator_cpu:.0f} % of a core, so measured latency includes the generator's "
            "own queueing.", where,
            evidence="; ".join(f"{p['process']}: {p['cpu_percent']} % CPU" for p in busy), stable_location=GENERATOR))
    offered = requests + throttled
    if throttled and throttled / offered > config.max_throttled_ratio:
        insufficient.append("service rate-limited the generator")
        findings.append(make_finding(
            "LAT013", f"{throttled} of {offered} requests were answered 429 (rate limited) and are left out "
            "of the percentiles.", where, stable_location=GENERATOR))
    return findings


def _judge_capacity(result: dict[str, Any], config: LatencyConfig, run: Run) -> Outcome:
    """Closed-model ramp: the highest throughput whose p95 and error rate stayed within budget."""
    steps: list[dict[str, Any]] = []
    breached_at: dict[str, Any] | None = None
    for step in result.get("steps", []):
        merged = merge([step])
        summary = hist.summary_ms(merged.total)
        requests = sum(s.requests for s in merged.endpoints.values())
        errors = sum(s.errors for s in merged.endpoints.values())
        wall = float(step.get("wall_s") or 0) or 1.0
        row = {"users": int(step.get("users", 0)), "rps": round(requests / wall, 2), "requests": requests,
               "p50_ms": summary["p50_ms"], "p95_ms": summary["p95_ms"], "p99_ms": summary["p99_ms"],
               "error_rate": round(errors / requests, 4) if requests else 0.0,
               "cpu_percent": merged.processes[0]["cpu_percent"] if merged.processes else None}
        row["within_budget"] = bool(requests) and (row["p95_ms"] or 0) <= config.p95_ms \
            and row["error_rate"] <= config.error_rate
        steps.append(row)
        if not row["within_budget"]:
            breached_at = row
    within = [s for s in steps if s["within_budget"]]
    capacity = max((s["rps"] for s in within), default=0.0)
    findings: list[Finding] = [make_finding(
        "LAT015", "Capacity mode uses a closed model (users wait for each answer): good for \"how much "
        "throughput before p95 breaks\", not for gating latency.", {"url": run.base_url},
        stable_location=GENERATOR)]
    insufficient: list[str] = []
    if result.get("interrupted"):
        insufficient.append("interrupted")
        findings.append(make_finding("LAT014", "The capacity ramp was stopped before it finished.",
                                     {"url": run.base_url}, stable_location=GENERATOR))
    if not steps:
        insufficient.append("no ramp step completed")
    if breached_at is not None and capacity < run.rate:
        findings.append(make_finding(
            "LAT003", f"Throughput peaked at {capacity:g} req/s within budget (p95 ≤ {config.p95_ms:g} ms, "
            f"errors ≤ {100 * config.error_rate:g} %), below the {run.rate:g} req/s target: with "
            f"{breached_at['users']} users p95 was {_ms(breached_at['p95_ms'])} and "
            f"{100 * breached_at['error_rate']:.1f} % failed.", {"url": run.base_url},
            stable_location={"scope": "capacity"}))
    last = steps[-1] if steps else {}
    merged_last = merge(result["steps"][-1:]) if result.get("steps") else merge([])
    rows = []
    for name in sorted(merged_last.endpoints):
        stats = merged_last.endpoints[name]
        summary = hist.summary_ms(stats.histogram)
        rows.append({"method": stats.method, "path": stats.path, "requests": stats.requests,
                     "p50_ms": summary["p50_ms"], "p95_ms": summary["p95_ms"], "p99_ms": summary["p99_ms"],
                     "max_ms": summary["max_ms"], "error_rate": round(stats.error_rate, 4)})
    metrics: dict[str, Any] = {
        "method": _method_sentence(run, config), "mode": "closed",
        "p50_ms": last.get("p50_ms"), "p95_ms": last.get("p95_ms"), "p99_ms": last.get("p99_ms"),
        "rps": last.get("rps"), "requests": sum(s["requests"] for s in steps),
        "error_rate": last.get("error_rate", 0.0),
        "capacity_rps": capacity, "capacity_limited": breached_at is not None, "target_rate": run.rate,
        "p95_budget_ms": config.p95_ms, "error_budget": config.error_rate,
        "steps": steps, "insufficient_data": insufficient, "endpoints": rows,
    }
    limit = "" if breached_at is not None else " (budget never broken: at least this much)"
    summary = (f"capacity {capacity:g} req/s within p95 {config.p95_ms:g} ms{limit}; "
               f"{len(steps)} ramp steps up to {last.get('users', 0)} users (closed model)")
    if run.excluded_note:
        summary += f"; {run.excluded_note}"
    return Outcome(summary=summary, metrics=metrics, findings=findings,
                   status=Status.WARN if insufficient else None)


def _summary(metrics: dict[str, Any], findings: list[Finding], run: Run, insufficient: list[str]) -> str:
    note = f"; {run.excluded_note}" if run.excluded_note else ""
    if not metrics["requests"]:
        return "insufficient data: no request was measured" + (f" ({'; '.join(insufficient)})" if insufficient
                                                              else "") + note
    over = sorted({f.location.get("endpoint", "") for f in findings if f.rule_id in ("LAT001", "LAT002")})
    low, high = (metrics.get("p95_ci_ms") or [None, None])[:2]
    interval = f" [95 % interval {gates.interval_text(low, high)}]" if low is not None else ""
    text = (f"p95 {_ms(metrics['p95_ms'])}{interval} (budget {metrics['p95_budget_ms']:g} ms), "
            f"{100 * metrics['error_rate']:.1f} % errors over {metrics['requests']} requests at "
            f"{metrics['rps']:g} req/s{f' in {run.rounds} rounds' if run.rounds > 1 else ''} on "
            f"{len(metrics['endpoints'])} endpoint{'s' if len(metrics['endpoints']) != 1 else ''}{note}")
    if run.mode == "locustfile":
        text += " (your locustfile, closed model)"
    if over:
        text += f"; over budget: {', '.join(over[:3])}" + (f" and {len(over) - 3} more" if len(over) > 3 else "")
    inconclusive = metrics.get("inconclusive") or []
    if inconclusive:
        text += f"; inconclusive: {', '.join(i.split(': ', 1)[0] for i in inconclusive[:3])}" + (
            f" and {len(inconclusive) - 3} more" if len(inconclusive) > 3 else "")
    short = [i for i in insufficient if i.endswith("samples")]
    if short:
        text += (f"; insufficient data: {len(short)} endpoint{'s' if len(short) != 1 else ''} under "
                 f"{metrics['min_samples']} samples — {sizing_hint(run)}")
    others = [i for i in insufficient if i not in short]
    if others:
        text += f"; insufficient data: {'; '.join(others[:3])}"
    machine = metrics.get("machine") or {}
    if machine.get("saturated"):
        text += f"; measured on a saturated machine ({', '.join(machine.get('saturation_reasons') or [])})"
    return text


def _method_sentence(run: Run, config: LatencyConfig) -> str:
    if run.mode == "closed":
        return (f"Closed-model capacity ramp with locust FastHttpUser: 1, 2, 4, ... users (at most "
                f"{config.max_users}), each step {config.step_duration:g} s after {config.step_warmup:g} s "
                f"excluded, until p95 > {config.p95_ms:g} ms or errors > {100 * config.error_rate:g} %; "
                "per-endpoint HdrHistograms.")
    if run.mode == "locustfile":
        return (f"Your locustfile's users on locust, {config.locust_users} users for {run.duration:g} s after "
                f"{run.warmup:g} s warm-up (excluded); every request's raw time recorded from locust's "
                "request event into per-endpoint HdrHistograms (closed model).")
    remote = config.remote_workers
    where = (f"{run.workers} local{f' and {remote} remote' if remote else ''} locust worker processes under a "
             "master") if run.workers or remote else "one locust process"
    length = (f"{run.duration:g} s (sized for at least {config.min_samples} samples per endpoint)"
              if run.duration_source == "sized" else f"{run.duration:g} s")
    return (f"Open model: {run.rate:g} requests per second at fixed intended send times for {length} "
            f"after {run.warmup:g} s warm-up (excluded), in {run.rounds} consecutive round"
            f"{'s' if run.rounds != 1 else ''}, spread over the spec's GET operations by weight (smooth "
            f"round-robin), sent from {where} over kept-alive connections (geventhttpclient's pool, the client "
            "under locust's FastHttpUser); latency from each request's intended send time (no coordinated "
            "omission) into per-endpoint HdrHistograms (3 significant digits, merged exactly across processes); "
            "p95 with a distribution-free 95 % interval (order statistics) — a fail needs its lower end over the "
            "budget in every round; 429 answers counted apart; schedule lag, the generator's CPU, the machine's "
            "health and the service's own cost sampled.")
