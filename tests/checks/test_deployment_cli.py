"""The deployment check through the real CLI: `audit demo` measures the sample service's shutdown and
passes; a later check that needs the service prevents the measurement; a bad repo fails with the
secret masked in every output file."""

from __future__ import annotations

import json
import os

from auditor.model import CheckResult, Report, Section, Status, Verdict
from reports.html import HtmlRenderer
from tests.checks.deployment_helpers import copy_repo
from tests.conftest import run_audit_cli
from tests.plugins import install_test_plugins

SECRET = "sup3r-s3cret-value-123"


def deployment(report: dict) -> dict:
    return next(c for c in report["checks"] if c["id"] == "deployment")


def rows(check: dict) -> dict[str, dict]:
    return {row["item"]: row for row in check["metrics"]["checklist"]}


def test_demo_with_health_and_deployment_passes_with_a_measured_shutdown(tmp_path):
    out = tmp_path / "out"
    proc = run_audit_cli("demo", "--checks", "health,deployment", "--output-dir", str(out), "--format", "json,html")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    report = json.loads((out / "report.json").read_text())
    check = deployment(report)
    assert check["status"] == "pass" and report["verdict"] == "pass" and check["findings"] == []
    items = rows(check)
    assert all(row["status"] == "pass" for row in items.values()), items
    assert items["CI configuration"]["detail"] == "../.ci/run"  # this checkout's CI, up to the git root
    shut = check["metrics"]["shutdown"]
    assert items["Graceful shutdown"]["status"] == "pass" and shut["completed"] == 3 and shut["in_flight_at_sigterm"] >= 1
    assert items["Health and metrics endpoints"]["status"] == "pass"
    # The runner's final stop returns the check's measurement: the report's service block agrees.
    assert report["service"]["graceful_shutdown"] is True and report["service"]["exit_code"] == 0
    assert report["service"]["shutdown_s"] == check["metrics"]["shutdown"]["shutdown_s"]
    html = (out / "report.html").read_text()
    assert 'class="deployment-checklist"' in html and "Graceful shutdown" in html


def test_a_later_check_that_needs_the_service_prevents_the_measurement(tmp_path):
    plugins = install_test_plugins(tmp_path / "plugins")
    env = {"PYTHONPATH": os.pathsep.join([str(plugins), os.environ.get("PYTHONPATH", "")])}
    out = tmp_path / "out"
    proc = run_audit_cli("demo", "--checks", "deployment,echoer", "--output-dir", str(out), "--format", "json",
                         env=env)
    report = json.loads((out / "report.json").read_text())
    check = deployment(report)
    assert check["metrics"]["shutdown"] is None
    assert "echoer still need the service" in rows(check)["Graceful shutdown"]["detail"]
    echoer = next(c for c in report["checks"] if c["id"] == "echoer")
    assert echoer["status"] != "error", (echoer, proc.stderr)   # it still found the service running


def test_bad_repo_fails_and_no_output_file_holds_the_secret(tmp_path):
    repo = copy_repo("bad", tmp_path)
    out = tmp_path / "out"
    proc = run_audit_cli("run", "--repo", str(repo), "--checks", "deployment", "--output-dir", str(out))
    assert proc.returncode == 1, proc.stdout + proc.stderr
    report = json.loads((out / "report.json").read_text())
    found = {f["rule_id"] for f in deployment(report)["findings"]}
    assert {"DPL003", "DPL004", "DPL005", "DPL007"} <= found
    written = sorted(p.name for p in out.iterdir())
    assert "report.html" in written and "report.json" in written
    for path in out.iterdir():
        assert SECRET not in path.read_text(errors="replace"), path.name
    assert SECRET not in proc.stdout + proc.stderr


def test_html_checklist_template_renders_every_status_and_escapes_repo_text():
    evil = '<script>alert(1)</script>"><img src=x>'
    checklist = [{"item": "Dockerfile present", "status": "pass", "detail": evil, "rules": ""},
                 {"item": "Base image pinned", "status": "fail", "detail": "FROM python:latest", "rules": "DPL003"},
                 {"item": "Runbook / operations docs", "status": "warn", "detail": "none", "rules": "DPL040"},
                 {"item": "Graceful shutdown", "status": "not checked", "detail": "not measured", "rules": ""}]
    check = CheckResult(id="deployment", title="Deployment checklist", section=Section.DEPLOYMENT,
                        status=Status.FAIL, summary="4 items", metrics={
                            "checklist": checklist, "items_passed": 1, "items_warned": 1, "items_failed": 1,
                            "items_not_checked": 1, "shutdown": None})
    report = Report(tool={"name": "backend-auditor", "version": "0"}, target={"url": None, "repo": "r"},
                    started_at="2026-01-01T00:00:00+00:00", duration_s=1.0, verdict=Verdict.FAIL, checks=[check],
                    gate={"fail_on": "high", "exit_code": 1})
    html = HtmlRenderer().render(report)
    table = html[html.index('class="deployment-checklist"'):]
    table = table[:table.index("</table>")]
    assert "<script" not in html and "<img" not in html and "&lt;script&gt;" in table
    for word in ("st-pass", "st-fail", "st-warn", "– not checked"):
        assert word in table, word
    assert "1 pass · 1 warn · 1 fail · 1 not checked" in html
