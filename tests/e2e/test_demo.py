"""`audit demo` end to end: the real sample service started by --serve, audited, stopped."""

import json

import pytest

from tests.conftest import run_audit_cli

pytestmark = pytest.mark.timeout(300)


def test_clean_demo_passes_health_and_writes_every_format(tmp_path):
    out = tmp_path / "out"
    proc = run_audit_cli("demo", "--checks", "health", "--output-dir", str(out))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    report = json.loads((out / "report.json").read_text())
    health = next(c for c in report["checks"] if c["id"] == "health")
    assert health["status"] == "pass", health
    assert report["verdict"] == "pass"
    assert report["service"]["graceful_shutdown"] is True
    assert {"report.html", "report.json", "report.md", "junit.xml", "service.log"} <= {p.name for p in out.iterdir()}
    # SQL echo was on: the service's captured output holds statements for later checks.
    assert '"logger": "sql"' in (out / "service.log").read_text()
    assert "READY" in proc.stdout and str(out / "report.html") in proc.stdout


def test_demo_with_health_defects_fails_with_hlt_findings(tmp_path):
    out = tmp_path / "out"
    proc = run_audit_cli("demo", "--defects", "no_metrics,no_health", "--checks", "health", "--output-dir", str(out))
    assert proc.returncode == 1, proc.stdout + proc.stderr
    report = json.loads((out / "report.json").read_text())
    health = next(c for c in report["checks"] if c["id"] == "health")
    assert health["status"] == "fail"
    high = [f for f in health["findings"] if f["severity"] in ("high", "critical")]
    assert high and all(f["rule_id"].startswith("HLT") for f in high)
    assert "NOT READY" in proc.stdout


def test_unknown_defect_is_one_line_exit_2(tmp_path):
    proc = run_audit_cli("demo", "--defects", "no_such_defect", "--output-dir", str(tmp_path / "out"))
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: --defects: unknown defect 'no_such_defect'")
