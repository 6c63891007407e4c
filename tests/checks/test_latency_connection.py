"""Connection cost (LAT004): time to first byte on a fresh connection vs a kept-alive one, measured apart
from the load, against real servers on 127.0.0.1."""

from __future__ import annotations

from tests.checks.latency_helpers import fast, latency_server, rules, run_check

SHORT = {"rate": 50, "duration": 1, "warmup": 0.2, "p95_ms": 1000, "connection_pairs": 12}


def test_a_server_slow_only_on_kept_alive_connections_gets_its_own_finding(tmp_path):
    # 40 ms on every request after a connection's first: a development server's Nagle/delayed-ACK stall.
    with latency_server(fast(), paths=("/a", "/b"), kept_alive_extra_ms=40) as server:
        outcome, _ = run_check(server.url, tmp_path, **SHORT)
    rows = {row["path"]: row for row in outcome.metrics["connection_cost"]}
    assert set(rows) == {"/a", "/b"}
    for row in rows.values():
        assert row["pairs"] == 12 and row["kept_alive_ttfb_ms"] >= 40 and row["difference_ms"] >= 20, row
    [finding] = [f for f in outcome.findings if f.rule_id == "LAT004"]
    # Both endpoints, the same way: the server does it, one finding for it.
    assert finding.location == {"url": server.url} and finding.severity == "medium"
    assert "later on a kept-alive connection than on a fresh one" in finding.message
    assert "kept-alive vs" in finding.evidence and "sign test" in finding.evidence
    # The load itself runs on kept-alive connections, so it sees the stall too; the finding names it.
    assert "LAT001" not in rules(outcome)


def test_a_server_without_a_connection_cost_gets_no_finding(tmp_path):
    with latency_server(fast(), paths=("/a",)) as server:
        outcome, _ = run_check(server.url, tmp_path, **SHORT)
    [row] = outcome.metrics["connection_cost"]
    assert row["pairs"] == 12 and row["note"] == "" and row["fresh_ttfb_ms"] is not None
    assert "LAT004" not in rules(outcome)


def test_connection_cost_can_be_switched_off(tmp_path):
    with latency_server(fast(), paths=("/a",)) as server:
        outcome, _ = run_check(server.url, tmp_path, **{**SHORT, "connection_pairs": 0})
    assert "connection_cost" not in outcome.metrics
