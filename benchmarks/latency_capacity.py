"""Generator capacity of the latency check against a trivial loopback endpoint (an asyncio server in its own
process, so its CPU is not counted): requests per generator CPU-second, next to locust's own closed-model
FastHttpUser on the same server (goal: at least 0.8x of it), and achieved throughput with 0 (in-process),
1 and 2 locust workers at a rate one process cannot hold. Prints measured figures.

    python benchmarks/latency_capacity.py [--rate 2000] [--duration 5]

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=2000.0)
    parser.add_argument("--duration", type=float, default=5.0)
    args = parser.parse_args()
    print(f"cores: {os.cpu_count()}, load average: {', '.join(f'{x:.2f}' for x in os.getloadavg())}")
    with TrivialServer() as server:
        print("\n## Requests per generator CPU-second (trivial endpoint, loopback)")
        print("| generator | requests | req/s | generator CPU s | requests per CPU-second | p50 ms | p95 ms |")
        print("|---|---|---|---|---|---|---|")
        closed = closed_locust(server.url, "/a", users=10, duration=args.duration)
        closed_eff = closed["requests"] / closed["cpu_s"] if closed["cpu_s"] else 0.0
        print(f"| locust closed model, FastHttpUser x10, no wait | {closed['requests']} | "
              f"{closed['requests'] / closed['wall_s']:.0f} | {closed['cpu_s']:.2f} | {closed_eff:.0f} | "
              f"{closed['p50_ms']} | {closed['p95_ms']} |")
        metrics = open_model(server, rate=args.rate, duration=args.duration, workers=0)
        cpu = sum(p["cpu_s"] for p in metrics["generator_processes"])
        eff = metrics["requests"] / cpu if cpu else 0.0
        print(f"| this check, open model at {args.rate:g} req/s, 1 process | {metrics['requests']} | "
              f"{metrics['rps']:.0f} | {cpu:.2f} | {eff:.0f} | {metrics['p50_ms']} | {metrics['p95_ms']} |")
        print(f"\nopen model / locust closed model, requests per CPU-second: {eff / closed_eff:.2f}x"
              if closed_eff else "")

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
