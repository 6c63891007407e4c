"""The service's cost under load: CPU-seconds per 1,000 requests, RSS at the start and end of the load,
open files and threads — from the --serve process tree, through the real CLI — and a server that leaks
memory on every request shows it."""

from __future__ import annotations

import json

import pytest

from tests.checks.latency_helpers import run_check, serve_command, served
from tests.conftest import run_audit_cli

# 100 req/s for 2 s (200 measured requests) in one round; 128 KiB kept per request: 25 MiB over the window.
CONFIG = ("[latency]\nrate = 100\nduration = 2\nwarmup = 0.3\nrounds = 1\nmin_samples = 10\n"
          "connection_pairs = 0\np95_ms = 60000\n")


def test_serve_run_reports_the_service_cost_and_a_leak_shows_as_rss_growth(tmp_path):
    config = tmp_path / "latency.toml"
    config.write_text(CONFIG)
    out = tmp_path / "out"
    proc = run_audit_cli("run", "--serve", serve_command("--behaviour", "leak", "--leak-kb", "128"),
                         "--checks", "latency", "--config", str(config), "--format", "json,html",
                         "--output-dir", str(out), timeout=180)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    check = json.loads((out / "report.json").read_text())["checks"][0]
    service = check["metrics"]["service"]
    assert service["visible"] and service["processes"].startswith("--serve process tree"), service
    for key in ("cpu_s", "cpu_percent", "cpu_s_per_1000_requests", "rss_start_mb", "rss_end_mb", "rss_peak_mb",
                "fds_start", "fds_end", "threads_start", "threads_end"):
        assert service[key] is not None, key
    assert service["requests"] == 200 and service["cpu_s_per_1000_requests"] > 0
    # 200 requests x 128 KiB = 25 MiB kept during the measured window: the growth is there.
    assert service["rss_growth_mb"] >= 15, service
    assert service["rss_end_mb"] - service["rss_start_mb"] == pytest.approx(service["rss_growth_mb"], abs=0.02)
    html = (out / "report.html").read_text()
    assert 'aria-label="service RSS (MB)"' in html and 'aria-label="service CPU (% of one core)"' in html


def test_a_service_that_keeps_nothing_does_not_grow(tmp_path):
    with served("--behaviour", "fast") as (url, pid):
        outcome, _ = run_check(url, tmp_path, rate=100, duration=2, rounds=1, settings={"serve": "fixture"})
    service = outcome.metrics["service"]
    assert service["visible"] and str(pid) in service["processes"]
    assert service["rss_growth_mb"] < 5, service
