"""Wall time and peak memory of `audit demo`, median of N runs. Prints measured figures only.

    python benchmarks/demo_wall_time.py [--runs 3] [-- extra demo args]
"""

from __future__ import annotations

import argparse
import resource
import statistics
import subprocess
import sys
import tempfile
import time


def one_run(extra: list[str]) -> tuple[float, float, int]:
    with tempfile.TemporaryDirectory() as out:
        before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        began = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "auditor", "demo", "--quiet", "--output-dir", out, *extra],
                              capture_output=True, text=True)
        wall = time.perf_counter() - began
        # ru_maxrss of children is the largest single child so far (KiB on Linux): the auditor
        # process or the sample service, whichever peaked higher.
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return wall, max(peak, before) / 1024, proc.returncode


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("extra", nargs="*")
    args = parser.parse_args()
    walls, peaks = [], []
    for i in range(args.runs):
        wall, peak, code = one_run(args.extra)
        walls.append(wall)
        peaks.append(peak)
        print(f"run {i + 1}: {wall:.2f} s wall, peak child RSS {peak:.0f} MiB, exit {code}")
    print(f"audit demo: median wall {statistics.median(walls):.2f} s over {args.runs} runs "
          f"(min {min(walls):.2f}, max {max(walls):.2f}); peak RSS {max(peaks):.0f} MiB")


if __name__ == "__main__":
    main()
