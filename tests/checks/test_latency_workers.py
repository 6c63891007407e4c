"""--load-workers N: a locust master and N local worker processes; histograms merged exactly."""

from __future__ import annotations

import json

from checks.latency import hist
from checks.latency.launcher import RESULT_NAME
from tests.checks.latency_helpers import endpoint, latency_server, rules, run_check, uniform


def test_two_workers_give_the_same_percentiles_as_one_and_merge_exactly(tmp_path):
    (tmp_path / "one").mkdir()
    (tmp_path / "two").mkdir()
    with latency_server(uniform(20, 60), paths=("/a", "/b")) as server:
        one, _ = run_check(server.url, tmp_path / "one", rate=80, duration=2, p95_ms=1000)
        two, ctx = run_check(server.url, tmp_path / "two", rate=80, duration=2, p95_ms=1000,
                             settings={"load_workers": 2})
    assert two.metrics["workers"] == 2
    assert [p["process"] for p in two.metrics["generator_processes"]] == ["worker 0", "worker 1", "master"]
    # Same schedule, split between the workers: exactly rate x duration requests, none lost or doubled.
    assert one.metrics["requests"] == two.metrics["requests"] == 160
    assert two.metrics["scheduled"] == two.metrics["sent"] == 160
    assert sum(endpoint(two, p)["requests"] for p in ("/a", "/b")) == 160
    # The same server answers both runs: percentiles agree within noise (uniform 20-60 ms, p95 ~58 ms).
    for key in ("p50_ms", "p95_ms"):
        assert abs(one.metrics[key] - two.metrics[key]) <= max(5.0, 0.15 * one.metrics[key]), key
    assert rules(two) == set()

    # The merge is exact: the workers' own histograms, decoded and added, are what the report says.
    saved = json.loads((ctx.tmp_dir / RESULT_NAME).read_text())
    encoded = [p["endpoints"][name]["hist"] for p in saved["processes"] for name in p["endpoints"]]
    parts = [hist.decode(text) for text in encoded]
    merged = hist.merge(encoded)
    assert len(saved["processes"]) == 2 and all(p["endpoints"] for p in saved["processes"])
    assert merged.get_total_count() == sum(p.get_total_count() for p in parts) == 160
    for part in parts:  # bucket by bucket: every worker's values are in the merge
        for item in part.get_recorded_iterator():
            assert merged.get_count_at_value(item.value_iterated_to) >= item.count_at_value_iterated_to
    assert two.metrics["p99_ms"] == round(merged.get_value_at_percentile(99) / 1000, 3)


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
            outcome, _ = run_check(server.url, tmp_path, rate=40, duration=2, workers=0, remote_workers=1,
                                   master_port=port)
    finally:
        worker.kill()
        worker.wait()
    assert [p["process"] for p in outcome.metrics["generator_processes"]] == ["worker 0", "master"]
    assert outcome.metrics["requests"] == 80 and rules(outcome) == set()
