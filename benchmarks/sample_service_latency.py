"""The sample service's own speed under the latency check's default load (40 req/s for 5 s), clean and
with the slow_endpoint defect: p50/p95/p99 per endpoint. These figures were once a pass condition of a
test (p95 < 100 ms); a test now checks what was loaded and that nothing failed, and the speed is here.
Prints measured figures only.

    python benchmarks/sample_service_latency.py [--runs 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from checks.latency import LatencyCheck  # noqa: E402
from checks.latency.config import LatencyConfig  # noqa: E402
from tests.conftest import check_context, sample_service  # noqa: E402


def one_run(defects: list[str]) -> dict[str, tuple[float, float, float]]:
    with tempfile.TemporaryDirectory() as tmp, sample_service(Path(tmp), defects=defects) as service:
        ctx = check_context(service.url, LatencyConfig(p95_ms=60_000), Path(tmp))
        with ctx.http:
            metrics = LatencyCheck().run(ctx).metrics
    rows = {f"{r['method']} {r['path']}": (r["p50_ms"], r["p95_ms"], r["p99_ms"]) for r in metrics["endpoints"]}
    rows["(all)"] = (metrics["p50_ms"], metrics["p95_ms"], metrics["p99_ms"])
    return rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    for label, defects in (("clean", []), ("slow_endpoint", ["slow_endpoint"])):
        runs = [one_run(defects) for _ in range(args.runs)]
        print(f"\n{label}: median of {args.runs} runs, ms")
        print(f"| {'endpoint':<32} |    p50 |    p95 |    p99 |")
        print(f"|{'-' * 34}|-------:|-------:|-------:|")
        for endpoint in sorted(runs[0]):
            values = [statistics.median(run[endpoint][i] for run in runs if endpoint in run) for i in range(3)]
            print(f"| {endpoint:<32} | " + " | ".join(f"{v:6.1f}" for v in values) + " |")


if __name__ == "__main__":
    main()
