"""Issue 15's proof, through the CLI: one discovered spec for every check, live values for every parameter,
plans that understand authentication, boundary values — against planner_fixture.FixtureApi, which records
every request it gets."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import run_audit_cli
from tests.e2e.planner_fixture import ARTICLES, COMMENTS, PLACEHOLDERS, POPULAR, USER_TOKEN, FixtureApi


def test_planner_proof_through_the_cli(tmp_path: Path) -> None:
    out = tmp_path / "out"
    with FixtureApi(tmp_path / "sql.log") as api:
        proc = run_audit_cli(
            "run", "--url", api.url, "--checks", "openapi,latency,nplusone,security",
            "--header", f"Authorization: Bearer {USER_TOKEN}", "--sql-log", str(api.sql_log),
            "--load-duration", "2", "--load-rate", "20", "--output-dir", str(out), "--format", "json",
            cwd=tmp_path)
        requests = list(api.stub.requests)
    assert proc.returncode == 1, proc.stdout + proc.stderr      # gate failed (the overflow), nothing errored
    report = json.loads((out / "report.json").read_text())
    checks = {c["id"]: c for c in report["checks"]}
    findings = [(f["rule_id"], f["location"].get("endpoint"), f["severity"]) for c in checks.values()
                for f in c["findings"]]
    console = {line.split()[1]: line for line in (proc.stdout + proc.stderr).splitlines()
               if line.split()[1:2] and line.split()[1] in checks}

    # One spec, found once through the docs page, used by every check (none skipped).
    assert checks["openapi"]["metrics"]["spec"]["found_by"].startswith("docs page /redoc")
    assert {c["status"] for c in checks.values()} <= {"pass", "warn", "fail"}, console
    assert sum(1 for _, path, _ in requests if path == "/internal/spec-v1.json") == 1

    # No placeholder was ever requested; a real, nested-only username was.
    paths = [path.split("?")[0] for _, path, _ in requests]
    assert not [p for p in paths if p in PLACEHOLDERS or "{" in p]
    usernames = {who for _, who in ARTICLES} | {who for c in COMMENTS.values() for _, who in c}
    assert any(p.startswith("/api/profiles/") and p.rsplit("/", 1)[1] in usernames for p in paths)

    # latency: nothing loaded that the preflight refused; the console line says what was left out and why.
    latency = checks["latency"]
    assert not [f for f in findings if f[0] == "LAT002"], latency["summary"]
    loaded = {row["path"] for row in latency["metrics"]["endpoints"]}
    assert "/admin/stats" not in loaded and "/reports/{report_id}" not in loaded
    assert "/profiles/{username}" in loaded and "/articles/{slug}/comments" in loaded
    excluded = {e["endpoint"]: e["reason"] for e in latency["metrics"]["excluded"]}
    assert "role" in excluded["GET /admin/stats"] and "--header" not in excluded["GET /admin/stats"]
    assert excluded["GET /reports/{report_id}"] == "no live value for {report_id}"
    assert f"on {len(loaded)} endpoints" in console["latency"] and "; 2 excluded: " in console["latency"]
    assert "the account lacks access" in console["latency"] and "no live value for {report_id}" in console["latency"]

    # nplusone: the comments were profiled on the article with the most comments, where the N+1 shows.
    profiled = [path for _, path, headers in requests
                if headers.get("X-Request-ID", "").startswith("audit-npq-") and path.endswith("/comments")]
    assert profiled and all(p.split("?")[0] == f"/api/articles/{POPULAR}/comments" for p in profiled)
    assert ("NPQ001", "GET /articles/{slug}/comments", "high") in findings or \
        ("NPQ001", "GET /articles/{slug}/comments", "medium") in findings, findings
    assert "excluded" in console["nplusone"]

    # Optional authentication: no SEC020, no "ignored auth", no undocumented 401; one low documentation note.
    at_profile = [f for f in findings if f[1] == "GET /profiles/{username}"]
    assert not [f for f in at_profile if f[0] in ("SEC020", "OAS401", "OAS027", "OAS103") or f[2] == "high"]
    assert [f[0] for f in findings].count("OAS040") == 1
    assert "optional authentication" in console["security"]

    # The integer path parameter that overflows past 64 bits: found, reported once.
    assert [f for f in findings if f[0] == "OAS101"] == [("OAS101", "GET /items/{item_id}", "high")]
