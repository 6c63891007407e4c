"""The numbers are right: against purpose-built servers whose true service times are known."""

from __future__ import annotations

from tests.checks.latency_helpers import endpoint, latency_server, rules, run_check, stalls, uniform


def test_reported_p95_matches_the_servers_own_service_times(tmp_path):
    with latency_server(uniform(20, 220), paths=("/a",)) as server:
        outcome, _ = run_check(server.url, tmp_path, rate=60, duration=3, p95_ms=1000)
        truth = server.percentile_ms(95)
    reported = endpoint(outcome, "/a")["p95_ms"]
    assert abs(reported - truth) <= 0.05 * truth, (reported, truth)
    assert outcome.metrics["requests"] == 180  # 60 req/s x 3 s, warm-up excluded, nothing dropped
    assert rules(outcome) == set() and endpoint(outcome, "/a")["verdict"] == "pass"
    low, high = endpoint(outcome, "/a")["p95_ci_ms"]
    assert low <= reported <= high


def test_periodic_stalls_are_not_hidden_coordinated_omission(tmp_path):
    # 1 s stall in every 3 s: a third of the arrivals wait up to a second, so the true p95 is ~850 ms.
    # A closed model would send almost nothing during the stall and report a few ms. Two rounds of 3 s:
    # each holds one whole stall period, so both see it (shorter rounds would disagree, and rightly).
    with latency_server(stalls(3.0, 1.0), paths=("/a",)) as server:
        outcome, _ = run_check(server.url, tmp_path, rate=50, duration=6, warmup=0.3, rounds=2)
    row = endpoint(outcome, "/a")
    assert row["p95_ms"] > 500, row
    assert outcome.metrics["p95_ms"] > 500
    assert "LAT001" in rules(outcome)
    finding = next(f for f in outcome.findings if f.rule_id == "LAT001")
    assert finding.location == {"endpoint": "GET /a"} and "100 ms budget" in finding.message
    assert all(p > 500 for p in row["rounds_p95_ms"]) and row["p95_ci_ms"][0] > 100
    # The generator kept its schedule: the stall shows as latency, not as a slower load.
    assert outcome.metrics["requests"] == 300 and outcome.metrics["dropped"] == 0
