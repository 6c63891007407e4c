"""Latency verdicts on a busy machine: one fixture service in its own process, with a fast endpoint
(~0 ms) and a truly slow one (150-250 ms), audited with and without a CPU hog (one spinning process per
core, exiting by itself). Prints each endpoint's verdict, p95 and interval, and the machine's figures.
Prints measured figures only; tests/checks/test_latency_busy_machine.py holds the pass conditions.

    python benchmarks/latency_busy_machine.py [--rate 60] [--duration 4] [--repeat 1]
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

from latency_common import ROOT  # noqa: F401 — puts the repository on sys.path

from tests.checks.latency_helpers import cpu_hog, run_check, served


def one(hog: bool, rate: float, duration: float) -> None:
    load = {"rate": rate, "duration": duration, "warmup": 0.5, "min_samples": 100, "rounds": 2, "p95_ms": 100}
    with served("--slow-paths", "/slow", "--low", "150", "--high", "250", "--paths", "/fast,/slow") as (url, _), \
            tempfile.TemporaryDirectory() as tmp:
        if hog:
            with cpu_hog(duration + 30, max(2, os.cpu_count() or 2)):
                outcome, _ = run_check(url, Path(tmp), settings={"serve": "fixture"}, **load)
        else:
            outcome, _ = run_check(url, Path(tmp), settings={"serve": "fixture"}, **load)
    m = outcome.metrics["machine"]
    label = "with the hog" if hog else "without it"
    for row in outcome.metrics["endpoints"]:
        low, high = row["p95_ci_ms"]
        rules = sorted({f"{f.rule_id} ({f.severity})" for f in outcome.findings
                        if f.location.get("endpoint") == f"GET {row['path']}"})
        print(f"| {label} | {row['path']} | {row['requests']} | {row['p95_ms']:.1f} | {low:.1f}–"
              f"{high if high is None else f'{high:.1f}'} | {', '.join(f'{p:.1f}' for p in row['rounds_p95_ms'])} | "
              f"{row['verdict']} | {', '.join(rules) or '—'} | {m.get('cpu_busy_percent')} | "
              f"{m.get('runnable_per_core')} | {m.get('generator_scheduling_lag_p99_ms')} | "
              f"{'; '.join(m.get('saturation_reasons') or []) or 'no'} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=60.0)
    parser.add_argument("--duration", type=float, default=4.0)
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    print(f"cores: {os.cpu_count()}, load average: {', '.join(f'{x:.2f}' for x in os.getloadavg())}; budget 100 ms")
    print("| run | endpoint | samples | p95 ms | 95 % interval ms | rounds' p95 ms | verdict | findings | "
          "CPU busy % | runnable per core | generator lag p99 ms | saturated |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for _ in range(args.repeat):
        for hog in (False, True):
            one(hog, args.rate, args.duration)


if __name__ == "__main__":
    main()
