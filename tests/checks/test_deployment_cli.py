"""The deployment check through the real CLI: `audit demo` measures the sample service's shutdown and
passes; a later check that needs the service prevents the measurement; a bad repo fails with the
secret masked in every output file."""

from __future__ import annotations

import json
import os

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
    assert check["status"] in ("pass", "warn") and report["verdict"] == "pass"
    assert [f["rule_id"] for f in check["findings"] if f["severity"] in ("critical", "high", "medium")] == []
    items = rows(check)
    assert all(row["status"] in ("pass", "warn") for row in items.values()), items
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
