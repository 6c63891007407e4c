"""The openapi check on the sample service at default settings, as `audit demo --checks openapi` runs it:
wall time of the check (and of its conformance run), requests that reached the service (counted from the
service's own access log, so schemathesis' probes are included), completeness_percent and findings.
Median of N runs on a fresh service each; also a documentation-only run from the document alone. Prints
measured figures only.

    python benchmarks/openapi_sample.py [--runs 3] [--defects undocumented_error,missing_auth]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from auditor.artifacts import Artifacts  # noqa: E402
from auditor.demo import demo_serve_spec  # noqa: E402
from auditor.http import HttpClient  # noqa: E402
from auditor.interface import AuditContext, Target  # noqa: E402
from auditor.service import ServiceProcess  # noqa: E402
from checks.openapi import OpenApiCheck  # noqa: E402
from checks.openapi.config import OpenApiConfig  # noqa: E402


def access_lines(log: Path) -> int:
    count = 0
    for line in log.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            count += json.loads(line).get("logger") == "access"
        except ValueError:
            continue
    return count


def one_run(defects: list[str], tmp: Path) -> dict[str, float]:
    serve, _repo = demo_serve_spec(defects)
    log = tmp / "service.log"
    service = ServiceProcess(serve.command, log, env=serve.env, cwd=serve.cwd)
    service.start(60)
    try:
        before = access_lines(log)
        http = HttpClient(service.url, read_only=False)  # loopback, as `audit demo` runs it
        ctx = AuditContext(target=Target(url=service.url), http=http, artifacts=Artifacts(http, spec=None),
                           config=OpenApiConfig(), tmp_dir=tmp, deadline=time.monotonic() + 600, read_only=False)
        began = time.perf_counter()
        outcome = OpenApiCheck().run(ctx)
        wall = time.perf_counter() - began
        http.close()
        time.sleep(0.3)  # let the last access lines reach the log
        sent = access_lines(log) - before
    finally:
        service.stop()
    conformance = outcome.metrics["conformance"]
    return {"wall_s": wall, "conformance_s": conformance.get("duration_s", 0.0), "service_requests": sent,
            "schemathesis_requests": conformance.get("requests", 0), "completeness": outcome.metrics[
                "completeness_percent"], "findings": len(outcome.findings),
            "failing": sum(f.severity.rank >= 2 for f in outcome.findings), "operations": outcome.metrics["operations"]}


def document_only(spec: Path, tmp: Path) -> float:
    http = HttpClient(None)
    ctx = AuditContext(target=Target(spec=str(spec)), http=http, artifacts=Artifacts(http, spec=str(spec)),
                       config=OpenApiConfig(), tmp_dir=tmp, deadline=time.monotonic() + 600, read_only=True)
    began = time.perf_counter()
    OpenApiCheck().run(ctx)
    return time.perf_counter() - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--defects", default="")
    args = parser.parse_args()
    defects = [d for d in args.defects.split(",") if d]
    results = []
    with tempfile.TemporaryDirectory(prefix="bench-openapi-") as tmp:
        for index in range(args.runs):
            run_dir = Path(tmp) / str(index)
            run_dir.mkdir()
            results.append(one_run(defects, run_dir))
            print(f"run {index + 1}: " + ", ".join(f"{k} {v:g}" if isinstance(v, float) else f"{k} {v}"
                                                   for k, v in results[-1].items()))
        from sample_service.app import create_app

        spec = Path(tmp) / "openapi.json"
        spec.write_text(json.dumps(create_app().openapi()), encoding="utf-8")
        doc_times = [document_only(spec, Path(tmp)) for _ in range(args.runs)]
    median = {key: statistics.median(r[key] for r in results) for key in results[0]}
    print(f"\nsample service{' with ' + ','.join(defects) if defects else ' (clean)'}, default settings, "
          f"median of {args.runs}:")
    print(f"  check wall time            {median['wall_s']:.2f} s (conformance run {median['conformance_s']:.2f} s)")
    print(f"  requests reaching service  {median['service_requests']:.0f} (schemathesis counted "
          f"{median['schemathesis_requests']:.0f})")
    print(f"  operations                 {median['operations']:.0f}")
    print(f"  completeness_percent       {median['completeness']:g}")
    print(f"  findings                   {median['findings']:.0f} ({median['failing']:.0f} medium or worse)")
    print(f"  document-only run          {statistics.median(doc_times) * 1000:.0f} ms (no service)")


if __name__ == "__main__":
    main()
