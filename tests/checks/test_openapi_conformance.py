"""Live conformance through schemathesis against real servers on 127.0.0.1: safety (a recording server
sees no unsafe method in read-only runs although its document declares POST/PUT/PATCH/DELETE), relative
servers, credentials, determinism, the deadline, and the findings on a purpose-built faulty API."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from auditor.model import Severity, Status
from checks.openapi.config import OpenApiConfig
from tests.checks.openapi_helpers import JSON, items_server, minimal_spec, run_check, writable_spec
from tests.processes import watch_processes
from tests.stub_server import slow

SAFE = {"GET", "HEAD", "OPTIONS"}
FAST = OpenApiConfig(max_examples=3)


@pytest.mark.parametrize(("read_only", "writes"), [(True, True), (False, False)])
def test_read_only_runs_send_no_unsafe_method(tmp_path, read_only, writes):
    with items_server(writable_spec()) as server:
        outcome = run_check(server.url, tmp_path, read_only=read_only,
                            config=OpenApiConfig(max_examples=3, writes=writes))
        seen = list(server.requests)
    methods = {method for method, _, _ in seen}
    assert methods <= SAFE, methods
    conformance = outcome.metrics["conformance"]
    assert conformance["ran"] and conformance["requests"] > 5 and conformance["writes_enabled"] is False
    assert conformance["blocked_requests"] == []  # nothing even tried: excluded before the guard
    # the document's relative server "/api" is honoured for every request schemathesis sent
    api_paths = [path for _, path, _ in seen if path != "/openapi.json" and path != "/"]
    assert api_paths and all(path == "/api" or path.startswith("/api/") for path in api_paths), api_paths[:5]
    assert "read-only" in outcome.metrics["method"]


def test_writes_need_config_and_a_writable_target_and_are_announced(tmp_path):
    with items_server(writable_spec()) as server:
        outcome = run_check(server.url, tmp_path, read_only=False, config=OpenApiConfig(max_examples=2, writes=True))
        methods = {method for method, _, _ in server.requests}
    assert methods & {"POST", "PUT", "PATCH", "DELETE"}
    assert outcome.metrics["conformance"]["writes_enabled"] is True
    assert "WRITES ENABLED" in outcome.metrics["method"]


def test_secured_operation_open_to_anonymous_callers_is_high(tmp_path):
    with items_server(minimal_spec(), secured_open=True) as server:
        outcome = run_check(server.url, tmp_path, config=FAST)
    found = [f for f in outcome.findings if f.rule_id == "OAS401"]
    assert [f.location for f in found] == [{"endpoint": "GET /items/{item_id}"}]
    assert found[0].severity is Severity.HIGH
    assert found[0].evidence.startswith("curl -X GET") and "/api/items/" in found[0].evidence


def test_enforced_auth_without_credentials_is_only_an_info_note(tmp_path):
    with items_server(minimal_spec()) as server:
        outcome = run_check(server.url, tmp_path, config=FAST)
    assert {f.rule_id for f in outcome.findings} == {"OAS090"}
    note = outcome.findings[0]
    assert note.severity is Severity.INFO and note.location == {"endpoint": "GET /items/{item_id}"}


def test_credentials_reach_schemathesis_and_are_masked_in_the_output(tmp_path):
    secret = "Bearer s3cret-token-0123456789"
    with items_server(minimal_spec()) as server:
        outcome = run_check(server.url, tmp_path, config=FAST, headers={"Authorization": secret})
        sent = [headers.get("Authorization") for _, path, headers in server.requests if path.startswith("/api/items/")]
    assert secret in sent  # schemathesis used the credential, so the secured GET was really tested
    assert outcome.metrics["conformance"]["credentials"] is True
    assert "OAS090" not in {f.rule_id for f in outcome.findings}
    dumped = json.dumps(outcome.metrics) + json.dumps([f.to_dict() for f in outcome.findings])
    assert "s3cret" not in dumped


def _buggy_api(document: dict[str, Any]) -> Any:
    """items_server whose list answers 500 for a page size over 50 (undocumented)."""
    server = items_server(document)
    original = server.routes["/api/items"]

    def items(handler: Any) -> tuple:
        if "limit=" in handler.path:
            value = handler.path.split("limit=")[1].split("&")[0]
            if value.isdigit() and 50 < int(value) <= 100:
                return 500, JSON, json.dumps({"code": "internal"})
        return original(handler)

    server.routes["/api/items"] = items
    return server


def test_server_error_is_a_finding_with_curl_and_the_run_is_deterministic(tmp_path):
    runs = []
    for attempt in range(2):
        with _buggy_api(minimal_spec()) as server:
            outcome = run_check(server.url, tmp_path / str(attempt), config=FAST)
        runs.append(outcome)
    first, second = runs
    errors = [f for f in first.findings if f.rule_id == "OAS101"]
    assert [f.location for f in errors] == [{"endpoint": "GET /items"}] and errors[0].severity is Severity.HIGH
    assert "ST101" in errors[0].message and "limit=" in errors[0].evidence
    # the 500 is not documented either: the same answer, one finding that says so (not OAS101 + OAS103)
    assert "OAS103" not in {f.rule_id for f in first.findings}
    assert "The same answers also failed: OAS103" in errors[0].message
    # same seed, same findings (fingerprints) and the same number of requests
    assert [f.fingerprint for f in first.findings] == [f.fingerprint for f in second.findings]
    assert first.metrics["conformance"]["requests"] == second.metrics["conformance"]["requests"]
    assert "failures at GET /items" in first.summary


def test_no_hypothesis_directory_lands_in_the_working_directory(tmp_path, monkeypatch):
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "schemathesis.toml").write_text('[generation]\nmax-examples = 999\nhooks = "evil"\n')
    (repo / "evil.py").write_text("raise SystemExit('the audited repo ran code in the auditor')\n")
    monkeypatch.chdir(repo)
    with items_server(minimal_spec()) as server:
        outcome = run_check(server.url, tmp_path, config=FAST)
    assert outcome.metrics["conformance"]["complete"] is True
    assert sorted(p.name for p in repo.iterdir()) == ["evil.py", "schemathesis.toml"]
    assert outcome.metrics["conformance"]["max_examples"] == 3


def test_time_budget_stops_the_run_cleanly(tmp_path):
    with items_server(minimal_spec()) as server:
        page = server.routes["/api/items"]
        server.routes["/api/items"] = lambda handler: slow(0.4, page(handler))(handler)
        with watch_processes() as watch:
            outcome = run_check(server.url, tmp_path, config=OpenApiConfig(conformance_seconds=2))
    # stopped by its budget (how soon is benchmarks/bounded_stops.py's figure), and its child is gone
    assert watch.seen and watch.left_after() == []
    assert outcome.status is Status.WARN
    incomplete = [f for f in outcome.findings if f.rule_id == "OAS091"]
    assert len(incomplete) == 1 and "stopped early" in incomplete[0].message
    assert outcome.metrics["conformance"]["complete"] is False


def test_transport_guard_refuses_unsafe_methods_and_other_hosts(tmp_path, monkeypatch):
    """The child's last line of defence, exercised in this process (and undone afterwards)."""
    import requests
    from requests.adapters import HTTPAdapter

    from checks.openapi import st_adapter

    monkeypatch.setattr(HTTPAdapter, "send", HTTPAdapter.send)  # restored by monkeypatch at teardown
    results = tmp_path / "out.jsonl"
    counter = [0]
    with items_server(minimal_spec()) as server, items_server(minimal_spec()) as other:
        st_adapter._install_guard(st_adapter._Out(str(results)), set(SAFE), server.url + "/api", counter)
        assert requests.get(f"{server.url}/api/items").status_code == 200
        for attempt in (lambda: requests.post(f"{server.url}/api/items", json={}),
                        lambda: requests.delete(f"{server.url}/api/items/1"),
                        lambda: requests.get(f"{other.url}/api/items")):
            with pytest.raises(requests.exceptions.ConnectionError, match="safety guard"):
                attempt()
        assert [m for m, _, _ in server.requests] == ["GET"] and other.requests == []
    blocked = [json.loads(line)["request"] for line in results.read_text().splitlines()]
    assert [b.split()[0] for b in blocked] == ["POST", "DELETE", "GET"] and counter == [1]


