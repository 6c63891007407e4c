"""Issue 8's timing proof on the real sample service: a p95 regression beyond the noise band fails the
gate (exit 1), one within it passes (exit 0). The baselines are the first run's own report with its
p95 figures rewritten, and the p95 budget is a minute, so the test needs no timing assumption about this
machine."""

import json

import pytest

from tests.conftest import run_audit_cli

pytestmark = pytest.mark.timeout(300)

LOAD = ["--checks", "latency", "--load-duration", "3", "--load-rate", "20", "--format", "json"]
BUDGET = "[latency]\np95_ms = 60000\n"   # never over budget: only the regression gate decides


def _with_p95(report: dict, scale: float) -> dict:
    latency = next(c for c in report["checks"] if c["id"] == "latency")
    latency["metrics"]["p95_ms"] *= scale
    for endpoint in latency["metrics"].get("endpoints", []):
        endpoint["p95_ms"] *= scale
    return report


def test_p95_regression_beyond_the_band_fails_and_within_it_passes(tmp_path):
    first = tmp_path / "first"
    budget = tmp_path / "budget.toml"
    budget.write_text(BUDGET)
    proc = run_audit_cli("demo", *LOAD, "--config", str(budget), "--output-dir", str(first))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    measured = json.loads((first / "report.json").read_text())

    # A baseline 1000x faster than what was measured, and a band of +10 % and +0 ms: a regression.
    fast = tmp_path / "fast.json"
    fast.write_text(json.dumps(_with_p95(json.loads(json.dumps(measured)), 0.001)))
    strict = tmp_path / "strict.toml"
    strict.write_text(BUDGET + "[policy.regressions]\np95_ratio = 0.1\np95_noise_ms = 0\n")
    proc = run_audit_cli("demo", *LOAD, "--baseline", str(fast), "--config", str(strict),
                         "--output-dir", str(tmp_path / "regressed"))
    assert proc.returncode == 1, proc.stdout + proc.stderr
    report = json.loads((tmp_path / "regressed" / "report.json").read_text())
    regressions = report["gate"]["regressions"]
    assert any(r["check"] == "latency" and r["metric"] == "p95_ms" and "endpoint" not in r for r in regressions)
    latency = next(c for c in report["checks"] if c["id"] == "latency")
    assert any(f["rule_id"] == "LAT900" and f["severity"] == "high" for f in latency["findings"])

    # The same baseline as measured, under a band (+100 % and +60 s) no run-to-run difference reaches: a pass.
    loose = tmp_path / "loose.toml"
    loose.write_text(BUDGET + "[policy.regressions]\np95_ratio = 1.0\np95_noise_ms = 60000\n")
    proc = run_audit_cli("demo", *LOAD, "--baseline", str(first / "report.json"), "--config", str(loose),
                         "--output-dir", str(tmp_path / "steady"))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert json.loads((tmp_path / "steady" / "report.json").read_text())["gate"]["regressions"] == []
