"""The nplusone chart in report.html: drawn from the per-endpoint query counts, target text escaped."""

from __future__ import annotations

from auditor.model import CheckResult, Report, Section, Status
from reports.html import HtmlRenderer


def _report(endpoints: list[dict]) -> Report:
    check = CheckResult(id="nplusone", title="N+1 SQL queries", section=Section.PERFORMANCE, status=Status.PASS,
                        summary="no N+1", metrics={"requests_profiled": 3, "queries_captured": 25,
                                                   "endpoints": endpoints})
    return Report(tool={"name": "backend-auditor", "version": "0"}, target={"url": "http://127.0.0.1:1"},
                  started_at="2026-01-01T00:00:00+00:00", duration_s=1.0, verdict="pass", checks=[check])


def test_query_counts_are_charted_per_endpoint_and_labels_escaped():
    html = HtmlRenderer().render(_report([
        {"method": "GET", "path": "/books", "queries": 22, "queries_small_page": 7},
        {"method": "GET", "path": "/<script>alert(1)</script>", "queries": 3},
        {"method": "GET", "path": "/livez", "queries": 0},
    ]))
    assert "SQL statements per request, per endpoint" in html
    assert "at the smaller page size" in html   # the counts differ between page sizes: growth shown
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;" in html


def test_no_chart_without_sql_and_no_crash_on_odd_metrics():
    html = HtmlRenderer().render(_report([{"method": "GET", "path": "/livez", "queries": 0}]))
    assert "No request ran SQL the check could see." in html
    html = HtmlRenderer().render(_report("not a list"))   # type: ignore[arg-type]
    assert "SQL statements per request" not in html
