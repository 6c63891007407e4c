"""security check, service part: a purpose-built insecure server on 127.0.0.1, the sample service clean
and with its seeded defects, and "one problem, one finding" with the openapi check."""

from __future__ import annotations

from pathlib import Path

import pytest

from auditor.demo import demo_serve_spec
from auditor.http import SAFE_METHODS
from auditor.model import CheckResult, Finding, Outcome, Section, Severity, Status
from auditor.operations import Parameter, operations
from auditor.planner import PlannedRequest
from checks.security.check import SecurityCheck
from checks.security.config import SecurityConfig
from checks.security.probes import BOGUS_JWT, bogus_credential, malformed_requests, malformed_value
from tests.checks.security_helpers import INSECURE_SPEC, insecure_server
from tests.conftest import check_context, sample_service
from tests.stub_server import StubServer


def run_service(url: str, tmp_path: Path, config: SecurityConfig | None = None, *, repo: Path | None = None,
                earlier: dict[str, CheckResult] | None = None, headers: dict[str, str] | None = None,
                spec: str | None = None) -> Outcome:
    ctx = check_context(url, config or SecurityConfig(), tmp_path, repo=repo, headers=headers, spec=spec)
    ctx.earlier = earlier or {}
    with ctx.http:
        return SecurityCheck().run(ctx)


def rules_at(outcome: Outcome) -> set[tuple[str, str]]:
    return {(f.rule_id, f.location.get("endpoint") or "service") for f in outcome.findings}


@pytest.fixture
def insecure():
    with insecure_server() as server:
        yield server


def test_insecure_server_every_problem_found(insecure, tmp_path):
    outcome = run_service(insecure.url, tmp_path)
    assert rules_at(outcome) == {
        ("SEC020", "GET /secret"),    # secured in the spec, 200 without credentials
        ("SEC021", "GET /private"),   # accepts an unsigned alg-none JWT
        ("SEC022", "GET /items"),     # foreign Origin echoed with credentials (GET and preflight: one finding)
        ("SEC023", "GET /items"),     # Origin: null allowed with credentials
        ("SEC030", "GET /items"),     # traceback in the 500 of ?limit=not-a-number
        ("SEC040", "service"),        # Server: Werkzeug/3.1.9 Python/3.11.7
        ("SEC041", "service"),        # no nosniff
        ("SEC052", "service"),        # no rate-limit headers
    }
    banners = [f for f in outcome.findings if f.rule_id == "SEC040"]
    assert len(banners) == 2  # Server and X-Powered-By
    trace = next(f for f in outcome.findings if f.rule_id == "SEC030")
    assert "limit=not-a-number" in trace.message and trace.severity == Severity.HIGH
    assert outcome.metrics["open_operations"][0]["endpoint"] == "GET /secret"


def test_only_safe_methods_reach_the_service(insecure, tmp_path):
    run_service(insecure.url, tmp_path, SecurityConfig(rate_limit_burst=5))
    assert insecure.requests and {method for method, _, _ in insecure.requests} <= SAFE_METHODS


def test_authenticated_response_without_no_store(insecure, tmp_path):
    outcome = run_service(insecure.url, tmp_path, headers={"Authorization": "Bearer real-token-value"},
                          config=SecurityConfig(invalid_token=False))
    assert ("SEC042", "GET /private") in rules_at(outcome)
    assert ("SEC021", "GET /private") not in rules_at(outcome)  # switched off
    assert "real-token-value" not in str([f.to_dict() for f in outcome.findings])


def test_openapi_ignored_auth_is_linked_not_repeated(insecure, tmp_path):
    openapi_finding = Finding(rule_id="OAS401", severity=Severity.HIGH, title="Ignored auth (ST401)",
                              message="schemathesis ST401: the API accepts requests without authentication",
                              location={"endpoint": "GET /secret"})
    other = Finding(rule_id="OAS108", severity=Severity.MEDIUM, title="Response does not match its schema (ST108)",
                    message="", location={"endpoint": "GET /private"})
    earlier = {"openapi": CheckResult(id="openapi", title="OpenAPI", section=Section.OPENAPI, status=Status.FAIL,
                                      summary="", findings=[openapi_finding, other])}
    outcome = run_service(insecure.url, tmp_path, earlier=earlier)
    assert ("SEC020", "GET /secret") not in rules_at(outcome)
    assert ("SEC021", "GET /private") in rules_at(outcome)  # openapi's finding there is about something else
    assert outcome.metrics["linked_findings"] == [{
        "endpoint": "GET /secret", "status": 200, "request": "GET /secret", "reported_by": "openapi",
        "rule_id": "OAS401", "fingerprint": openapi_finding.fingerprint}]
    # ST401 covers invalid credentials too: with it reported at /private, SEC021 is linked as well.
    at_private = Finding(rule_id="OAS401", severity=Severity.HIGH, title="Ignored auth (ST401)", message="",
                         location={"endpoint": "GET /private"})
    earlier["openapi"].findings.append(at_private)
    linked = run_service(insecure.url, tmp_path, earlier=earlier)
    assert not {r for r, _ in rules_at(linked)} & {"SEC020", "SEC021"}
    assert [row["endpoint"] for row in linked.metrics["linked_findings"]] == ["GET /secret", "GET /private"]
    assert "already reported by openapi: GET /secret as OAS401" in outcome.summary


