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
from tests.conftest import check_context, run_audit_cli, sample_service


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


def test_sample_service_n_plus_one_is_flagged_at_the_book_listing_with_growth(tmp_path):
    with sample_service(tmp_path, defects=["n_plus_one"]) as service:
        outcome = _run(service.url, tmp_path, service_log=service.log_path)
    n_plus_one = [f for f in outcome.findings if f.rule_id == "NPQ001"]
    assert [f.location for f in n_plus_one] == [{"endpoint": "GET /books"}]
    finding = n_plus_one[0]
    assert finding.severity == Severity.HIGH and "confirmed N+1" in finding.message
    assert "FROM authors" in finding.evidence and "scaling: grows with the page" in finding.evidence
    assert "FROM authors WHERE id IN (...)" in finding.remediation or "selectinload" in finding.remediation
    books = _row(outcome, "/books")
    # The sample service documents 2 + limit statements with the defect; the check asked for 5 and 20.
    assert (books["queries"], books["queries_small_page"]) == (22, 7)
    assert books["attribution"] == "request id"
    assert outcome.metrics["requests_profiled"] >= 10
    assert outcome.metrics["queries_captured"] == sum(
        r["queries"] + r.get("queries_small_page", 0) for r in outcome.metrics["endpoints"])
    assert outcome.metrics["log_format"] == "json"


def test_clean_sample_service_has_no_n_plus_one(tmp_path):
    with sample_service(tmp_path) as service:
        outcome = _run(service.url, tmp_path, service_log=service.log_path)
    assert not [f for f in outcome.findings if f.rule_id in ("NPQ001", "NPQ004")]
    assert not [f for f in outcome.findings if f.severity.rank >= Severity.LOW.rank]
    books = _row(outcome, "/books")
    assert (books["queries"], books["queries_small_page"]) == (3, 3)   # selectinload: 3 at any page size
    assert outcome.summary.startswith("no N+1 in")


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
    assert by_endpoint.get("GET /group") == ["NPQ004"]
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


def test_audit_demo_with_the_defect_fails_the_gate_and_clean_passes(tmp_path):
    result = run_audit_cli("demo", "--checks", "nplusone", "--defects", "n_plus_one", "--output-dir",
                           str(tmp_path / "bad"), "--format", "json")
    assert result.returncode == 1, result.stderr + result.stdout
    report = json.loads((tmp_path / "bad" / "report.json").read_text())
    (check,) = report["checks"]
    assert check["status"] == "fail"
    assert [(f["rule_id"], f["location"]) for f in check["findings"] if f["severity"] == "high"] == [
        ("NPQ001", {"endpoint": "GET /books"})]
    assert check["metrics"]["requests_profiled"] > 0 and check["metrics"]["queries_captured"] > 0
    clean = run_audit_cli("demo", "--checks", "nplusone", "--output-dir", str(tmp_path / "ok"), "--format", "json")
    assert clean.returncode == 0, clean.stderr + clean.stdout
    check = json.loads((tmp_path / "ok" / "report.json").read_text())["checks"][0]
    assert check["status"] == "pass" and check["findings"] == []


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
