"""Report section 1 ("API endpoints") renders from the openapi check's inventory metrics: every documented
operation, and with --baseline the created / modified / removed operations with methods and paths; its
status follows the breaking-change findings (OAS5xx). Untrusted paths stay inert."""

from __future__ import annotations

import re
from html import unescape
from typing import Any

import pytest

from auditor.model import CheckResult, Finding, Report, Section, Severity, Status, Verdict
from reports.common import endpoint_inventory
from reports.html import HtmlRenderer
from reports.markdown import MarkdownRenderer

EVIL = '/x/"><script>alert(1)</script>'


def _report(metrics: dict[str, Any], findings: list[Finding] | None = None, status: Status = Status.PASS,
            fail_on: str = "high") -> Report:
    check = CheckResult(id="openapi", title="OpenAPI documentation and conformance", section=Section.OPENAPI,
                        status=status, summary="3 operations", metrics=metrics, findings=findings or [])
    return Report(tool={"name": "backend-auditor", "version": "0"}, target={"url": "http://127.0.0.1:1"},
                  started_at="2026-01-01T00:00:00+00:00", duration_s=1.0, verdict=Verdict.PASS, checks=[check],
                  gate={"fail_on": fail_on, "exit_code": 0})


ENDPOINTS = [
    {"method": "GET", "path": "/books", "operation_id": "list_books", "secured": False},
    {"method": "POST", "path": "/books", "operation_id": "create_book", "secured": True},
    {"method": "GET", "path": "/orders/{order_id}", "operation_id": "get_order", "secured": True},
]
CHANGES = {"baseline": "old/report.json", "baseline_kind": "report",
           "created": [{"method": "POST", "path": "/books", "operation_id": "create_book"}],
           "modified": [{"method": "GET", "path": "/books", "operation_id": "list_books",
                         "changes": ["responses", "required parameters"], "breaking": 1}],
           "removed": [{"method": "DELETE", "path": "/books/{book_id}", "operation_id": "delete_book"}],
           "breaking_changes": 2}
BREAKING = [Finding(rule_id="OAS501", severity=Severity.HIGH, title="Operation removed", message="gone",
                    location={"endpoint": "DELETE /books/{book_id}"}),
            Finding(rule_id="OAS502", severity=Severity.HIGH, title="New required parameter", message="limit",
                    location={"endpoint": "GET /books"})]


def _section(html: str) -> str:
    match = re.search(r'<section id="s-endpoints">(.*?)</section>', html, re.S)
    assert match
    return match.group(1)


def _text(markup: str) -> str:
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", markup)).split())


def _table(section: str, css: str) -> list[list[str]]:
    match = re.search(rf'<table class="endpoints {css}">(.*?)</table>', section, re.S)
    assert match, css
    rows = re.findall(r"<tr>(.*?)</tr>", match.group(1), re.S)[1:]
    return [[_text(cell) for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)] for row in rows]


def test_without_baseline_every_operation_is_listed():
    html = HtmlRenderer().render(_report({"operations": 3, "endpoints": ENDPOINTS, "changes": None}))
    section = _section(html)
    assert "3 operations documented (no baseline)" in _text(section)
    assert "--baseline" in _text(section) and "st-pass" in section
    assert _table(section, "all") == [["GET", "/books", "list_books", "no"], ["POST", "/books", "create_book", "yes"],
                                      ["GET", "/orders/{order_id}", "get_order", "yes"]]
    assert '<table class="endpoints created">' not in section
    tile = re.search(r'<div class="tile st-(\w+)">\s*<a class="name" href="#s-endpoints">(.*?)</div>\s*</div>', html, re.S)
    assert tile and tile.group(1) == "pass" and "3 operations documented" in _text(tile.group(2))


