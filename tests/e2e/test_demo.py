"""`audit demo` end to end: the real sample service started by --serve, audited, stopped."""

import json
import sqlite3

import pytest

from tests.conftest import run_audit_cli
from tests.e2e.demo_helpers import assert_clean_demo, clean_demo_args

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


def test_demo_ignores_the_shells_database_and_cache_urls(tmp_path):
    # A developer's shell often exports its own project's DATABASE_URL / REDIS_URL; the demo's
    # --migrate --seed must not reach them.
    victim = tmp_path / "victim.db"
    with sqlite3.connect(victim) as db:
        db.execute("CREATE TABLE precious (id INTEGER PRIMARY KEY)")
        db.execute("INSERT INTO precious VALUES (1)")
    before = victim.read_bytes()
    out = tmp_path / "out"
    proc = run_audit_cli("demo", "--checks", "health", "--output-dir", str(out),
                         env={"DATABASE_URL": f"sqlite:///{victim}", "REDIS_URL": "redis://127.0.0.1:1/0"})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert victim.read_bytes() == before
    with sqlite3.connect(victim) as db:
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert tables == {"precious"}


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


# Each seeded defect and the finding that must catch it: (check, rule id, where).
DETECTORS = {
    "no_health": ("health", "HLT001", None),
    "no_metrics": ("health", "HLT020", None),
    "n_plus_one": ("nplusone", "NPQ001", "GET /books"),
    "slow_endpoint": ("latency", "LAT001", "GET /authors"),
    "undocumented_error": ("openapi", "OAS101", "GET /books"),
    "missing_auth": ("openapi", "OAS401", "GET /orders"),
    "leaky_errors": ("security", "SEC030", "GET /books"),
    "no_rate_limit": ("security", "SEC052", None),
}


def test_full_demo_runs_every_check_and_finds_the_clean_service_ready(tmp_path):
    """The same expectations as the installed wheel's demo (tests/e2e/test_wheel.py)."""
    out = tmp_path / "out"
    proc = run_audit_cli("demo", *clean_demo_args(tmp_path), "--output-dir", str(out))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "verdict: READY (pass, exit 0)" in proc.stdout
    assert_clean_demo(out, installed=False)


def test_full_demo_with_every_defect_catches_each_at_its_place(tmp_path):
    out = tmp_path / "out"
    proc = run_audit_cli("demo", "--defects", ",".join(DETECTORS), "--output-dir", str(out))
    assert proc.returncode == 1, proc.stdout + proc.stderr
    report = json.loads((out / "report.json").read_text())
    assert not [c["id"] for c in report["checks"] if c["status"] == "error"]
    found = {(c["id"], f["rule_id"], f["location"].get("endpoint")) for c in report["checks"] for f in c["findings"]}
    for defect, (check, rule, endpoint) in DETECTORS.items():
        assert any(c == check and r == rule and (endpoint is None or e == endpoint) for c, r, e in found), defect
    # one problem, one finding: the anonymous /orders is openapi's; security links to it, not repeats it
    assert ("security", "SEC020", "GET /orders") not in found