def test_only_openapi_rule_oas401_at_the_same_endpoint_is_linked(insecure, tmp_path):
    """Free text is no link: an openapi finding of another rule that mentions ST401 / ignored auth (a
    schema finding quoting a body, say) must not swallow SEC020; OAS401 at another endpoint neither."""
    mentions = Finding(rule_id="OAS108", severity=Severity.MEDIUM, title="Response does not match its schema",
                       message="the body says: ignored auth is checked elsewhere (ST401)",
                       evidence='{"detail": "ST401 ignored_auth"}', location={"endpoint": "GET /secret"})
    elsewhere = Finding(rule_id="OAS401", severity=Severity.HIGH, title="Ignored auth (ST401)", message="",
                        location={"endpoint": "GET /items"})
    earlier = {"openapi": CheckResult(id="openapi", title="OpenAPI", section=Section.OPENAPI, status=Status.FAIL,
                                      summary="", findings=[mentions, elsewhere])}
    outcome = run_service(insecure.url, tmp_path, earlier=earlier)
    assert ("SEC020", "GET /secret") in rules_at(outcome)
    assert outcome.metrics["linked_findings"] == []


def test_rate_limit_burst_is_capped_and_judged(tmp_path):
    count = {"n": 0}

    def limited(handler):
        count["n"] += 1
        if count["n"] > 3:
            return 429, {"Content-Type": "text/plain"}, "slow down"  # no Retry-After
        return 200, {"Content-Type": "application/json", "X-Content-Type-Options": "nosniff"}, "{}"

    with StubServer(routes={"/": limited}) as server:
        outcome = run_service(server.url, tmp_path, SecurityConfig(rate_limit_burst=10, rate_limit_path="/"))
        assert ("SEC051", "service") in rules_at(outcome)
        assert outcome.metrics["rate_limit_burst"] <= 10
    with StubServer(routes={"/": (200, {"X-Content-Type-Options": "nosniff"}, "{}")}) as server:
        outcome = run_service(server.url, tmp_path, SecurityConfig(rate_limit_burst=7, rate_limit_path="/"))
        assert ("SEC050", "service") in rules_at(outcome)
        assert sum(1 for r in server.requests if r[0] == "GET" and r[1] == "/") >= 7


def test_unreachable_service_is_an_error(tmp_path):
    from auditor.interface import CheckError

    with StubServer() as server:
        url = server.url
    with pytest.raises(CheckError, match="does not answer"):
        run_service(url, tmp_path, SecurityConfig())


def test_no_spec_still_probes_the_base_url(tmp_path):
    with StubServer(routes={"/": (200, {"Server": "nginx/1.18.0"}, "hi")}) as server:
        outcome = run_service(server.url, tmp_path)
    assert ("SEC040", "service") in rules_at(outcome)
    assert outcome.metrics["spec_used"] is False and "no OpenAPI document" in outcome.summary


def test_request_builders():
    ops = {op.endpoint: op for op in operations(INSECURE_SPEC)}
    headers, query, _ = bogus_credential(ops["GET /secret"], INSECURE_SPEC)
    assert headers == {"Authorization": f"Bearer {BOGUS_JWT}"} and query == {}
    assert malformed_value(Parameter("d", "query", False, {"type": "string", "format": "date"})) == "not-a-date"
    assert malformed_value(Parameter("n", "query", False, {"anyOf": [{"type": "integer"}, {"type": "null"}]})) \
        == "not-a-number"
    assert malformed_value(Parameter("s", "query", False, {"type": "string"})) is None
    document = {"openapi": "3.0.3", "info": {"title": "t", "version": "1"}, "servers": [{"url": "/api"}],
                "paths": {"/books/{book_id}": {"get": {"parameters": [
                    {"name": "book_id", "in": "path", "required": True, "schema": {"type": "integer"}, "example": 7},
                    {"name": "since", "in": "query", "schema": {"type": "string", "format": "date"}}],
                    "responses": {"200": {"description": "ok"}}}}}}
    plan = PlannedRequest(operations(document)[0], "/api/books/7", {"book_id": 7}, prefix="/api")
    assert malformed_requests(plan) == [("/api/books/7?since=not-a-date", "since=not-a-date", "GET /books/{book_id}"),
                                        ("/api/books/not-a-number", "book_id=not-a-number", "GET /books/{book_id}")]


# ---- the sample service ---------------------------------------------------------------------------------

