"""Wall time of the security check's parts: the repository part (bandit + secrets) on the sample service
and on a synthetic repository of N Python files, and the service part against the sample service
(requests sent). Prints measured figures; nothing is asserted.

    python benchmarks/security_scan.py [--files 1000] [--runs 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from auditor.demo import demo_serve_spec  # noqa: E402
from checks.security.check import SecurityCheck  # noqa: E402
from checks.security.config import SecurityConfig  # noqa: E402
from tests.conftest import check_context, sample_service  # noqa: E402

MODULE = '''import subprocess
import hashlib


def run_{i}(cmd):
    """Module {i}."""
    digest = hashlib.sha256(cmd.encode()).hexdigest()
    if digest.startswith("0"):
        return subprocess.call(cmd, shell=True)
    values = [x * {i} for x in range(100)]
    return sum(values)
'''


def timed(repo: Path | None, url: str | None, config: SecurityConfig, runs: int) -> tuple[float, dict]:
    times = []
    metrics: dict = {}
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as work:
            ctx = check_context(url, config, Path(work), repo=repo, seconds=600)
            began = time.perf_counter()
            with ctx.http:
                outcome = SecurityCheck().run(ctx)
            times.append(time.perf_counter() - began)
            metrics = outcome.metrics
    return statistics.median(times), metrics


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    repo_only = SecurityConfig(service=False)

    _serve, sample_repo = demo_serve_spec([])
    wall, m = timed(sample_repo, None, repo_only, args.runs)
    print(f"repo part, sample_service ({m['files_scanned']} files, {m['bandit_files']} for bandit, "
          f"{m['bandit_loc']} LOC): median {wall:.2f} s (bandit {m['bandit_s']:.2f} s, secrets {m['secrets_scan_s']:.2f} s)")

    with tempfile.TemporaryDirectory() as root:
        repo = Path(root) / "synthetic"
        for i in range(args.files):
            path = repo / f"pkg{i // 100}" / f"mod{i}.py"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(MODULE.format(i=i))
        wall, m = timed(repo, None, repo_only, args.runs)
        print(f"repo part, synthetic {args.files} files ({m['bandit_loc']} LOC, {m['bandit_issues']} bandit issues): "
              f"median {wall:.2f} s (bandit {m['bandit_s']:.2f} s, secrets {m['secrets_scan_s']:.2f} s)")

    service_only = SecurityConfig(bandit=False, secrets=False)
    with tempfile.TemporaryDirectory() as logs, sample_service(Path(logs)) as service:
        wall, m = timed(None, service.url, service_only, args.runs)
        print(f"service part, sample_service: median {wall:.2f} s, {m['requests']} requests "
              f"({m['secured_operations']} secured operations of {m['operations']})")


if __name__ == "__main__":
    main()
