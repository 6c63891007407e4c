"""The nplusone check against real services on 127.0.0.1: the sample service on SQLite (its JSON SQL log
via --serve, exact correlation by X-Request-ID), a purpose-built SQLAlchemy service (echo lines via
--sql-log, bracketing), bad input, and the real CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from auditor.interface import CheckError, CheckSkipped
from auditor.model import Severity
from auditor.service import ServiceProcess
from checks.nplusone.check import NPlusOneCheck
from checks.nplusone.config import NPlusOneConfig
from tests.checks.nplusone_helpers import REPO_ROOT, SERVE_COMMAND
from tests.conftest import check_context, run_audit_cli


SPEC = {"openapi": "3.0.3", "info": {"title": "t", "version": "1"},
        "paths": {"/x": {"get": {"responses": {"200": {"description": "ok"}}}}}}


def _json(body) -> tuple[int, dict[str, str], str]:
    return 200, {"Content-Type": "application/json"}, json.dumps(body)


def _run(url: str, tmp_path: Path, **kwargs):
    ctx = check_context(url, kwargs.pop("config", NPlusOneConfig()), tmp_path, **kwargs)
    try:
        return NPlusOneCheck().run(ctx)
    finally:
        ctx.http.close()


def _row(outcome, path: str) -> dict:
    return next(r for r in outcome.metrics["endpoints"] if r["path"] == path)


def test_purpose_built_service_only_the_lazy_list_is_an_n_plus_one(tmp_path):
    log = tmp_path / "service.log"
    service = ServiceProcess(SERVE_COMMAND, log, cwd=REPO_ROOT)
    service.start(60)
    try:
        # The SQL log handed over as --sql-log (the same file the service writes): bracketing, no request ids.
        outcome = _run(service.url, tmp_path, settings={"sql_log": str(log)})
    finally:
        service.stop()
    by_endpoint = {}
    for finding in outcome.findings:
        by_endpoint.setdefault(finding.location.get("endpoint"), []).append(finding.rule_id)
    assert by_endpoint.get("GET /lazy") == ["NPQ001"]
    for clean in ("GET /eager", "GET /books/{book_id}", "GET /walk"):
        assert clean not in by_endpoint, (clean, by_endpoint[clean])
    assert by_endpoint.get("GET /dupes") == ["NPQ003"]
    # Two lazy loads in one loop: each crosses the threshold by itself, so each is its own N+1 (two fixes),
    # with the loop named as context.
    assert by_endpoint.get("GET /group") == ["NPQ001", "NPQ001"]
    assert all("inside a loop of 2 statements" in f.message for f in outcome.findings
               if f.location.get("endpoint") == "GET /group")
    lazy = next(f for f in outcome.findings if f.rule_id == "NPQ001")
    assert lazy.severity == Severity.HIGH and "5 items → 5 runs, 20 items → 20 runs" in lazy.message
    assert outcome.metrics["log_format"] == "sqlalchemy" and outcome.metrics["attribution"] == "bracketing"
    assert _row(outcome, "/walk")["data_queries"] == 7   # 60 rows in batches of 10, then the empty batch
    assert _row(outcome, "/eager")["queries"] == _row(outcome, "/eager")["queries_small_page"]


def test_no_sql_source_is_skipped_with_the_way_to_provide_one(tmp_path, stub):
    stub.routes["/openapi.json"] = _json(SPEC)
    with pytest.raises(CheckSkipped, match="--db-url .*--sql-log"):
        _run(stub.url, tmp_path)


def test_a_service_log_without_sql_is_skipped(tmp_path, stub):
    stub.routes["/openapi.json"] = _json(SPEC)
    stub.routes["/x"] = _json({"items": []})
    log = tmp_path / "out.log"
    log.write_text("INFO: Uvicorn running\nnothing about SQL here\n")
    with pytest.raises(CheckSkipped, match="no SQL statements in"):
        _run(stub.url, tmp_path, service_log=log)


def test_an_unreadable_sql_log_is_a_one_line_error(tmp_path, stub):
    stub.routes["/openapi.json"] = _json(SPEC)
    stub.routes["/x"] = _json({"items": []})
    with pytest.raises(CheckError, match=r"cannot read --sql-log .*missing\.log") as info:
        _run(stub.url, tmp_path, settings={"sql_log": str(tmp_path / "missing.log")})
    assert "\n" not in str(info.value)


def test_garbage_in_the_log_is_reported_as_incomplete_capture_not_a_crash(tmp_path, stub):
    stub.routes["/openapi.json"] = _json(SPEC)
    log = tmp_path / "sql.log"
    log.write_text('{"statement": "SELECT 1", "request_id": "boot"}\n')
    # The stub answers, and "the service" logs a broken JSON statement line meanwhile.

    def answer(handler):
        with log.open("a") as out:
            out.write('{"statement": "SELECT 2", "req\n')
        return _json({"ok": True})

    stub.routes["/x"] = answer
    outcome = _run(stub.url, tmp_path, settings={"sql_log": str(log)})
    incomplete = [f for f in outcome.findings if f.rule_id == "NPQ010"]
    assert incomplete and "could not be read" in incomplete[0].message


def test_config_rejects_inconsistent_thresholds():
    with pytest.raises(ValueError):
        NPlusOneConfig(threshold=3, info_threshold=4)
    with pytest.raises(ValueError):
        NPlusOneConfig(unknown_key=1)


def _demo(tmp_path: Path, *defects: str) -> tuple[int, dict, str]:
    """The real `audit demo` (sample service on SQLite, its JSON SQL log via --serve): exit code, the
    nplusone check's result from report.json, and the console output."""
    args = ["demo", "--checks", "nplusone", "--output-dir", str(tmp_path), "--format", "json"]
    if defects:
        args += ["--defects", ",".join(defects)]
    result = run_audit_cli(*args)
    (check,) = json.loads((tmp_path / "report.json").read_text())["checks"]
    return result.returncode, check, result.stderr + result.stdout


