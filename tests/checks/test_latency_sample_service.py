"""Against the bundled sample service, started exactly as `audit demo` starts it."""

from __future__ import annotations

import json

from auditor.model import Status
from checks.latency import LatencyCheck
from checks.latency.config import LatencyConfig
from tests.conftest import check_context, run_audit_cli, sample_service


def test_clean_sample_service_passes_with_its_default_load(tmp_path):
    """The default load plan, with a budget of a minute: what is checked is what was loaded and that
    nothing failed. The sample service's own p95 is benchmarks/sample_service_latency.py's figure."""
    with sample_service(tmp_path) as service:
        ctx = check_context(service.url, LatencyConfig(p95_ms=60_000), tmp_path)
        with ctx.http:
            outcome = LatencyCheck().run(ctx)
    assert outcome.findings == [] and outcome.status is None, outcome.summary
    # The run was sized: every endpoint got the 100 samples its p95 needs (40 req/s, as long as that takes).
    assert outcome.metrics["duration_source"] == "sized" and outcome.metrics["error_rate"] == 0
    assert all(row["requests"] >= 100 and row["verdict"] == "pass" for row in outcome.metrics["endpoints"])
    assert outcome.metrics["requests"] == 40 * outcome.metrics["duration_s"]
    # The service's own cost under the load, from its processes (a --serve'd tree, as the demo starts it).
    service = outcome.metrics["service"]
    assert service["visible"] and service["cpu_s_per_1000_requests"] > 0 and service["rss_end_mb"] > 10
    assert [row["pairs"] for row in outcome.metrics["connection_cost"]] == [12] * len(outcome.metrics["endpoints"])
    loaded = {f"{row['method']} {row['path']}" for row in outcome.metrics["endpoints"]}
    assert {"GET /books", "GET /books/{book_id}", "GET /authors", "GET /authors/{author_id}"} <= loaded
    # Operations that need a credential the audit does not have are left out with the reason.
    excluded = {e["endpoint"] for e in outcome.metrics["excluded"]}
    assert {"GET /users/me", "GET /orders"} <= excluded
    # Path ids came from the service's own lists: real books, so no 404s.
    assert all(row["error_rate"] == 0 for row in outcome.metrics["endpoints"])


def test_slow_endpoint_defect_fails_the_gate_at_that_endpoint(tmp_path):
    # Twice the default rate, the duration sized for 100 samples per endpoint (8 endpoints: about 11 s).
    # Only GET /authors has a budget a machine's speed cannot decide: 100 ms against a 150 ms sleep (every
    # other endpoint gets a minute), so the finding is the defect's, wherever the test runs.
    config = tmp_path / "budget.toml"
    config.write_text('[latency]\np95_ms = 60000\n\n[latency.endpoints."GET /authors"]\np95_ms = 100\n')
    result = run_audit_cli("demo", "--checks", "latency", "--defects", "slow_endpoint", "--format", "json",
                           "--load-rate", "80", "--config", str(config),
                           "--output-dir", str(tmp_path / "out"), timeout=120)
    assert result.returncode == 1, result.stdout + result.stderr
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    check = report["checks"][0]
    assert check["id"] == "latency" and check["status"] == Status.FAIL
    slow = [f for f in check["findings"] if f["rule_id"] == "LAT001"]
    assert [f["location"] for f in slow] == [{"endpoint": "GET /authors"}]
    row = next(r for r in check["metrics"]["endpoints"] if r["path"] == "/authors")
    assert row["p50_ms"] >= 150  # the defect sleeps 150 ms on every call: no answer can come sooner
