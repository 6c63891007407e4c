"""A rich sample Report built from the model classes: every status, every severity, endpoint / file /
url locations, a suppressed finding, list-of-dict and nested metrics, and hostile target text."""

from __future__ import annotations

import pytest

from auditor.model import CheckResult, Finding, Report, Section, Severity, Status, Verdict

XSS_TITLE = "<script>alert(1)</script>"
XSS_EVIDENCE = '"><img src=x onerror=alert(1)>'


def sample_report(verdict: Verdict = Verdict.ERROR, exit_code: int = 2) -> Report:
    health = CheckResult(
        id="health", title="Health, readiness and metrics endpoints", section=Section.DEPLOYMENT,
        status=Status.FAIL, summary="2 of 4 probes missing", duration_s=0.42,
        metrics={"method": "GET /health, /ready and /metrics once each, 2 s timeout.",
                 "probes": 4, "healthy": True, "ratio": 0.5,
                 "paths": ["/health", "/ready", "/metrics"],
                 "headers": {"content-type": "application/json", "server": "uvicorn"}},
        findings=[
            Finding(rule_id="HLT020", severity=Severity.HIGH, title="No metrics endpoint",
                    message="GET /metrics answered 404", location={"url": "http://127.0.0.1:8000/metrics"},
                    evidence="HTTP/1.1 404 Not Found\ncontent-type: application/json\n\n{\"detail\":\"Not Found\"}",
                    remediation="Expose Prometheus metrics at /metrics."),
            Finding(rule_id="HLT001", severity=Severity.CRITICAL, title="No health endpoint",
                    message="GET /health answered 404", location={"endpoint": "GET /health"},
                    remediation="Add a liveness endpoint."),
            Finding(rule_id="HLT030", severity=Severity.MEDIUM, title="Readiness equals liveness",
                    message="same handler", location={"endpoint": "GET /ready"}, suppressed=True,
                    remediation="Check dependencies in /ready."),
        ])
    endpoints = [{"method": "GET", "path": f"/items/{i}", "operation_id": f"get_item_{i}", "secured": i % 2 == 0}
                 for i in range(30)]
    endpoints[3]["deprecated"] = True  # a key seen late becomes a late column
    openapi = CheckResult(
        id="openapi", title="OpenAPI completeness", section=Section.OPENAPI, status=Status.WARN,
        summary="completeness 87 %", duration_s=0.1,
        metrics={"operations": 30, "completeness_percent": 87.0, "endpoints": endpoints},
        findings=[
            Finding(rule_id="OAS010", severity=Severity.MEDIUM, title="Operation without description",
                    message="GET /items/{id} has no description", location={"endpoint": "GET /items/{id}"},
                    remediation="Describe every operation."),
            Finding(rule_id="OAS010", severity=Severity.MEDIUM, title="Operation without description",
                    message="GET /items has no description", location={"endpoint": "GET /items"},
                    remediation="Describe every operation."),
            Finding(rule_id="OAS020", severity=Severity.LOW, title="No examples", message="no examples",
                    location={"endpoint": "POST /items"}, remediation="Add examples."),
        ])
    latency = CheckResult(
        id="latency", title="Latency under load", section=Section.PERFORMANCE, status=Status.PASS,
        summary="p95 84 ms at 40 req/s", duration_s=15.2,
        metrics={"method": "Open-model load at 40 req/s for 15 s after 2 s warm-up, seed 7.",
                 "p50_ms": 12.5, "p95_ms": 84.0, "p99_ms": 130.25, "rps": 40.0, "requests": 600,
                 "error_rate": 0.0,
                 "endpoints": [{"method": "GET", "path": "/items", "requests": 300, "p50_ms": 10.0,
                                "p95_ms": 70.0, "p99_ms": 90.0, "error_rate": 0.0}]},
        findings=[Finding(rule_id="LAT900", severity=Severity.INFO, title="Warm-up was slow",
                          message="first request 900 ms", location={"endpoint": "GET /items"})])
    coverage = CheckResult(id="coverage", title="Test coverage", section=Section.COVERAGE, status=Status.ERROR,
                           summary="pytest crashed: ModuleNotFoundError: no module named 'app'", duration_s=3.0)
    migrations = CheckResult(id="migrations", title="Migrations", section=Section.MIGRATIONS,
                             status=Status.SKIPPED, summary="no repository (give --repo PATH)")
    security = CheckResult(
        id="security", title="Security headers and code", section=Section.SECURITY, status=Status.FAIL,
        summary="1 high | 1 low", duration_s=1.0,
        findings=[
            Finding(rule_id="SEC101", severity=Severity.HIGH, title=XSS_TITLE, message="reflected `input` | <b>",
                    location={"file": "app/main.py", "line": 42}, evidence=XSS_EVIDENCE,
                    remediation="Escape output."),
            Finding(rule_id="SEC200", severity=Severity.LOW, title="Server header discloses version",
                    message="server: uvicorn 0.30", location={"url": "http://127.0.0.1:8000/"},
                    evidence="x" * 5000, remediation="Drop the Server header."),
        ])
    return Report(
        tool={"name": "backend-auditor", "version": "0.1.0"},
        target={"url": "http://127.0.0.1:8000", "spec": None, "repo": "/src/app"},
        started_at="2025-01-02T03:04:05+00:00", duration_s=20.5, verdict=verdict,
        checks=[health, openapi, latency, coverage, migrations, security],
        gate={"fail_on": "high", "exit_code": exit_code},
        service={"command": "uvicorn app:app --port 8000", "port": 8000, "graceful_shutdown": True,
                 "shutdown_s": 0.2, "exit_code": 0, "log": "audit-report/service.log"},
    )


