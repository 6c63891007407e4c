"""The openapi check against the real sample service: clean, it has no failing finding and a complete
document; with undocumented_error and missing_auth, `audit demo` finds each at its endpoint and exits 1."""

from __future__ import annotations

import json

from auditor.model import Severity
from tests.checks.openapi_helpers import run_check
from tests.conftest import run_audit_cli, sample_service


def test_clean_sample_service_has_no_failing_finding_and_full_completeness(tmp_path):
    with sample_service(tmp_path) as service:
        outcome = run_check(service.url, tmp_path)
    failing = [f for f in outcome.findings if f.severity.rank >= Severity.MEDIUM.rank]
    assert failing == [], [(f.rule_id, f.message) for f in failing]
    assert outcome.metrics["completeness_percent"] == 100.0
    assert outcome.metrics["spec"]["valid"] is True
    conformance = outcome.metrics["conformance"]
    assert conformance["ran"] and conformance["complete"] and conformance["failures"] == 0
    assert conformance["requests"] > 50 and conformance["methods"] == ["GET", "HEAD", "OPTIONS"]
    endpoints = {(e["method"], e["path"]): e for e in outcome.metrics["endpoints"]}
    assert endpoints[("GET", "/orders")]["secured"] is True and endpoints[("GET", "/books")]["secured"] is False
    assert endpoints[("POST", "/books")]["operation_id"] == "create_book"
    assert outcome.metrics["operations"] == len(endpoints) >= 15
    # secured GETs without credentials: only info notes, never a warning
    assert {f.rule_id for f in outcome.findings} <= {"OAS090"}


def test_demo_with_defects_finds_each_at_its_endpoint_and_exits_1(tmp_path):
    out = tmp_path / "out"
    result = run_audit_cli("demo", "--defects", "undocumented_error,missing_auth", "--checks", "openapi",
                           "--output-dir", str(out), "--format", "json,html")
    assert result.returncode == 1, result.stdout + result.stderr
    report = json.loads((out / "report.json").read_text())
    check = report["checks"][0]
    assert check["id"] == "openapi" and check["status"] == "fail"
    at = {(f["rule_id"], f["location"].get("endpoint")) for f in check["findings"]}
    assert ("OAS101", "GET /books") in at      # undocumented_error: 500 on sort=-published
    server_error = next(f for f in check["findings"] if f["rule_id"] == "OAS101")
    assert "The same answers also failed: OAS103" in server_error["message"]   # one defect, one finding
    assert ("OAS401", "GET /orders") in at     # missing_auth: anonymous GET /orders answers 200
    server_error = next(f for f in check["findings"] if f["rule_id"] == "OAS101")
    assert server_error["severity"] == "high" and "sort=-published" in server_error["evidence"]
    assert server_error["evidence"].startswith("curl -X GET")
    html = (out / "report.html").read_text()
    assert "OAS401" in html and "GET /orders" in html