def test_with_baseline_created_modified_removed_and_breaking_status():
    report = _report({"operations": 3, "endpoints": ENDPOINTS, "changes": CHANGES}, BREAKING, Status.FAIL)
    section = _section(HtmlRenderer().render(report))
    text = _text(section)
    assert "3 operations: 1 created, 1 modified, 1 removed, 2 breaking changes" in text
    assert "old/report.json" in text
    assert _table(section, "created") == [["POST", "/books", "create_book"]]
    assert _table(section, "modified") == [["GET", "/books", "list_books", "responses, required parameters", "1"]]
    assert _table(section, "removed") == [["DELETE", "/books/{book_id}", "delete_book"]]
    assert 'API endpoints <span class="status st-fail">' in section  # high breaking findings fail the gate


@pytest.mark.parametrize(("fail_on", "suppressed", "status"), [
    ("high", False, Status.FAIL), ("critical", False, Status.WARN), ("high", True, Status.PASS),
    ("never", False, Status.WARN)])
def test_section_status_follows_the_breaking_findings_and_the_gate(fail_on, suppressed, status):
    findings = [Finding(rule_id=f.rule_id, severity=f.severity, title=f.title, message=f.message,
                        location=f.location, suppressed=suppressed) for f in BREAKING]
    findings.append(Finding(rule_id="OAS020", severity=Severity.HIGH, title="not a breaking change", message="x"))
    inventory = endpoint_inventory(_report({"endpoints": ENDPOINTS, "changes": CHANGES}, findings, fail_on=fail_on))
    assert inventory is not None and inventory.status is status


def test_no_inventory_when_openapi_did_not_run_or_errored():
    assert endpoint_inventory(_report({"endpoints": ENDPOINTS}, status=Status.ERROR)) is None
    assert endpoint_inventory(_report({"endpoints": ENDPOINTS}, status=Status.SKIPPED)) is None
    assert endpoint_inventory(_report({"operations": 3})) is None
    html = HtmlRenderer().render(_report({"operations": 3}))
    assert "Not audited" in _section(html)


def test_malformed_metrics_do_not_break_the_page():
    metrics = {"operations": "many", "endpoints": [None, 3, {"method": 1}, {"method": "get", "path": "/ok"}],
               "changes": {"created": "nope", "modified": [{"path": "/no-method"}], "removed": None,
                           "breaking_changes": "x"}}
    inventory = endpoint_inventory(_report(metrics))
    assert inventory is not None
    assert inventory.operations == 1 and inventory.endpoints[0]["method"] == "GET"
    assert inventory.created == inventory.modified == inventory.removed == [] and inventory.breaking == 0
    HtmlRenderer().render(_report(metrics))
    MarkdownRenderer().render(_report(metrics))


def test_hostile_paths_are_escaped_in_html_and_markdown():
    evil = [{"method": "GET", "path": EVIL, "operation_id": "<b>op</b>", "secured": False}]
    changes = {**CHANGES, "created": evil, "modified": [], "removed": evil}
    report = _report({"operations": 1, "endpoints": evil, "changes": changes})
    html = HtmlRenderer().render(report)
    assert "<script>alert(1)" not in html and "<b>op</b>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in _section(html)
    markdown = MarkdownRenderer().render(report)
    assert "<script>" not in markdown and "&lt;script&gt;" in markdown


def test_markdown_lists_the_changes():
    report = _report({"operations": 3, "endpoints": ENDPOINTS, "changes": CHANGES}, BREAKING, Status.FAIL)
    markdown = MarkdownRenderer().render(report)
    section = markdown.split("### API endpoints", 1)[1].split("###", 1)[0]
    assert "3 operations: 1 created, 1 modified, 1 removed, 2 breaking changes" in section
    assert "**Created** (1)" in section and "- POST /books" in section
    assert "**Removed** (1)" in section and "- DELETE /books/{book\\_id}" in section
    assert "**Modified** (1)" in section and "responses, required parameters" in section
    without = MarkdownRenderer().render(_report({"operations": 3, "endpoints": ENDPOINTS}))
    assert "3 operations documented (no baseline)" in without
