"""What `audit demo` on the clean sample service must say — from the source checkout (test_demo.py) and
from a wheel installed in a fresh venv (test_wheel.py) alike.

Both runs are made deterministic in the same two ways: the vulnerability data comes from the offline
OSV fixtures (``--vuln-db``; PyPI may or may not be reachable from a test machine, and "not audited" is
tested on its own in tests/checks/test_dependencies_cli.py), and the p95 budget is a minute (this
machine's speed is measured in benchmarks/, never a pass condition of a test). The load runs at 120 req/s.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
OSV_DIR = REPO_ROOT / "tests" / "data" / "osv"

CLEAN_STATUSES = {"health": "pass", "openapi": "pass", "latency": "pass", "nplusone": "pass", "security": "pass",
                  "dependencies": "pass", "coverage": "pass", "migrations": "pass", "deployment": "pass"}


def clean_demo_args(work: Path) -> list[str]:
    """The arguments after `audit demo`; a config file is written into ``work``."""
    config = work / "demo-budget.toml"
    # 120 req/s: the same 100 samples per endpoint in a third of the time (CI's wall clock; the sample
    # service's 6000-a-minute demo limit holds the whole audit's requests).
    config.write_text("[latency]\np95_ms = 60000\nrate = 120\n")
    return ["--vuln-db", str(OSV_DIR), "--config", str(config)]


def assert_clean_demo(out: Path, *, installed: bool) -> dict[str, Any]:
    """The report in ``out`` is the clean demo's: every check as expected, READY. One difference, and a
    true one: in the checkout the sample service sits in a repository with CI (.ci/run, found up to the
    git root); installed in site-packages it does not, so "CI configuration" is a warn there (DPL041,
    medium, below the gate)."""
    report = json.loads((out / "report.json").read_text())
    assert report["verdict"] == "pass"
    expected = {**CLEAN_STATUSES, "deployment": "warn"} if installed else CLEAN_STATUSES
    assert {c["id"]: c["status"] for c in report["checks"]} == expected
    serious = sorted((c["id"], f["rule_id"], f["severity"]) for c in report["checks"] for f in c["findings"]
                     if f["severity"] in ("critical", "high", "medium"))
    assert serious == ([("deployment", "DPL041", "medium")] if installed else [])
    deployment = next(c for c in report["checks"] if c["id"] == "deployment")
    # what the sample service ships beside its code: Dockerfile, ignore file, runbook, requirements
    not_passed = {row["item"]: row["status"] for row in deployment["metrics"]["checklist"] if row["status"] != "pass"}
    assert not_passed == ({"CI configuration": "warn"} if installed else {}), not_passed
    dependencies = next(c for c in report["checks"] if c["id"] == "dependencies")
    assert (dependencies["metrics"]["source"], dependencies["metrics"]["packages"], dependencies["metrics"]["audited"]) \
        == ("osv-offline", 12, 12)
    assert {"report.html", "report.json", "report.md", "junit.xml", "report.sarif"} <= {p.name for p in out.iterdir()}
    return report