def test_clean_sample_service_has_no_high_finding(tmp_path):
    _serve, repo = demo_serve_spec([])
    with sample_service(tmp_path, env={"RATE_LIMIT_PER_MINUTE": "40"}) as service:
        outcome = run_service(service.url, tmp_path, repo=repo)
        high = [f for f in outcome.findings if f.severity.rank >= Severity.HIGH.rank and not f.suppressed]
        assert high == [], [(f.rule_id, f.location, f.message) for f in high]
        assert not {r for r, _ in rules_at(outcome)} & {"SEC020", "SEC030", "SEC052"}
        assert outcome.metrics["secured_operations"] > 0 and outcome.metrics["bandit_files"] > 0
        burst = run_service(service.url, tmp_path, SecurityConfig(bandit=False, secrets=False, rate_limit_burst=80))
        assert not {r for r, _ in rules_at(burst)} & {"SEC050", "SEC051"}
        assert burst.metrics["rate_limit_burst"] < 80  # stopped at the first 429
        assert f"429 after {burst.metrics['rate_limit_burst']} requests" in burst.summary


def test_sample_service_defects_are_found(tmp_path):
    with sample_service(tmp_path, defects=["missing_auth", "leaky_errors", "no_rate_limit"]) as service:
        outcome = run_service(service.url, tmp_path)
        found = rules_at(outcome)
        assert ("SEC020", "GET /orders") in found       # missing_auth
        assert ("SEC030", "GET /books") in found        # leaky_errors: published_after=not-a-date
        assert ("SEC052", "service") in found           # no_rate_limit: no rate-limit headers
        burst = run_service(service.url, tmp_path, SecurityConfig(rate_limit_burst=30))
        assert [f.location for f in burst.findings if f.rule_id == "SEC050"] == [{"endpoint": "GET /authors"}]


def test_audit_demo_security_on_the_clean_sample_service_passes(tmp_path):
    """The real CLI, as a user runs it: `audit demo --checks security` (repo = sample_service itself)."""
    import json

    from tests.conftest import run_audit_cli

    clean = run_audit_cli("demo", "--checks", "security", "--output-dir", str(tmp_path / "clean"), timeout=180)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    report = json.loads((tmp_path / "clean" / "report.json").read_text())
    security = report["checks"][0]
    assert (security["id"], security["status"], security["findings"]) == ("security", "pass", [])
    assert security["metrics"]["bandit_files"] > 0 and security["metrics"]["secured_operations"] > 0


def _exchange(probe: str, status: int, headers: dict[str, str], body: str = "", path: str = "/x",
              endpoint: str | None = "GET /x", note: str = "", method: str = "GET"):
    from checks.security.probes import Exchange

    return Exchange(probe=probe, method=method, path=path, endpoint=endpoint, status=status,
                    headers={k.lower(): v for k, v in headers.items()}, body=body, url="", note=note,
                    evidence=f"{method} {path} → {status}")


def test_judge_https_without_hsts_sql_errors_and_plain_origin_reflection():
    """Pure judging over saved exchanges: what a loopback test server cannot easily show (https)."""
    from checks.security.probes import Gathered
    from checks.security.service_judge import judge

    origin = "https://evil.invalid"
    got = Gathered(base_url="https://api.example.test", exchanges=[
        _exchange("baseline", 200, {"X-Content-Type-Options": "nosniff", "RateLimit-Limit": "10"}),
        _exchange("cors_foreign", 200, {"Access-Control-Allow-Origin": origin, "X-Content-Type-Options": "nosniff"},
                  note=origin),
        _exchange("malformed", 500, {}, body='{"error": "psycopg2.errors.InvalidTextRepresentation: invalid input"}',
                  path="/x?id=not-a-number", note="id=not-a-number"),
    ])
    verdict = judge(got, {})
    assert {(f.rule_id, str(f.severity)) for f in verdict.findings} == {
        ("SEC043", "medium"), ("SEC031", "medium"), ("SEC024", "low")}
    with_hsts = Gathered(base_url="https://api.example.test", exchanges=[
        _exchange("baseline", 200, {"Strict-Transport-Security": "max-age=31536000", "X-Content-Type-Options": "nosniff",
                                    "X-RateLimit-Limit": "5"})])
    assert judge(with_hsts, {}).findings == []


def test_anonymous_answers_by_design_are_not_sec020():
    """Optional authentication, and public reads under security declared on every operation, are the openapi
    check's documentation findings; a read that ignores credentials in a document securing only some
    operations stays SEC020."""
    from checks.security.probes import Exchange, Gathered
    from checks.security.service_judge import judge

    def anonymous(endpoint: str) -> Exchange:
        path = endpoint.split(" ", 1)[1]
        return Exchange("anonymous", "GET", path, endpoint, 200, {"content-type": "application/json"}, "[]",
                        url=f"http://127.0.0.1:1{path}")

    modes = {"GET /feed": "optional", "GET /tags": "public", "GET /orders": "public"}
    exchanges = [anonymous(e) for e in modes]
    blanket = judge(Gathered(base_url="http://127.0.0.1:1", exchanges=exchanges, auth_modes=modes,
                             blanket_security=True), {})
    assert not [f for f in blanket.findings if f.rule_id == "SEC020"]
    assert blanket.optional_auth == ["GET /feed"] and blanket.public_reads == ["GET /tags", "GET /orders"]
    some = judge(Gathered(base_url="http://127.0.0.1:1", exchanges=exchanges, auth_modes=modes), {})
    assert sorted(f.location["endpoint"] for f in some.findings if f.rule_id == "SEC020") == ["GET /orders",
                                                                                               "GET /tags"]
