"""The other modes: the closed-model capacity ramp and the user's own locustfile."""

from __future__ import annotations

import pytest

from auditor.interface import CheckError
from tests.checks.latency_helpers import (endpoint, fast, latency_server, rules, run_check, serialised,
                                          uniform)

LOCUSTFILE = '''
from locust import FastHttpUser, constant, task

class Shopper(FastHttpUser):
    wait_time = constant(0.05)

    @task
    def browse(self):
        self.client.get("/a")

    @task
    def buy(self):
        self.client.post("/a", json={"x": 1})
'''


def test_capacity_ramp_finds_where_p95_breaks_the_budget(tmp_path):
    # ~20 ms answers from a server that handles one request at a time: p95 breaks 50 ms at a few users.
    with latency_server(serialised(uniform(18, 22)), paths=("/a",)) as server:
        outcome, _ = run_check(server.url, tmp_path, mode="closed", rate=500, duration=6, warmup=0,
                               step_duration=1, step_warmup=0.2, p95_ms=50)
    steps = outcome.metrics["steps"]
    assert steps[0]["users"] == 1 and steps[0]["within_budget"]
    assert not steps[-1]["within_budget"]
    assert 0 < outcome.metrics["capacity_rps"] < 500
    assert {"LAT003", "LAT015"} <= rules(outcome)


def test_users_locustfile_runs_read_only_and_is_flagged_closed_model(tmp_path):
    locustfile = tmp_path / "locustfile.py"
    locustfile.write_text(LOCUSTFILE)
    with latency_server(fast(), paths=("/a",)) as server:
        outcome, _ = run_check(server.url, tmp_path, duration=1.5, warmup=0.2, locust_users=2,
                               settings={"locustfile": str(locustfile)})
    assert outcome.metrics["mode"] == "locustfile"
    assert endpoint(outcome, "/a")["requests"] > 0
    post = next(r for r in outcome.metrics["endpoints"] if r["method"] == "POST")
    assert post["error_rate"] == 1.0  # refused by the read-only guard, counted as failures
    refused = next(f for f in outcome.findings if f.rule_id == "LAT002")
    assert refused.location == {"endpoint": "POST /a"} and "read-only" in refused.evidence
    assert "LAT015" in rules(outcome) and "LAT001" not in rules(outcome)


def test_missing_locustfile_is_a_one_line_error(tmp_path):
    with latency_server(fast(), paths=("/a",)) as server, pytest.raises(CheckError, match="not found"):
        run_check(server.url, tmp_path, settings={"locustfile": str(tmp_path / "nope.py")})
