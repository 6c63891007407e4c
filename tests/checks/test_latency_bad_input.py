"""Bad input gets a clear answer, bounded in time, with a result: errors only, a server that goes away
or never answers, a rate the generator cannot reach, Ctrl-C, nothing to load."""

from __future__ import annotations

import json

import psutil
import pytest

from auditor.interface import CheckError, CheckSkipped
from auditor.model import Status
from checks.latency.launcher import RESULT_NAME
from tests.checks.latency_helpers import (endpoint, failing, fast, forever, latency_server, rules, run_check,
                                          uniform)
from tests.processes import watch_processes


def test_endpoint_answering_only_errors_fails_the_error_gate(tmp_path):
    with latency_server(failing(503), paths=("/a",)) as server:
        outcome, _ = run_check(server.url, tmp_path, rate=100, duration=1)
    assert rules(outcome) == {"LAT002"}
    finding = outcome.findings[0]
    assert finding.location == {"endpoint": "GET /a"} and "every request failed" in finding.message
    assert "HTTP 503" in finding.evidence
    assert endpoint(outcome, "/a")["error_rate"] == 1.0


def test_connection_refused_mid_run_is_counted_as_errors(tmp_path):
    import threading

    def then_gone(server, path, n):
        # 1 probe + 12 warm-up requests, ~30 measured answers, then the server goes away for good.
        if n == 45:
            threading.Thread(target=server.go_away, daemon=True).start()
        return 200, "ok"

    with watch_processes() as watch, latency_server(then_gone, paths=("/a",)) as server:
        outcome, _ = run_check(server.url, tmp_path, rate=40, duration=2, request_timeout=2)
    row = endpoint(outcome, "/a")
    assert 0 < row["error_rate"] < 1 and "LAT002" in rules(outcome)
    assert outcome.metrics["requests"] == 80  # every scheduled request accounted for, failed or not
    assert any("checks.latency.loadgen" in cmd for cmd in watch.seen.values())  # the watch saw the load
    assert watch.left_after() == []  # nothing anywhere on the machine, orphans included


def test_server_that_never_answers_gives_timeouts_not_a_hang(tmp_path):
    with latency_server(forever(), paths=("/a",)) as server:
        outcome, _ = run_check(server.url, tmp_path, rate=10, duration=1, warmup=0, request_timeout=1,
                               min_samples=5)
    assert "LAT002" in rules(outcome)
    row = endpoint(outcome, "/a")
    assert row["error_rate"] == 1.0 and row["p50_ms"] >= 1000  # failed at the full timeout, not ignored


def test_rate_the_generator_cannot_reach_is_insufficient_data(tmp_path):
    # One request in flight at a time against ~5 ms answers: at most ~200 req/s, asked for 1000.
    with latency_server(uniform(4, 6), paths=("/a",)) as server:
        outcome, _ = run_check(server.url, tmp_path, rate=1000, duration=1, max_in_flight=1, request_timeout=1,
                               p95_ms=10_000)
    assert "LAT011" in rules(outcome)
    assert outcome.status is Status.WARN
    assert outcome.metrics["late"] > 0 and outcome.metrics["dropped"] > 0
    assert "insufficient data" in outcome.summary


def test_stop_ends_the_load_at_once_and_still_returns_a_result(tmp_path):
    with watch_processes() as watch, latency_server(fast(), paths=("/a",)) as server:
        outcome, ctx = run_check(server.url, tmp_path, rate=20, duration=30, stop_after=1.5)
    assert "LAT014" in rules(outcome) and outcome.status is Status.WARN
    assert outcome.metrics["requests"] < 20 * 30
    assert json.loads((ctx.tmp_dir / RESULT_NAME).read_text())["interrupted"] is True
    assert any("checks.latency.loadgen" in cmd for cmd in watch.seen.values())
    assert watch.left_after() == []


def test_stop_with_workers_kills_the_whole_group(tmp_path):
    with watch_processes() as watch, latency_server(fast(), paths=("/a",)) as server:
        outcome, _ = run_check(server.url, tmp_path, rate=20, duration=30, stop_after=3,
                               settings={"load_workers": 2})
    assert "LAT014" in rules(outcome)
    workers = [pid for pid, cmd in watch.seen.items() if "checks.latency.loadgen --worker" in cmd]
    assert len(workers) == 2, watch.seen  # the watch saw both workers start
    assert watch.left_after() == []  # and none of them, nor the master, outlived the check anywhere


def test_unreachable_service_is_a_one_line_error(tmp_path):
    with latency_server(fast(), paths=("/a",)) as server:
        url = server.url
        spec = server.spec()
    spec_file = tmp_path / "openapi.json"
    spec_file.write_text(json.dumps(spec))
    from checks.latency import LatencyCheck
    from checks.latency.config import LatencyConfig
    from tests.conftest import check_context

    ctx = check_context(url, LatencyConfig(duration=1), tmp_path, spec=str(spec_file))
    with ctx.http, pytest.raises(CheckError, match="does not answer"):
        LatencyCheck().run(ctx)


def test_spec_without_get_operations_is_skipped(tmp_path):
    spec = {"openapi": "3.0.3", "info": {"title": "t", "version": "1"},
            "paths": {"/x": {"post": {"responses": {"201": {"description": "made"}}}}}}
    spec_file = tmp_path / "openapi.json"
    spec_file.write_text(json.dumps(spec))
    from checks.latency import LatencyCheck
    from checks.latency.config import LatencyConfig
    from tests.conftest import check_context

    with latency_server(fast(), paths=("/a",)) as server:
        ctx = check_context(server.url, LatencyConfig(duration=1), tmp_path, spec=str(spec_file))
        with ctx.http, pytest.raises(CheckSkipped, match="no GET operation"):
            LatencyCheck().run(ctx)


def test_load_never_outlives_the_audit_process(tmp_path):
    """The auditor killed outright (no chance to stop its load): the load process notices and stops."""
    import os
    import signal
    import subprocess
    import sys
    import time

    with latency_server(fast(), paths=("/a",)) as server:
        job = {"mode": "open", "host": server.url, "headers": {}, "targets": [{"name": "GET /a", "path": "/a",
               "weight": 1}], "rate": 5, "duration": 60, "warmup": 0, "workers": 0, "request_timeout": 2,
               "connect_timeout": 1, "max_in_flight": 10, "late_ms": 25, "result_path": str(tmp_path / "r.json")}
        launcher = ("import subprocess, sys, time; "
                    "p = subprocess.Popen([sys.executable, '-m', 'checks.latency.loadgen'], stdin=subprocess.PIPE, "
                    "start_new_session=True); p.stdin.write(sys.argv[1].encode()); p.stdin.close(); "
                    "print(p.pid, flush=True); time.sleep(120)")
        parent = subprocess.Popen([sys.executable, "-c", launcher, json.dumps(job)], stdout=subprocess.PIPE, text=True)
        assert parent.stdout is not None
        load_pid = int(parent.stdout.readline())
        end = time.monotonic() + 30
        while server.count < 3 and time.monotonic() < end:  # the load is running
            time.sleep(0.05)
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait()
        while psutil.pid_exists(load_pid) and psutil.Process(load_pid).status() != psutil.STATUS_ZOMBIE \
                and time.monotonic() < end:
            time.sleep(0.1)
        gone = not psutil.pid_exists(load_pid) or psutil.Process(load_pid).status() == psutil.STATUS_ZOMBIE
        if not gone:
            os.kill(load_pid, signal.SIGKILL)
    assert server.count >= 3 and gone
    assert json.loads((tmp_path / "r.json").read_text())["interrupted"] is True