def test_stop_event_kills_the_run_at_once_and_nothing_is_sent_afterwards(tmp_path):
    import threading

    from checks.openapi import OpenApiCheck
    from tests.conftest import check_context

    with items_server(minimal_spec()) as server:
        page = server.routes["/api/items"]
        server.routes["/api/items"] = lambda handler: slow(0.3, page(handler))(handler)
        ctx = check_context(server.url, OpenApiConfig(), tmp_path)
        box: dict[str, Any] = {}
        with watch_processes() as watch:
            worker = threading.Thread(target=lambda: box.update(outcome=OpenApiCheck().run(ctx)), daemon=True)
            worker.start()
            deadline = time.monotonic() + 30
            # schemathesis' own requests (the planner's preflights come first and say backend-auditor)
            while not any(path.startswith("/api/items?") and "schemathesis" in headers.get("User-Agent", "")
                          for _, path, headers in list(server.requests)):
                assert time.monotonic() < deadline, "schemathesis never started"
                time.sleep(0.05)
            ctx.stop.set()  # what the runner does on Ctrl-C or at the check's deadline
            worker.join(60)  # a generous deadline; how soon it stops is benchmarks/bounded_stops.py's figure
            assert not worker.is_alive()
        assert watch.seen and watch.left_after() == []  # the child process is gone, not still testing
        ctx.http.close()
    outcome = box["outcome"]
    assert outcome.status is Status.WARN and "OAS091" in {f.rule_id for f in outcome.findings}
