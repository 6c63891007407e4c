"""--load-workers N: a locust master and N local worker processes; histograms merged exactly."""

from __future__ import annotations

import json

from checks.latency import hist
from checks.latency.launcher import RESULT_NAME
from tests.checks.latency_helpers import endpoint, latency_server, rules, run_check, uniform


def test_two_workers_give_the_same_percentiles_as_one_and_counts_add_up(tmp_path):
    with latency_server(uniform(20, 60), paths=("/a", "/b")) as server:
        (tmp_path / "one").mkdir()
        (tmp_path / "two").mkdir()
        one, _ = run_check(server.url, tmp_path / "one", rate=80, duration=2.5, p95_ms=1000)
        two, _ = run_check(server.url, tmp_path / "two", rate=80, duration=2.5, p95_ms=1000,
                           settings={"load_workers": 2})
    assert two.metrics["workers"] == 2 and len(two.metrics["generator_processes"]) == 2
    # Same schedule, split between the workers: exactly rate x duration requests, none lost or doubled.
    assert one.metrics["requests"] == two.metrics["requests"] == 200
    assert two.metrics["scheduled"] == two.metrics["sent"] == 200
    assert sum(endpoint(two, p)["requests"] for p in ("/a", "/b")) == 200
    # The same server answers both runs: percentiles agree within noise (uniform 20-60 ms, p95 ~58 ms).
    for key in ("p50_ms", "p95_ms"):
        assert abs(one.metrics[key] - two.metrics[key]) <= max(5.0, 0.15 * one.metrics[key]), key
    assert rules(two) == set()


def test_worker_histograms_merge_exactly(tmp_path):
    with latency_server(uniform(1, 10), paths=("/a",)) as server:
        outcome, ctx = run_check(server.url, tmp_path, rate=60, duration=1.5, settings={"load_workers": 2})
    saved = json.loads((ctx.tmp_dir / RESULT_NAME).read_text())
    parts = [hist.decode(p["endpoints"]["GET /a"]["hist"]) for p in saved["processes"]]
    assert len(parts) == 2 and all(p.get_total_count() > 0 for p in parts)
    merged = hist.merge([p["endpoints"]["GET /a"]["hist"] for p in saved["processes"]])
    assert merged.get_total_count() == sum(p.get_total_count() for p in parts) == endpoint(outcome, "/a")["requests"]
    # Bucket by bucket: every recorded value of every worker is in the merge, at the same count.
    for part in parts:
        for item in part.get_recorded_iterator():
            assert merged.get_count_at_value(item.value_iterated_to) >= item.count_at_value_iterated_to
    assert endpoint(outcome, "/a")["p99_ms"] == round(merged.get_value_at_percentile(99) / 1000, 3)


def test_a_worker_started_with_the_documented_locust_command_joins_the_master(tmp_path):
    import socket
    import subprocess
    import sys
    from pathlib import Path

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    locustfile = Path(__file__).resolve().parents[2] / "checks" / "latency" / "locustfile.py"
    worker = subprocess.Popen([sys.executable, "-m", "locust", "-f", str(locustfile), "--worker",
                               "--master-host", "127.0.0.1", "--master-port", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=tmp_path)
    try:
        with latency_server(uniform(1, 5), paths=("/a",)) as server:
            outcome, _ = run_check(server.url, tmp_path, rate=40, duration=1.5, workers=0, remote_workers=1,
                                   master_port=port)
    finally:
        worker.kill()
        worker.wait()
    assert [p["process"] for p in outcome.metrics["generator_processes"]] == ["worker 0"]
    assert outcome.metrics["requests"] == 60 and rules(outcome) == set()
