"""What a scratch database costs a run: create and drop on the local PostgreSQL and MariaDB servers (the
sandbox's scratch databases, auditor/sandbox/scratch.py), and what the environment allow-list withholds
from the shell this runs in. Prints measured figures only, median of N runs.

    python benchmarks/scratch_database.py [--runs 10] [--pg URL] [--mariadb URL]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from auditor.sandbox import ScratchRegistry, environment  # noqa: E402
from auditor.sandbox.scratchdb.interface import ScratchError, server_for  # noqa: E402


def measure(url: str, scheme: str, runs: int) -> tuple[list[float], list[float]]:
    creates, drops = [], []
    server = server_for(url)
    registry = ScratchRegistry()
    for _ in range(runs):
        began = time.perf_counter()
        database = registry.create(server, scheme, "benchmark")
        creates.append(time.perf_counter() - began)
        began = time.perf_counter()
        registry.drop(database)
        drops.append(time.perf_counter() - began)
    return creates, drops


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--pg", default=os.environ.get("AUDIT_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test"))
    parser.add_argument("--mariadb", default=os.environ.get("AUDIT_TEST_MARIADB_URL",
                                                            "mysql+pymysql://root@127.0.0.1:3306/test"))
    args = parser.parse_args()
    print(f"scratch database create + drop, median of {args.runs} runs")
    for label, url, scheme in (("PostgreSQL", args.pg, "postgresql"), ("MariaDB", args.mariadb, "mysql+pymysql")):
        try:
            creates, drops = measure(url, scheme, args.runs)
        except ScratchError as exc:
            print(f"  {label:<11} not measured: {exc}")
            continue
        print(f"  {label:<11} create {statistics.median(creates) * 1000:7.1f} ms   drop "
              f"{statistics.median(drops) * 1000:7.1f} ms   (max {max(creates) * 1000:.1f} / {max(drops) * 1000:.1f} ms)")
    child = environment.build(environ=os.environ, configured={}, scratch={}, inherit=False,
                              python=Path(sys.executable), tmp_dir=Path(os.environ.get("TMPDIR", "/tmp")) / "bench-sb")
    print(f"environment of this shell: {len(os.environ)} variables; the child gets {len(child.env)}; withheld "
          f"{len(child.withheld)} connection/credential-like ({', '.join(child.withheld) or 'none'}) and "
          f"{child.withheld_other} others")


if __name__ == "__main__":
    main()
