"""The dependencies check through the real `audit` command: exit codes, report.json, and `audit demo`
with no reachable vulnerability source (the sandbox's situation, made deterministic with a closed port)."""

from __future__ import annotations

import json

from tests.checks.dependencies_helpers import OSV_DIR, VULNERABLE_APP, closed_port
from tests.conftest import run_audit_cli


def _check(out_dir):
    report = json.loads((out_dir / "report.json").read_text())
    (check,) = [c for c in report["checks"] if c["id"] == "dependencies"]
    return report, check


def test_run_with_vuln_db_fails_the_gate_on_a_fixable_vulnerability(tmp_path):
    out = tmp_path / "out"
    done = run_audit_cli("run", "--repo", str(VULNERABLE_APP), "--checks", "dependencies", "--vuln-db", str(OSV_DIR),
                         "--output-dir", str(out), "--format", "json,md", timeout=120)
    assert done.returncode == 1, done.stderr
    report, check = _check(out)
    assert check["status"] == "fail" and report["verdict"] == "fail"
    rules = sorted(f["rule_id"] for f in check["findings"])
    assert rules == ["DEP001", "DEP001", "DEP002", "DEP002", "DEP010", "DEP011", "DEP030"]
    assert check["metrics"]["source"] == "osv-offline"
    assert "fixture-web" in (out / "report.md").read_text()


def test_demo_without_a_reachable_source_warns_not_audited_and_keeps_the_verdict(tmp_path):
    out = tmp_path / "out"
    config = tmp_path / "audit.toml"
    # Credentials in a mirror URL must never reach the report.
    config.write_text(f'[dependencies]\nosv_url = "http://user:s3cr3t-token@127.0.0.1:{closed_port()}/v1/query"\n')
    done = run_audit_cli("demo", "--checks", "dependencies", "--config", str(config), "--output-dir", str(out),
                         "--format", "json,html,md,junit", timeout=120)
    assert done.returncode == 0, done.stderr
    report, check = _check(out)
    assert check["status"] == "warn" and report["verdict"] == "pass"
    assert "NOT AUDITED" in check["summary"] and check["metrics"]["audited"] == 0
    assert [f["rule_id"] for f in check["findings"]] == ["DEP020"]
    for written in out.iterdir():
        if written.is_file():
            assert "s3cr3t-token" not in written.read_text(errors="replace"), written.name
    assert "s3cr3t-token" not in done.stdout + done.stderr
