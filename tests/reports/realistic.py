"""A real-looking audit for the reviewer's view (issue 19): 100+ findings across every section, a failed
gate, a baseline (known findings), suppressed findings, a metric regression and a skipped check — the
shape of what real services produced (many low header and documentation findings, a few high ones)."""

from __future__ import annotations

from auditor.model import CheckResult, Finding, Report, Section, Severity, Status, Verdict

GATING_RULES = ("SEC010", "LAT001", "DEP001", "OAS101", "COV001", "LAT900", "SEC020", "DPL007")


def _f(rule: str, severity: Severity, title: str, location: dict, *, message: str = "", known: bool = False,
       suppressed: bool = False, remediation: str = "", evidence: str = "") -> Finding:
    return Finding(rule_id=rule, severity=severity, title=title, message=message or f"{title} at {location}.",
                   location=location, evidence=evidence or f"evidence of {rule}", known=known,
                   remediation=remediation or f"How to fix {rule}.", suppressed=suppressed,
                   suppression={"reason": "accepted until the proxy is replaced", "expires": "2099-01-01",
                                "entry": 1, "file": ".audit-ignore.toml"} if suppressed else None)


def realistic_report() -> Report:
    H, M, L, I = Severity.HIGH, Severity.MEDIUM, Severity.LOW, Severity.INFO
    paths = [f"/api/v1/{name}" for name in ("articles", "articles/{slug}", "profiles/{username}", "tags", "users",
                                            "users/me", "comments", "orders", "orders/{id}", "search", "feed",
                                            "admin/users", "reports", "exports", "settings", "health", "metrics",
                                            "invoices", "invoices/{id}", "teams", "teams/{id}", "projects",
                                            "projects/{id}", "files", "files/{id}")]
    openapi = CheckResult(
        id="openapi", title="OpenAPI documentation", section=Section.OPENAPI, status=Status.FAIL,
        summary="25 operations; completeness 63.5 %; conformance: 240 requests, failures at GET /api/v1/search, "
                "GET /api/v1/exports, GET /api/v1/feed; 25 operations lack a description",
        metrics={"operations": 25, "completeness_percent": 63.5,
                 "endpoints": [{"method": "GET", "path": p, "operation_id": p.replace("/", "_"), "secured": "no"}
                               for p in paths]},
        findings=[_f("OAS020", M, "Operation without description", {"endpoint": f"GET {p}"},
                     remediation="Describe every operation: what it returns and when it fails.") for p in paths]
        + [_f("OAS101", H, "Server error (5xx) on a valid request", {"endpoint": f"GET /api/v1/{p}"},
              message=f"GET /api/v1/{p}?page=0 answered 500 Internal Server Error.") for p in ("search", "exports")]
        + [_f("OAS101", H, "Server error (5xx) on a valid request", {"endpoint": "GET /api/v1/feed"},
              message="GET /api/v1/feed answered 500.", known=True)]
        + [_f("OAS030", L, "No examples", {"endpoint": f"GET {p}"}) for p in paths[:12]])
    latency = CheckResult(
        id="latency", title="Latency under load", section=Section.PERFORMANCE, status=Status.FAIL,
        summary="p95 184 ms (budget 100 ms), 0.4 % errors over 2,400 requests at 40 req/s on 12 endpoints; over "
                "budget: GET /api/v1/search, GET /api/v1/feed, GET /api/v1/reports",
        metrics={"p95_ms": 184.2, "p95_budget_ms": 100, "p50_ms": 40.1, "p99_ms": 410.0, "requests": 2400,
                 "error_rate": 0.004},
        findings=[_f("LAT001", H, "p95 latency over budget", {"endpoint": f"GET /api/v1/{p}"},
                     message=f"p95 {v} ms over the 100 ms budget (95 % CI {v - 20}–{v + 30} ms).")
                  for p, v in (("search", 412), ("feed", 230), ("reports", 160))]
        + [_f("LAT900", H, "p95 regressed since the baseline", {"endpoint": "all endpoints"},
              message="p95 184 ms, baseline 92 ms (limit 110 ms).")])
    nplusone = CheckResult(
        id="nplusone", title="N+1 queries", section=Section.PERFORMANCE, status=Status.WARN,
        summary="2 potential N+1 (GET /api/v1/articles, GET /api/v1/feed); 24 requests profiled",
        metrics={"requests_profiled": 24, "queries_captured": 612},
        findings=[_f("NPQ001", M, "Potential N+1 query", {"endpoint": f"GET /api/v1/{p}"},
                     message=f"SELECT tags ... repeated {n} times in one request.") for p, n in (("articles", 15),
                                                                                               ("feed", 20))])
    security = CheckResult(
        id="security", title="Security", section=Section.SECURITY, status=Status.FAIL,
        summary="repo: 2 committed secrets (4 lower-severity possible secrets), bandit: 6 issues in 88 files; "
                "service: 40 probes, 19 secured operations checked for anonymous access, 1 open",
        metrics={"secrets_found": 6, "bandit_issues": 6, "requests": 40},
        findings=[_f("SEC010", H, "Secret committed: Secret Keyword", {"file": f"app/config/{n}.py", "line": 12},
                     message="Secret Keyword in app/config line 12 (the value is masked).") for n in ("prod", "stage")]
        + [_f("SEC020", H, "Secured operation answers anonymous callers", {"endpoint": "GET /api/v1/admin/users"},
              message="GET /api/v1/admin/users without any credential answered 200.")]
        + [_f("SEC041", L, "Missing X-Content-Type-Options: nosniff", {"endpoint": f"GET {p}"}) for p in paths]
        + [_f("SEC040", L, "Version banner in response headers", {"url": "http://127.0.0.1:8000"},
              suppressed=True)]
        + [_f("SEC001", M, "Insecure code pattern (bandit): B608", {"file": f"app/db/q{i}.py", "line": 4 * i})
           for i in range(1, 5)]
        + [_f("SEC014", L, "Possible secret: Hex High Entropy String", {"file": f"tests/fixtures/f{i}.py", "line": 1},
              known=True) for i in range(1, 5)])
    dependencies = CheckResult(
        id="dependencies", title="Dependencies", section=Section.SECURITY, status=Status.FAIL,
        summary="41 packages in 2 manifests: 3 vulnerable (4 advisories), 2 with a fix; 9 unpinned",
        metrics={"packages": 41, "audited": 41, "vulnerable": 3},
        findings=[_f("DEP001", H, "Vulnerable dependency with a fix", {"file": "requirements.txt", "package": p},
                     message=f"{p} {v} has {a} (fixed in {fix}).") for p, v, a, fix in (
            ("django", "4.2.1", "GHSA-xxxx-1", "4.2.16"), ("jinja2", "3.1.2", "GHSA-xxxx-2", "3.1.4"))]
        + [_f("DEP010", L, "Unpinned dependency", {"file": "requirements.txt", "package": f"pkg{i}"})
           for i in range(9)])
    coverage = CheckResult(
        id="coverage", title="Test coverage", section=Section.COVERAGE, status=Status.FAIL,
        summary="coverage 71.4 % of application code, tests excluded (threshold 80 %); 212 passed, 0 failed",
        metrics={"percent_covered": 71.4, "threshold": 80, "tests_passed": 212, "tests_failed": 0},
        findings=[_f("COV001", H, "Coverage under the threshold", {},
                     message="Total coverage is 71.4 % (1,520 of 2,129 statements), under the 80 % threshold.")])
    migrations = CheckResult(id="migrations", title="Migrations", section=Section.MIGRATIONS, status=Status.SKIPPED,
                             summary="no Alembic or Django migrations found in the repo")
    deployment = CheckResult(
        id="deployment", title="Deployment", section=Section.DEPLOYMENT, status=Status.FAIL,
        summary="14 items: 9 pass, 3 warn, 2 fail, 0 not checked; graceful shutdown measured (pass)",
        metrics={"items_passed": 9, "items_warned": 3, "items_failed": 2, "items_not_checked": 0},
        findings=[_f("DPL007", H, "No HEALTHCHECK in the Dockerfile", {"file": "Dockerfile"})]
        + [_f("DPL011", M, ".dockerignore lets secrets into the image", {"file": ".dockerignore"})]
        + [_f("DPL020", I, "Runbook section missing", {"file": "RUNBOOK.md", "section": s})
           for s in ("rollback", "on-call", "alerts")])
    health = CheckResult(
        id="health", title="Health and metrics", section=Section.DEPLOYMENT, status=Status.WARN,
        summary="liveness /livez answers 200; readiness /readyz answers 200; /metrics has RED metrics (14 "
                "families, 5 lint problems)",
        metrics={"liveness_path": "/livez", "readiness_path": "/readyz", "metrics_path": "/metrics"},
        findings=[_f("HLT041", I, "Metric name not in base units", {"metric": f"m{i}_milliseconds"})
                  for i in range(5)])
    checks = [health, openapi, latency, nplusone, security, dependencies, coverage, migrations, deployment]
    return Report(tool={"name": "backend-auditor", "version": "0.2.0"},
                  target={"url": "http://127.0.0.1:8000", "spec": "http://127.0.0.1:8000/api/docs.json",
                          "repo": "/src/conduit-like", "safety": {"read_only": False, "notices": []}},
                  started_at="2026-12-05T10:00:00+00:00", duration_s=182.4, verdict=Verdict.FAIL, checks=checks,
                  gate={"fail_on": "high", "exit_code": 1,
                        "baseline": {"path": "main/report.json", "new": 99, "known": 5,
                                     "fixed": [{"check": "security", "rule_id": "SEC030", "fingerprint": "f" * 16}]},
                        "regressions": [{"check": "latency", "metric": "p95_ms", "baseline": 92, "current": 184.2,
                                         "limit": 110}]})


def finding_count(report: Report) -> int:
    return sum(len(c.findings) for c in report.checks)
