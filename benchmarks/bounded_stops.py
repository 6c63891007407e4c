"""How soon the auditor stops when it must: the wall-clock figures the tests used to assert (issue 20
moved every timed assert here; the tests check the behaviour — stopped, reported, no process left).
Prints measured figures only, median of N runs.

    python benchmarks/bounded_stops.py [--runs 3]

1. openapi: conformance with a 2 s budget against an endpoint that takes 0.4 s: time to the result.
2. openapi: the stop event set once schemathesis is sending: time until the check returns.
3. openapi: a 20 MB, 2002-operation document read, validated and judged.
4. openapi: a YAML alias bomb (6**15 nodes if anything walked it) refused.
5. --serve: a service that never answers, start(timeout_s=1): time until start() gives up (stop included).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from auditor.interface import CheckError  # noqa: E402
from auditor.service import ServiceError, ServiceProcess  # noqa: E402
from checks.openapi import OpenApiCheck  # noqa: E402
from checks.openapi.config import OpenApiConfig  # noqa: E402
from tests.checks.openapi_helpers import items_server, minimal_spec, run_check, write_spec  # noqa: E402
from tests.conftest import check_context  # noqa: E402
from tests.stub_server import slow  # noqa: E402


def conformance_budget(tmp: Path) -> float:
    with items_server(minimal_spec()) as server:
        page = server.routes["/api/items"]
        server.routes["/api/items"] = lambda handler: slow(0.4, page(handler))(handler)
        began = time.monotonic()
        run_check(server.url, tmp, config=OpenApiConfig(conformance_seconds=2))
        return time.monotonic() - began


def stop_event(tmp: Path) -> float:
    with items_server(minimal_spec()) as server:
        page = server.routes["/api/items"]
        server.routes["/api/items"] = lambda handler: slow(0.3, page(handler))(handler)
        ctx = check_context(server.url, OpenApiConfig(), tmp)
        worker = threading.Thread(target=lambda: OpenApiCheck().run(ctx), daemon=True)
        worker.start()
        while not any(path.startswith("/api/items?") for _, path, _ in server.requests):
            time.sleep(0.01)
        ctx.stop.set()
        began = time.monotonic()
        worker.join()
        ctx.http.close()
        return time.monotonic() - began


def big_document(tmp: Path) -> float:
    document = minimal_spec()
    template = json.dumps(document["paths"]["/items/{item_id}"])
    for i in range(2000):
        document["paths"][f"/r{i}/items/{{item_id}}"] = json.loads(template.replace("get_item", f"get_item_{i}"))
    document["info"]["description"] = "x" * (20 * 1024 * 1024 + 100 - len(json.dumps(document)))
    path = write_spec(tmp, document)
    began = time.monotonic()
    run_check(None, tmp, spec=str(path))
    return time.monotonic() - began


def alias_bomb(tmp: Path) -> float:
    lines = ["openapi: 3.0.3", "info: {title: bomb, version: '1'}", "x-bomb:", "  a0: &a0 [lol, lol, lol, lol]"]
    for i in range(1, 16):
        lines.append(f"  a{i}: &a{i} [*a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}]")
    lines.append("paths: {}")
    path = write_spec(tmp, "\n".join(lines) + "\n", "bomb.yaml")
    began = time.monotonic()
    try:
        run_check(None, tmp, spec=str(path))
    except CheckError:
        pass
    return time.monotonic() - began


def never_answers(tmp: Path) -> float:
    svc = ServiceProcess(f"{sys.executable} -c \"import time; time.sleep(60)\" {{port}}", tmp / "service.log")
    began = time.monotonic()
    try:
        svc.start(timeout_s=1)
    except ServiceError:
        pass
    return time.monotonic() - began


CASES: list[tuple[str, Callable[[Path], float]]] = [
    ("openapi conformance, 2 s budget, 0.4 s answers", conformance_budget),
    ("openapi stop event -> check returned", stop_event),
    ("openapi 20 MB document read and validated", big_document),
    ("openapi YAML alias bomb refused", alias_bomb),
    ("--serve never answers, 1 s start timeout", never_answers),
]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    print(f"| {'case':<48} | median s |   min s |   max s |")
    print(f"|{'-' * 50}|---------:|--------:|--------:|")
    for name, case in CASES:
        figures = []
        for _ in range(args.runs):
            with tempfile.TemporaryDirectory() as tmp:
                figures.append(case(Path(tmp)))
        print(f"| {name:<48} | {statistics.median(figures):8.2f} | {min(figures):7.2f} | {max(figures):7.2f} |")


if __name__ == "__main__":
    main()
