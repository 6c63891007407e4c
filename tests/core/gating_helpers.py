"""Real Report objects for the baseline and compare tests, built from auditor.model and saved as real
report.json files (the JSON renderer's own output)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from auditor.model import CheckResult, Finding, Report, Section, Severity, Status, Verdict
from reports.json_report import JsonRenderer

SECTIONS = {"latency": Section.PERFORMANCE, "coverage": Section.COVERAGE, "nplusone": Section.PERFORMANCE,
            "openapi": Section.OPENAPI, "security": Section.SECURITY}


def finding(rule_id: str = "SEC101", severity: str = "high", *, file: str = "app.py", line: int = 3,
            title: str = "Hard-coded password", suppressed: bool = False, endpoint: str | None = None) -> Finding:
    location: dict[str, Any] = {"endpoint": endpoint} if endpoint else {"file": file, "line": line}
    return Finding(rule_id=rule_id, severity=Severity(severity), title=title, message=f"{title} here",
                   location=location, remediation="Fix it.", suppressed=suppressed)


def check(check_id: str, findings: list[Finding] | None = None, status: Status = Status.PASS,
          **metrics: Any) -> CheckResult:
    return CheckResult(id=check_id, title=f"The {check_id} check", section=SECTIONS.get(check_id, Section.SECURITY),
                       status=status, summary="", duration_s=0.5, metrics=metrics, findings=findings or [])


def latency(p95: float | None, endpoints: dict[str, float | None] | None = None, **kwargs: Any) -> CheckResult:
    rows = [{"method": name.split()[0], "path": name.split()[1], "requests": 100, "p95_ms": value}
            for name, value in (endpoints or {}).items()]
    return check("latency", p95_ms=p95, endpoints=rows, mode="open", **kwargs)


def nplusone(n: int, **kwargs: Any) -> CheckResult:
    return check("nplusone", [finding("NPQ001", "medium", endpoint=f"GET /list{i}", title="Potential N+1 query")
                              for i in range(n)], **kwargs)


def report(*checks: CheckResult, verdict: Verdict = Verdict.PASS) -> Report:
    return Report(tool={"name": "backend-auditor", "version": "test"},
                  target={"url": "http://127.0.0.1:8000", "spec": None, "repo": None},
                  started_at="2024-05-01T10:00:00+00:00", duration_s=3.0, verdict=verdict, checks=list(checks),
                  gate={"fail_on": "high", "exit_code": 0})


def save(report_: Report, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(JsonRenderer().render(report_), encoding="utf-8")
    return path
