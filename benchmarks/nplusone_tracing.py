"""What tracing a --serve'd service costs and buys (issue 18):

1. the sample service's latency with and without the auditor's instrumentation (the shim: its
   interpreter has no OpenTelemetry SDK): p50/p95 of GET /books and GET /authors over sequential requests,
   interleaved in rounds so both see the same machine;
2. the nplusone check's time on the sample service (n_plus_one defect) with SQL from traces, one request at a
   time and four at a time, vs from its SQL log.

Prints measured figures only (median of --runs).

    python benchmarks/nplusone_tracing.py [--runs 3] [--requests 300]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from auditor.demo import demo_serve_spec  # noqa: E402
from auditor.otlp import OtlpReceiver, instrument  # noqa: E402
from auditor.service import ServiceProcess  # noqa: E402
from tests.conftest import run_audit_cli  # noqa: E402


def _latencies(url: str, path: str, count: int) -> list[float]:
    out = []
    with httpx.Client(base_url=url, timeout=10) as client:
        for _ in range(20):
            client.get(path)  # warm-up
        for _ in range(count):
            began = time.perf_counter()
            client.get(path)
            out.append((time.perf_counter() - began) * 1000)
    return out


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def overhead(requests: int) -> dict[str, dict[str, tuple[float, float]]]:
    figures: dict[str, dict[str, tuple[float, float]]] = {}
    serve, _repo = demo_serve_spec([])
    with tempfile.TemporaryDirectory() as tmp, OtlpReceiver() as receiver:
        for label in ("plain", "instrumented"):
            env = {**serve.env, "SQL_ECHO": "0"}
            if label == "instrumented":
                env.update(instrument.environment(receiver.endpoint, Path(tmp) / label))
            service = ServiceProcess(serve.command, Path(tmp) / f"{label}.log", env=env, cwd=serve.cwd)
            service.start(60)
            try:
                figures[label] = {path: (_pct(v, 0.5), _pct(v, 0.95)) for path in ("/books", "/authors")
                                  for v in [_latencies(service.url, path, requests)]}
            finally:
                service.stop()
    return figures


def profiling_time(source: str, concurrency: int = 1) -> tuple[float, float]:
    """The demo's wall time and the nplusone check's own duration (the profiling, without the service's start)."""
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "audit.toml"
        config.write_text(f"[nplusone]\ninstrument = {'true' if source == 'traces' else 'false'}\n"
                          f"concurrency = {concurrency}\n")
        began = time.perf_counter()
        result = run_audit_cli("demo", "--defects", "n_plus_one", "--checks", "nplusone", "--config", str(config),
                               "--output-dir", str(Path(tmp) / "out"), "--format", "json")
        wall = time.perf_counter() - began
        if result.returncode not in (0, 1):
            raise SystemExit(result.stderr)
        (check,) = json.loads((Path(tmp) / "out" / "report.json").read_text())["checks"]
        return wall, float(check["duration_s"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--requests", type=int, default=300)
    args = parser.parse_args()
    rounds = [overhead(args.requests) for _ in range(args.runs)]
    print(f"sample service latency, {args.requests} sequential requests per endpoint, median of {args.runs} rounds:")
    for path in ("/books", "/authors"):
        for label in ("plain", "instrumented"):
            p50 = statistics.median(r[label][path][0] for r in rounds)
            p95 = statistics.median(r[label][path][1] for r in rounds)
            print(f"  GET {path:<9} {label:<13} p50 {p50:6.2f} ms   p95 {p95:6.2f} ms")
    for source, concurrency in (("traces", 1), ("traces", 4), ("log", 1)):
        runs = [profiling_time(source, concurrency) for _ in range(args.runs)]
        print(f"audit demo --checks nplusone, SQL from {source:<6} {concurrency} at a time: median wall "
              f"{statistics.median(w for w, _ in runs):5.1f} s, check {statistics.median(c for _, c in runs):5.2f} s "
              f"({', '.join(f'{c:.2f}' for _, c in runs)})")


if __name__ == "__main__":
    main()
