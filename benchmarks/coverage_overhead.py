"""What the coverage and migrations checks cost on the sample service: the plain test suite, the coverage
check (suite under coverage, plus probe and report), the coverage check reading fresh data instead, and
the migrations check (ast + scratch SQLite round trip). Median of N runs; prints measured figures only.

    python benchmarks/coverage_overhead.py [--runs 3]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from auditor.artifacts import Artifacts  # noqa: E402
from auditor.http import HttpClient  # noqa: E402
from auditor.interface import AuditContext, CheckConfig, Target  # noqa: E402
from checks.coverage import CoverageCheck, CoverageConfig  # noqa: E402
from checks.migrations import MigrationsCheck, MigrationsConfig  # noqa: E402

SAMPLE = ROOT / "sample_service"


def context(repo: Path, config: CheckConfig, tmp: Path) -> AuditContext:
    http = HttpClient(None, headers={}, read_only=True)
    return AuditContext(target=Target(repo=repo), http=http, artifacts=Artifacts(http, spec=None), config=config,
                        tmp_dir=tmp, deadline=time.monotonic() + 600, read_only=True)


def timed(fn: Callable[[], object], runs: int) -> tuple[float, object]:
    samples, last = [], None
    for _ in range(runs):
        began = time.perf_counter()
        last = fn()
        samples.append(time.perf_counter() - began)
    return statistics.median(samples), last


def plain_suite() -> int:
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(SAMPLE / "tests")],
                          cwd=ROOT, capture_output=True, env=env).returncode


def check(cls: type, repo: Path, config: CheckConfig) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        ctx = context(repo, config, Path(tmp))
        with ctx.http:
            outcome = cls().run(ctx)
    return {"summary": outcome.summary, "percent": outcome.metrics.get("percent_covered")}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    runs = parser.parse_args().runs
    plain, code = timed(plain_suite, runs)
    print(f"sample_service suite, plain pytest:        {plain:6.1f} s (exit {code})")
    cov, result = timed(lambda: check(CoverageCheck, SAMPLE, CoverageConfig(use_existing="never")), runs)
    print(f"coverage check, suite under coverage:     {cov:6.1f} s ({result['summary']})")
    print(f"  overhead over plain pytest:             {cov - plain:6.1f} s ({100 * (cov / plain - 1):.0f} %)")
    with tempfile.TemporaryDirectory() as tmp:
        # Fresh data path, on a copy (nothing is written into sample_service): a coverage.json newer
        # than every source.
        copy = Path(tmp) / "sample_service"
        shutil.copytree(SAMPLE, copy, ignore=shutil.ignore_patterns("__pycache__", "data"))
        report = copy / "coverage.json"
        report.write_text(json.dumps({"totals": {"percent_covered": 90.0, "covered_lines": 9, "num_statements": 10},
                                      "files": {}}))
        future = time.time() + 60
        os.utime(report, (future, future))
        fresh, result = timed(lambda: check(CoverageCheck, copy, CoverageConfig()), runs)
        print(f"coverage check, fresh coverage.json:      {fresh:6.2f} s ({result['summary']})")
    mig, result = timed(lambda: check(MigrationsCheck, SAMPLE, MigrationsConfig()), runs)
    print(f"migrations check, scratch round trip:     {mig:6.2f} s ({result['summary']})")
    ast_only, result = timed(lambda: check(MigrationsCheck, SAMPLE, MigrationsConfig(scratch=False)), runs)
    print(f"migrations check, ast only:               {ast_only:6.3f} s")


if __name__ == "__main__":
    main()
