"""The deployment check's figures: how long its static review of a repository takes, and what the
measured graceful shutdown of the sample service looks like over N runs (requests in flight at SIGTERM,
shutdown time, exit code). Prints measured figures only.

    python benchmarks/deployment_shutdown.py [--runs 5] [--repo PATH]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from auditor.demo import demo_serve_spec
from auditor.service import ServiceProcess
from checks.deployment import shutdown
from checks.deployment.repo_files import walk

REPO_ROOT = Path(__file__).resolve().parents[1]


def static_walk(repo: Path, runs: int) -> None:
    times = []
    for _ in range(runs):
        began = time.perf_counter()
        files = walk(repo)
        times.append(time.perf_counter() - began)
    print(f"repository walk of {repo}: median {statistics.median(times) * 1000:.1f} ms over {runs} runs "
          f"({len(files.dockerfiles)} Dockerfiles, {len(files.python_files)} Python files, "
          f"{len(files.yaml_files)} YAML files, truncated={files.truncated})")


def measured_shutdowns(runs: int, requests: int) -> None:
    in_flight, took, codes, completed = [], [], [], []
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as log_dir:
            serve, _repo = demo_serve_spec([])
            service = ServiceProcess(serve.command, Path(log_dir) / "service.log", env=serve.env, cwd=serve.cwd)
            service.start(60)
            try:
                m = shutdown.measure(service, service.url, "/readyz", requests)
            finally:
                service.stop()
        in_flight.append(m.in_flight)
        took.append(m.stop.get("shutdown_s") or 0.0)
        codes.append(m.stop.get("exit_code"))
        completed.append(sum(1 for p in m.probes if p.status is not None))
    print(f"sample_service SIGTERM with {requests} GET /readyz sent, {runs} runs:")
    print(f"  in flight at SIGTERM: {in_flight}")
    print(f"  completed:            {completed}")
    print(f"  shutdown_s:           median {statistics.median(took):.3f}, max {max(took):.3f}")
    print(f"  exit codes:           {codes}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--requests", type=int, default=3)
    parser.add_argument("--repo", type=Path, default=REPO_ROOT)
    args = parser.parse_args()
    static_walk(args.repo, args.runs)
    measured_shutdowns(args.runs, args.requests)


if __name__ == "__main__":
    main()
