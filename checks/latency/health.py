"""The machine's health and the service's cost while the load runs, sampled from the auditor's own
process (a thread; the load runs in its subprocess) every SAMPLE_S: CPU busy and steal (/proc/stat via
psutil), tasks waiting to run (/proc/stat procs_running), load average, and the service's processes' CPU
time, RSS, open files and threads (serviceproc.py). ``summarise`` turns the samples of the measured
window into the report's figures and the saturation verdict; it is pure, so judging stays testable
from saved data.

Why these: a latency measured while the CPUs were busy with something else (a CI neighbour, a hog, the
generator itself) is partly the machine's delay. Busy share and runnable tasks per core say whether the
service and the generator had to wait for a CPU; steal says the hypervisor took it; load average is
reported for people used to it (it lags by a minute, so it decides nothing)."""

from __future__ import annotations

import itertools
import os
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import psutil

from checks.latency.serviceproc import ServiceRef

SAMPLE_S = 0.2
MAX_SERIES_POINTS = 120      # the report's time series is thinned to this many points
MB = 1024 * 1024


@dataclass
class Sample:
    t: float                                 # time.monotonic(), the same clock as the load process's
    busy: float                              # cumulative CPU seconds not idle (all cores, steal included)
    total: float                             # cumulative CPU seconds
    steal: float
    runnable: int | None                     # tasks running or waiting for a CPU, this sampler excluded
    load1: float
    service_cpu: dict[int, float] = field(default_factory=dict)   # pid -> cumulative CPU seconds
    rss: int | None = None                   # bytes, all service processes
    fds: int | None = None
    threads: int | None = None


def _procs_running() -> int | None:
    try:
        with open("/proc/stat", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("procs_running"):
                    return max(0, int(line.split()[1]) - 1)   # minus this sampler, which is running
    except (OSError, ValueError):
        return None
    return None


def take_sample(service: ServiceRef | None) -> Sample:
    cpu = psutil.cpu_times()
    fields = cpu._asdict()
    # guest time is already counted in user time (Linux), so it is left out of the total.
    total = sum(v for k, v in fields.items() if k not in ("guest", "guest_nice"))
    idle = fields.get("idle", 0.0) + fields.get("iowait", 0.0)
    sample = Sample(t=time.monotonic(), busy=total - idle, total=total, steal=fields.get("steal", 0.0),
                    runnable=_procs_running(), load1=os.getloadavg()[0])
    if service is not None and service.roots:
        rss = fds = threads = 0
        seen = False
        for proc in service.processes():
            try:
                with proc.oneshot():
                    times = proc.cpu_times()
                    sample.service_cpu[proc.pid] = times.user + times.system
                    rss += proc.memory_info().rss
                    threads += proc.num_threads()
                    fds += proc.num_fds() if hasattr(proc, "num_fds") else 0
                seen = True
            except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
                continue
        if seen:
            sample.rss, sample.fds, sample.threads = rss, fds, threads
    return sample


class Sampler:
    """Samples in a daemon thread until stop() or ``max_s`` (never outlives a bounded load)."""

    def __init__(self, service: ServiceRef | None, max_s: float, interval_s: float = SAMPLE_S) -> None:
        self.service, self.max_s, self.interval_s = service, max_s, interval_s
        self.samples: list[Sample] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="latency-health", daemon=True)

    def _run(self) -> None:
        end = time.monotonic() + self.max_s
        while not self._stop.is_set() and time.monotonic() < end:
            try:
                self.samples.append(take_sample(self.service))
            except (OSError, psutil.Error):
                pass   # a missed sample is a gap in the series, not a failed check
            self._stop.wait(self.interval_s)

    def __enter__(self) -> Sampler:
        self.samples.append(take_sample(self.service))
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=2.0)
        self.samples.append(take_sample(self.service))


def to_json(samples: list[Sample]) -> list[dict[str, Any]]:
    return [{"t": s.t, "busy": s.busy, "total": s.total, "steal": s.steal, "runnable": s.runnable, "load1": s.load1,
             "service_cpu": {str(k): v for k, v in s.service_cpu.items()}, "rss": s.rss, "fds": s.fds,
             "threads": s.threads} for s in samples]


def from_json(rows: list[dict[str, Any]]) -> list[Sample]:
    return [Sample(t=r["t"], busy=r["busy"], total=r["total"], steal=r["steal"], runnable=r["runnable"],
                   load1=r["load1"], service_cpu={int(k): v for k, v in r.get("service_cpu", {}).items()},
                   rss=r.get("rss"), fds=r.get("fds"), threads=r.get("threads")) for r in rows]


@dataclass
class Machine:
    """What judging needs of the machine's health (verdict.py)."""

    saturated: bool = False
    reasons: list[str] = field(default_factory=list)
    share: float = 1.0                      # the CPU share a runnable task got: cores / runnable, at most 1
    lag_ms: float = 0.0                     # the generator's timer lag p99: a wake-up delay any task saw
    service_starved: bool | None = None     # None: the service's CPU could not be seen


@dataclass
class Thresholds:
    cpu: float = 0.9
    runnable: float = 1.0
    steal: float = 0.1
    lag_ms: float = 20.0


def _window(samples: list[Sample], start: float | None, end: float | None) -> list[Sample]:
    """The samples bracketing the measured window (one before it and one after, when there are)."""
    if start is None or end is None or len(samples) < 2:
        return samples
    before = [s for s in samples if s.t <= start]
    inside = [s for s in samples if start < s.t < end]
    after = [s for s in samples if s.t >= end]
    picked = before[-1:] + inside + after[:1]
    return picked if len(picked) >= 2 else samples