def _endpoint(check: dict, path: str) -> dict:
    return next(r for r in check["metrics"]["endpoints"] if r["path"] == path)


def test_audit_demo_with_n_plus_one_flags_the_book_listing_with_growth_and_fails_the_gate(tmp_path):
    code, check, output = _demo(tmp_path, "n_plus_one")
    assert code == 1, output
    assert check["status"] == "fail"
    (finding,) = [f for f in check["findings"] if f["rule_id"] in ("NPQ001", "NPQ004")]
    assert (finding["rule_id"], finding["location"], finding["severity"]) == (
        "NPQ001", {"endpoint": "GET /books"}, "high")
    assert "confirmed N+1" in finding["message"] and "5 items → 5 runs, 20 items → 20 runs" in finding["message"]
    assert "FROM authors" in finding["evidence"] and "scaling: grows with the page" in finding["evidence"]
    assert "selectinload" in finding["remediation"]   # the repo (sample_service) uses SQLAlchemy
    books = _endpoint(check, "/books")
    # The sample service documents 2 + limit statements with the defect; the check asked for 5 and 20.
    assert (books["queries"], books["queries_small_page"]) == (22, 7)
    assert books["attribution"] == "request id"
    metrics = check["metrics"]
    # The demo's service is traced by the auditor's shim: the SQL comes from its traces.
    assert metrics["requests_profiled"] == 9 and metrics["source"] == "traces" and metrics["log_format"] == "otlp"
    # The secured operations are not profiled without credentials, and the report says why.
    assert {e["endpoint"]: e["kind"] for e in metrics["excluded"]} == {
        "GET /orders": "unauthorized", "GET /users/me": "unauthorized", "GET /orders/{order_id}": "no-live-value"}
    assert "3 excluded: 401 without credentials — give --header (2)" in check["summary"]
    assert metrics["queries_captured"] == sum(r["queries"] + r.get("queries_small_page", 0)
                                              for r in metrics["endpoints"])


def test_audit_demo_clean_has_no_n_plus_one(tmp_path):
    code, check, output = _demo(tmp_path)
    assert code == 0, output
    assert check["status"] == "pass" and check["findings"] == []
    books = _endpoint(check, "/books")
    assert (books["queries"], books["queries_small_page"]) == (3, 3)   # selectinload: 3 at any page size
    assert check["summary"].startswith("no N+1 in")

def test_a_log_rotated_during_the_audit_is_reported(tmp_path, stub):
    stub.routes["/openapi.json"] = _json(SPEC)
    log = tmp_path / "sql.log"
    log.write_text('{"statement": "SELECT 1", "request_id": "boot"}\n')

    def rotate(handler):
        log.rename(tmp_path / "sql.log.1")
        log.write_text('{"statement": "SELECT 2", "request_id": "x"}\n')
        return _json({"ok": True})

    stub.routes["/x"] = rotate
    outcome = _run(stub.url, tmp_path, settings={"sql_log": str(log)})
    (incomplete,) = [f for f in outcome.findings if f.rule_id == "NPQ010"]
    assert "rotated" in incomplete.message and incomplete.severity == Severity.INFO


def test_a_database_url_that_cannot_be_captured_is_skipped_with_the_alternatives(tmp_path, stub):
    stub.routes["/openapi.json"] = _json(SPEC)
    stub.routes["/x"] = _json({"items": []})
    with pytest.raises(CheckSkipped, match="only PostgreSQL and MariaDB/MySQL can be captured server-side; give"):
        _run(stub.url, tmp_path, settings={"db_url": "sqlite:///shop.db"})


def test_excluded_operations_are_not_profiled(tmp_path, stub):
    stub.routes["/openapi.json"] = _json(SPEC)
    stub.routes["/x"] = _json({"items": []})
    log = tmp_path / "sql.log"
    log.write_text('{"statement": "SELECT 1", "request_id": "boot"}\n')
    with pytest.raises(CheckSkipped, match=r"no GET operation to profile \(1 excluded: excluded in config\)"):
        _run(stub.url, tmp_path, settings={"sql_log": str(log)}, config=NPlusOneConfig(exclude=["GET /x"]))
    # The audit's plan confirmed it once (its preflight, shared by every check); it was never profiled.
    assert [path for _method, path, _headers in stub.requests if path.startswith("/x")] == ["/x"]
    assert not [h for _m, _p, h in stub.requests if h.get("X-Request-ID", "").startswith("audit-npq-")]
