"""The openapi check in report.html: the operation × rule table, and hostile document text (script tags in
title, summaries, descriptions, paths, operationIds) escaped everywhere it appears."""

from __future__ import annotations

import re

from auditor.gate import check_status
from auditor.model import CheckResult, Report, Verdict
from checks.openapi import OpenApiCheck
from reports.html import HtmlRenderer
from reports.markdown import MarkdownRenderer
from tests.checks.openapi_helpers import minimal_spec, run_check, write_spec

SCRIPT = "<script>alert('oas')</script>"


def _report(outcome) -> Report:
    check = CheckResult(id=OpenApiCheck.id, title=OpenApiCheck.title, section=OpenApiCheck.section,
                        status=check_status(outcome.findings, "high", outcome.status), summary=outcome.summary,
                        metrics=outcome.metrics, findings=outcome.findings)
    return Report(tool={"name": "backend-auditor", "version": "0"}, target={"url": None, "spec": "x"},
                  started_at="2026-01-01T00:00:00+00:00", duration_s=1.0, verdict=Verdict.PASS, checks=[check],
                  gate={"fail_on": "high", "exit_code": 0})


def test_hostile_document_text_is_escaped(tmp_path):
    document = minimal_spec()
    document["info"]["title"] = SCRIPT
    document["info"]["description"] = f'"><img src=x onerror=alert(1)>{SCRIPT}'
    op = document["paths"]["/items"]["get"]
    op["summary"] = SCRIPT
    op["description"] = SCRIPT
    op["operationId"] = f"list{SCRIPT}"
    document["paths"][f"/evil/{SCRIPT}"] = {"get": {"summary": SCRIPT, "responses": {"200": {"description": SCRIPT}}}}
    document["tags"][0]["description"] = SCRIPT
    outcome = run_check(None, tmp_path, spec=str(write_spec(tmp_path, document)))
    assert any(SCRIPT in f.message for f in outcome.findings)  # the hostile text did reach the findings
    html = HtmlRenderer().render(_report(outcome))
    assert "<script" not in html.lower() and "<img" not in html.lower()
    assert "&lt;script&gt;alert(&#39;oas&#39;)&lt;/script&gt;" in html
    assert 'href="javascript' not in html.lower()
    markdown = MarkdownRenderer().render(_report(outcome))
    assert "<script" not in markdown.lower()


def test_completeness_table_marks_failures_and_not_applicable_rules(tmp_path):
    document = minimal_spec()
    del document["paths"]["/items"]["get"]["summary"]
    outcome = run_check(None, tmp_path, spec=str(write_spec(tmp_path, document)))
    html = HtmlRenderer().render(_report(outcome))
    table = re.search(r'<table class="openapi-completeness">(.*?)</table>', html, re.S)
    assert table, "the per-operation table is missing"
    rows = re.findall(r"<tr>(.*?)</tr>", table.group(1), re.S)
    header = re.findall(r'href="docs/checks/openapi.md#(oas\d+)"', rows[0])
    assert header == [r.lower() for r in outcome.metrics["completeness"]["rules"]]
    first = re.findall(r"<td[^>]*>(.*?)</td>", rows[1], re.S)
    assert "GET /items" in first[0] and first[0].count("{") == 0  # worst operation first
    cells = dict(zip(header, first[2:]))
    assert "✗ fail" in cells["oas020"] and "✓" in cells["oas021"] and "–" in cells["oas027"]
    assert "Not run: no service URL" in html