def _service_cpu(window: list[Sample]) -> float | None:
    """CPU seconds of the service's processes over the window: per process, last minus first sight
    (a worker born inside the window counts from its birth, its first sight being near 0)."""
    first: dict[int, float] = {}
    last: dict[int, float] = {}
    for sample in window:
        for pid, cpu in sample.service_cpu.items():
            first.setdefault(pid, cpu if sample is window[0] else 0.0)
            last[pid] = cpu
    return round(sum(last[p] - first[p] for p in last), 4) if last else None


def summarise(samples: list[Sample], *, start: float | None, end: float | None, cores: int,
              generator_lag_ms: float | None, requests: int, thresholds: Thresholds,
              service: ServiceRef | None) -> tuple[dict[str, Any], dict[str, Any], list[dict[str, Any]], Machine]:
    """(machine, service, series, Machine) for the report and the verdicts."""
    window = _window(samples, start, end)
    machine: dict[str, Any] = {"cores": cores, "samples": len(window)}
    verdict = Machine(lag_ms=generator_lag_ms or 0.0)
    if len(window) >= 2:
        first, last = window[0], window[-1]
        wall = max(1e-6, last.t - first.t)
        total = max(1e-9, last.total - first.total)
        busy, steal = (last.busy - first.busy) / total, (last.steal - first.steal) / total
        running = [s.runnable for s in window if s.runnable is not None]
        runnable = sum(running) / len(running) if running else None
        machine.update({
            "window_s": round(wall, 2), "cpu_busy_percent": round(100 * busy, 1),
            "steal_percent": round(100 * steal, 2),
            "runnable_per_core": round(runnable / cores, 2) if runnable is not None else None,
            "load_avg_1m_start": round(first.load1, 2), "load_avg_1m_end": round(last.load1, 2),
            "load_avg_per_core": round(max(s.load1 for s in window) / cores, 2),
            "generator_scheduling_lag_p99_ms": generator_lag_ms,
        })
        reasons = []
        if busy >= thresholds.cpu:
            reasons.append(f"CPUs {100 * busy:.0f} % busy")
        if runnable is not None and runnable / cores > thresholds.runnable:
            reasons.append(f"{runnable / cores:.1f} tasks per core waiting to run")
        if steal >= thresholds.steal:
            reasons.append(f"{100 * steal:.0f} % CPU stolen by the hypervisor")
        if generator_lag_ms is not None and generator_lag_ms > thresholds.lag_ms:
            reasons.append(f"generator timers {generator_lag_ms:.0f} ms late (p99)")
        verdict.saturated, verdict.reasons = bool(reasons), reasons
        if runnable is not None and runnable > cores:
            verdict.share = round(cores / runnable, 3)
        elif runnable is None and busy >= thresholds.cpu:
            verdict.share = 0.5   # no run-queue figure (not Linux): assume two tasks per CPU
    machine["saturated"] = verdict.saturated
    machine["saturation_reasons"] = verdict.reasons
    cost = _service_cost(window, requests, service)
    if cost.get("cpu_percent") is not None:
        # Starved: the service used at least half of what one runnable task could get; its requests may
        # then have queued for the CPU, which no discount can undo.
        verdict.service_starved = cost["cpu_percent"] / 100 >= 0.5 * verdict.share
    return machine, cost, _series(window, start if start is not None else (window[0].t if window else 0.0)), \
        verdict


def _service_cost(window: list[Sample], requests: int, service: ServiceRef | None) -> dict[str, Any]:
    if service is None or not service.roots:
        return {"visible": False, "reason": service.unseen if service is not None else "not sampled"}
    seen = [s for s in window if s.rss is not None]
    cpu = _service_cpu(window)
    if len(seen) < 2 or cpu is None:
        return {"visible": False, "reason": "its processes ended or became unreadable during the load",
                "processes": service.how}
    wall = max(1e-6, window[-1].t - window[0].t)
    start, end = seen[0], seen[-1]
    return {
        "visible": True, "processes": service.how, "process_count": len(end.service_cpu),
        "requests": requests, "cpu_s": cpu, "cpu_percent": round(100 * cpu / wall, 1),
        "cpu_s_per_1000_requests": round(1000 * cpu / requests, 4) if requests else None,
        "rss_start_mb": round(start.rss / MB, 2), "rss_end_mb": round(end.rss / MB, 2),
        "rss_peak_mb": round(max(s.rss or 0 for s in seen) / MB, 2),
        "rss_growth_mb": round((end.rss - start.rss) / MB, 2),
        "fds_start": start.fds, "fds_end": end.fds, "threads_start": start.threads, "threads_end": end.threads,
    }


def _series(window: list[Sample], origin: float) -> list[dict[str, Any]]:
    """Per sample interval: machine CPU busy %, runnable tasks, the service's CPU % and RSS."""
    points = []
    for before, after in itertools.pairwise(window):
        span = max(1e-6, after.t - before.t)
        total = max(1e-9, after.total - before.total)
        service_cpu = None
        if after.service_cpu:
            service_cpu = sum(v - before.service_cpu.get(pid, v) for pid, v in after.service_cpu.items())
        points.append({"t_s": round(after.t - origin, 2),
                       "cpu_busy_percent": round(100 * (after.busy - before.busy) / total, 1),
                       "runnable": after.runnable,
                       "service_cpu_percent": round(100 * service_cpu / span, 1) if service_cpu is not None else None,
                       "service_rss_mb": round(after.rss / MB, 2) if after.rss is not None else None})
    step = max(1, -(-len(points) // MAX_SERIES_POINTS))
    return points[::step]