@pytest.fixture
def report() -> Report:
    return sample_report()


GATE_REASON = "server header set by the proxy | `not us` <b>bold</b> @ops"
BASELINE_PATH = "main-report/report.json"
IGNORE_FILE = ".audit-ignore.toml"


def gated_report() -> Report:
    """The sample report run through the real gate steps (auditor.baseline, auditor.suppressions,
    auditor.gate), as auditor/policy.py chains them, so its gate part has exactly the 1.1 shapes:

    - baseline: HLT001 and the OAS010 findings were already there (known); HLT020, SEC101... are new;
      HLT099 was fixed since; latency p95 was 60 ms (now 84 ms: an LAT900 regression);
    - ignore file: entry 1 suppresses SEC200 (reason with hostile text, owner, expiry), entry 2 (OAS020)
      expired, entry 3 (DPL001) matched nothing; HLT030 stays suppressed by its check (no entry);
    - policy: levels {"openapi": "warn"}, security gated on low."""
    from datetime import date

    from auditor.baseline import add_regressions, mark_known
    from auditor.config import PRESETS
    from auditor.gate import exit_code, regate, verdict
    from auditor.suppressions import IgnoreEntry, apply_suppressions

    report = sample_report(Verdict.FAIL, 1)
    baseline = sample_report(Verdict.FAIL, 1)
    health = baseline.checks[0]
    health.findings = [f for f in health.findings if f.rule_id != "HLT020"]
    health.findings.append(Finding(rule_id="HLT099", severity=Severity.HIGH, title="Old health problem",
                                   message="gone now", location={"endpoint": "GET /old"}))
    baseline.checks[5].findings = []  # security: both findings are new
    baseline.checks[2].metrics["p95_ms"] = 60.0
    levels, by_check = {"openapi": "warn"}, {"security": "low"}
    gate: dict = {"fail_on": "high", "levels": levels, "fail_on_by_check": by_check}
    gate["baseline"] = mark_known(report.checks, baseline, BASELINE_PATH)
    gate["regressions"] = add_regressions(report.checks, baseline, PRESETS["default"].regressions)
    entries = [
        IgnoreEntry(index=1, rule="SEC200", fingerprint=None, path=None, endpoint=None, reason=GATE_REASON,
                    expires=date(2099, 12, 31), owner="team-api"),
        IgnoreEntry(index=2, rule="OAS020", fingerprint=None, path=None, endpoint=None,
                    reason="examples come later", expires=date(2020, 1, 31)),
        IgnoreEntry(index=3, rule="DPL001", fingerprint=None, path=None, endpoint=None, reason="legacy image",
                    expires=None),
    ]
    gate["suppressions"] = apply_suppressions(report.checks, entries, today=date(2025, 6, 1), file=IGNORE_FILE)
    regate(report.checks, "high", levels=levels, fail_on_by_check=by_check)
    report.verdict = verdict(report.checks)
    gate["exit_code"] = exit_code(report.verdict)
    report.gate = gate
    return report


@pytest.fixture
def gated() -> Report:
    return gated_report()
