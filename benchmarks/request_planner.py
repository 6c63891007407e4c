"""Spec discovery and the request plan, measured: requests each sends and the time they take, on the
issue-15 fixture API (a spec reachable only through its /redoc page, nested-only values, optional,
user and admin authentication) and on the sample service. Prints measured figures only.

    python benchmarks/request_planner.py
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from auditor.discovery import discover  # noqa: E402
from auditor.http import HttpClient  # noqa: E402
from auditor.planner import build_plan, summarise  # noqa: E402
from tests.conftest import sample_service  # noqa: E402
from tests.e2e.planner_fixture import USER_TOKEN, FixtureApi  # noqa: E402


def measure(name: str, url: str, headers: dict[str, str], seen: Callable[[], int] | None = None) -> None:
    """``seen``: requests the service recorded, to check the counters against (the fixture records all)."""
    with HttpClient(url, headers=headers) as http:
        began = time.perf_counter()
        found = discover(http)
        discovered = time.perf_counter() - began
        began = time.perf_counter()
        plan = build_plan(found.document, http, source_url=found.source)
        planned = time.perf_counter() - began
    sent_discovery, sent_plan = found.requests, plan.discovery_requests + plan.preflight_requests
    if seen is not None:
        assert seen() == sent_discovery + sent_plan, "the service saw other requests than counted"
    kept, excluded = plan.traffic()
    print(f"{name}: spec by {found.how}: {sent_discovery} requests in {discovered * 1000:.0f} ms; plan: "
          f"{len(plan.requests)} planned, {len(kept)} loadable, {summarise(excluded) or 'none excluded'}; "
          f"{sent_plan} requests ({plan.discovery_requests} finding values, {plan.preflight_requests} preflights) "
          f"in {planned * 1000:.0f} ms")


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        with FixtureApi(Path(tmp) / "sql.log") as api:
            measure("fixture API, with a user token", api.url, {"Authorization": f"Bearer {USER_TOKEN}"},
                    lambda: len(api.stub.requests))
        with sample_service(Path(tmp)) as service:
            measure("sample service, anonymous", service.url, {})


if __name__ == "__main__":
    main()
