"""Generator capacity of the latency check against a trivial loopback endpoint (an asyncio server in its own
process, so its CPU is not counted): requests per generator CPU-second, next to locust's own closed-model
FastHttpUser on the same server (goal: at least 0.8x of it), and achieved throughput with 0 (in-process),
1 and 2 locust workers at a rate one process cannot hold. Prints measured figures.

    python benchmarks/latency_capacity.py [--rate 2000] [--duration 5] [--repeat 3]

On a shared 2-core machine the server, the generator(s) and everything else compete for the same cores:
read the CPU columns before the throughput ones.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
from pathlib import Path

from latency_common import TrivialServer, closed_locust

from checks.latency import LatencyCheck
from checks.latency.config import LatencyConfig
from tests.conftest import check_context


def open_model(server: TrivialServer, *, rate: float, duration: float, workers: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        spec = Path(tmp) / "openapi.json"
        spec.write_text(json.dumps(server.spec()))
        config = LatencyConfig(rate=rate, duration=duration, warmup=1.0, workers=workers, p95_ms=10_000)
        ctx = check_context(server.url, config, Path(tmp), spec=str(spec), seconds=duration + 120)
        with ctx.http:
            return LatencyCheck().run(ctx).metrics


def direct_open(server: TrivialServer, *, rate: float, duration: float) -> dict:
    from checks.latency import hist
    from checks.latency.judge import merge
    from checks.latency.launcher import run_load

    job = {"mode": "open", "host": server.url, "headers": {}, "targets": [{"name": "GET /a", "path": "/a",
           "weight": 1}], "rate": rate, "duration": duration, "warmup": 1.0, "workers": 0, "request_timeout": 10,
           "connect_timeout": 3, "max_in_flight": 500, "late_ms": 25}
    with tempfile.TemporaryDirectory() as tmp:
        result = run_load(job, Path(tmp), should_stop=lambda: False, budget_s=duration + 60)
    merged = merge(result["processes"])
    summary = hist.summary_ms(merged.total)
    return {"requests": sum(s.requests for s in merged.endpoints.values()),
            "cpu_s": sum(p["cpu_s"] for p in result["processes"]), "p50_ms": summary["p50_ms"],
            "p95_ms": summary["p95_ms"]}


def _row(name: str, requests: int, wall_s: float, cpu_s: float, p50: object, p95: object) -> tuple[float, str]:
    per_cpu = requests / cpu_s if cpu_s else 0.0
    return per_cpu, (f"| {name} | {requests} | {requests / wall_s:.0f} | {cpu_s:.2f} | {per_cpu:.0f} | {p50} | "
                     f"{p95} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=2000.0)
    parser.add_argument("--duration", type=float, default=5.0)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(f"cores: {os.cpu_count()}, load average: {', '.join(f'{x:.2f}' for x in os.getloadavg())}")
    with TrivialServer() as server:
        print(f"\n## Requests per generator CPU-second (trivial endpoint, loopback; median of {args.repeat} "
              "interleaved runs)")
        print("| generator | requests | req/s | generator CPU s | requests per CPU-second | p50 ms | p95 ms |")
        print("|---|---|---|---|---|---|---|")
        runs: dict[str, list[tuple[float, str]]] = {"closed": [], "paced": [], "open": []}
        for _ in range(args.repeat):
            closed = closed_locust(server.url, "/a", users=10, duration=args.duration)
            runs["closed"].append(_row("locust closed model, FastHttpUser x10, no wait", closed["requests"],
                                       closed["wall_s"], closed["cpu_s"], closed["p50_ms"], closed["p95_ms"]))
            paced = closed_locust(server.url, "/a", users=10, duration=args.duration, per_user_rate=args.rate / 10)
            runs["paced"].append(_row(f"locust closed model, FastHttpUser x10 paced to {args.rate:g} req/s",
                                      paced["requests"], paced["wall_s"], paced["cpu_s"], paced["p50_ms"],
                                      paced["p95_ms"]))
            m = open_model(server, rate=args.rate, duration=args.duration, workers=0)
            cpu = sum(p["cpu_s"] for p in m["generator_processes"])
            runs["open"].append(_row(f"this check, open model at {args.rate:g} req/s, 1 process", m["requests"],
                                     args.duration, cpu, m["p50_ms"], m["p95_ms"]))
        # The same open-model engine at the unpaced closed model's throughput (above the check's 2000 req/s
        # ceiling, so straight through the launcher): per-request cost at equal throughput.
        peak = sorted(r[0] for r in runs["closed"])[len(runs["closed"]) // 2]
        target = round(sorted(float(r[1].split(" | ")[2]) for r in runs["closed"])[len(runs["closed"]) // 2], -2)
        runs["open_peak"] = []
        for _ in range(args.repeat):
            m = direct_open(server, rate=target, duration=args.duration)
            runs["open_peak"].append(_row(f"this engine, open model at {target:g} req/s (launcher, no ceiling)",
                                          m["requests"], args.duration, m["cpu_s"], m["p50_ms"], m["p95_ms"]))
        medians = {}
        for key, rows in runs.items():
            ranked = sorted(rows)
            medians[key] = ranked[len(ranked) // 2][0]
            print(ranked[len(ranked) // 2][1])
        print(f"\nopen model / locust closed model, requests per CPU-second: "
              f"{medians['open'] / medians['closed']:.2f}x (unpaced), "
              f"{medians['open'] / medians['paced']:.2f}x (paced to the same {args.rate:g} req/s), "
              f"{medians['open_peak'] / peak:.2f}x (open model at the closed model's throughput); "
              f"all runs: " + "; ".join(f"{k} " + ", ".join(f"{r[0]:.0f}" for r in v) for k, v in runs.items()))

        print(f"\n## Throughput at a target of {args.rate:g} req/s for {args.duration:g} s")
        print("| processes | sent / scheduled | achieved req/s | late | dropped | lag p99 ms | CPU % per process "
              "| p95 ms | verdict |")
        print("|---|---|---|---|---|---|---|---|---|")
        for workers in (0, 1, 2):
            m = open_model(server, rate=args.rate, duration=args.duration, workers=workers)
            label = "1 (in-process)" if workers == 0 else f"{workers} worker{'s' if workers > 1 else ''} + master"
            cpus = ", ".join(f"{p['cpu_percent']}" for p in m["generator_processes"])
            verdict = "insufficient data: " + "; ".join(m["insufficient_data"]) if m["insufficient_data"] else "trusted"
            print(f"| {label} | {m['sent']} / {m['scheduled']} | {m['rps']:.0f} | {m['late']} | {m['dropped']} | "
                  f"{m['schedule_lag_p99_ms']} | {cpus} | {m['p95_ms']} | {verdict} |")


if __name__ == "__main__":
    main()
