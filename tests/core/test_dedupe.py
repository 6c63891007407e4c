"""One finding per defect across checks (issue 16, item 2): a committed .env is SEC012 (security) and
DPL020 (deployment) — one finding in the report, the other listed in also_seen_by, through the CLI."""

from __future__ import annotations

import json
import subprocess

from auditor import dedupe
from auditor.model import CheckResult, Finding, Section, Status
from tests.conftest import run_audit_cli


def _finding(rule: str, severity: str, defect: str = "") -> Finding:
    finding = Finding(rule_id=rule, severity=severity, title=rule, message=rule, location={"file": ".env"})
    finding.defect = defect
    return finding


def test_the_most_severe_finding_of_a_defect_stays_and_names_the_others():
    security = CheckResult(id="security", title="s", section=Section.SECURITY, status=Status.FAIL, summary="",
                           findings=[_finding("SEC012", "medium", "committed-env:/r/.env"), _finding("SEC010", "low")])
    deployment = CheckResult(id="deployment", title="d", section=Section.DEPLOYMENT, status=Status.FAIL, summary="",
                             findings=[_finding("DPL020", "high", "committed-env:/r/.env")])
    assert dedupe.merge([security, deployment]) == 1
    assert [f.rule_id for f in security.findings] == ["SEC010"]
    (kept,) = deployment.findings
    assert kept.rule_id == "DPL020" and kept.also_seen_by == [
        {"check": "security", "rule_id": "SEC012", "fingerprint": _finding("SEC012", "medium").fingerprint}]
    assert dedupe.merge([security, deployment]) == 0  # nothing left to merge


def test_a_committed_env_file_is_one_finding_in_the_report(tmp_path):
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / ".env").write_text("SECRET_KEY=Zq8vN3pL6wR1tY9kQ2\nDEBUG=1\n")  # pragma: allowlist secret
    (repo / "app.py").write_text("import os\nSECRET = os.environ['SECRET_KEY']\n")
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
    subprocess.run(["git", "add", "-A"], cwd=repo, check=True)
    out = tmp_path / "out"
    result = run_audit_cli("run", "--repo", str(repo), "--checks", "security,deployment", "--output-dir", str(out))
    assert result.returncode == 1, result.stdout + result.stderr
    report = json.loads((out / "report.json").read_text())
    env = [(c["id"], f) for c in report["checks"] for f in c["findings"] if f["location"].get("file") == ".env"
           and f["rule_id"] in ("SEC012", "DPL020")]
    assert len(env) == 1
    check, finding = env[0]
    other = {"security": ("deployment", "DPL020"), "deployment": ("security", "SEC012")}[check]
    assert [(o["check"], o["rule_id"]) for o in finding["also_seen_by"]] == [other]
    assert report["schema_version"] == "1.2"
    html = (out / "report.html").read_text()
    assert "Also reported by" in html and "the same defect, shown once" in html


def test_a_500_seen_by_conformance_and_by_the_load_is_one_finding(tmp_path):
    from tests.stub_server import StubServer

    spec = {"openapi": "3.0.3", "info": {"title": "t", "version": "1"},
            "paths": {"/items": {"get": {"operationId": "items", "responses": {"200": {"description": "ok"}}}},
                      "/health": {"get": {"operationId": "health", "responses": {"200": {"description": "ok"}}}}}}
    stub = StubServer(routes={"/openapi.json": (200, {"Content-Type": "application/json"}, json.dumps(spec)),
                              "/items": (500, {"Content-Type": "text/plain"}, "boom"),
                              "/health": (200, {"Content-Type": "application/json"}, "{}")})
    out = tmp_path / "out"
    with stub:
        result = run_audit_cli("run", "--url", stub.url, "--checks", "openapi,latency", "--load-duration", "2",
                               "--load-rate", "20", "--output-dir", str(out))
    assert result.returncode == 1, result.stdout + result.stderr
    report = json.loads((out / "report.json").read_text())
    about_items = [(c["id"], f) for c in report["checks"] for f in c["findings"]
                   if f["location"].get("endpoint") == "GET /items" and f["rule_id"] in ("OAS101", "LAT002")]
    assert [(check, f["rule_id"]) for check, f in about_items] == [("openapi", "OAS101")]
    assert [(o["check"], o["rule_id"]) for o in about_items[0][1]["also_seen_by"]] == [("latency", "LAT002")]
