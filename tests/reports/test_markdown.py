import re

from auditor.model import CheckResult, Finding, Report, Section, Severity, Status, Verdict
from reports.markdown import MAX_BYTES, TOP_FINDINGS, MarkdownRenderer, md_escape
from tests.reports.conftest import XSS_EVIDENCE, XSS_TITLE, sample_report


def test_verdict_checks_findings_and_pointer(report):
    md = MarkdownRenderer().render(report)
    first = md.splitlines()[0]
    assert first.startswith("## ⚠️ INCOMPLETE")
    assert "**Verdict: error** · exit code 2 · gate fails on high or worse" in md
    rows = [line for line in md.splitlines() if line.startswith("| ") and "|---" not in line]
    check_rows = [r for r in rows if any(f"| {c.id} |" in r for c in report.checks)]
    assert len(check_rows) == len(report.checks)
    assert "| health | Deployment checklist | ❌ fail | 2 of 4 probes missing | 2 (+1 suppressed) |" in md
    assert "💥 error" in md and "⏭️ skipped" in md
    assert "report.html" in md.splitlines()[-1] or "report.html" in md
    assert md.index("HLT001") < md.index("SEC101") < md.index("OAS020")  # worst first


def test_pass_and_fail_verdict_lines():
    assert MarkdownRenderer().render(sample_report(Verdict.PASS, 0)).startswith("## ✅ READY")
    assert MarkdownRenderer().render(sample_report(Verdict.FAIL, 1)).startswith("## ❌ NOT READY")


def test_untrusted_text_cannot_inject_markup(report):
    report.checks[0].summary = "a | b `code` [link](javascript:alert(1)) @everyone\nnew line"
    md = MarkdownRenderer().render(report)
    assert XSS_TITLE not in md and "&lt;script&gt;alert(1)&lt;/script&gt;" in md
    assert "<" not in md.replace("&lt;", "")
    assert XSS_EVIDENCE not in md
    row = next(line for line in md.splitlines() if line.startswith("| health |"))
    assert len(re.findall(r"(?<!\\)\|", row)) == 6  # five cells: the summary's pipe is escaped
    assert "\\`code\\`" in row and "\\[link\\]" in row and "@everyone" not in row and "new line" in row


def test_md_escape():
    assert md_escape("<b>&</b>") == "&lt;b&gt;&amp;&lt;/b&gt;"
    assert md_escape("a|b") == "a\\|b" and md_escape("*x*_y_") == "\\*x\\*\\_y\\_"
    assert md_escape("see http://x.test") == "see http&#58;//x.test"
    assert md_escape("x" * 500, 50).endswith("…") and len(md_escape("x" * 500, 50)) == 51


def test_top_findings_are_capped(report):
    report.checks[0].findings = [Finding(rule_id=f"HLT{i:03d}", severity=Severity.HIGH, title=f"t{i}", message="m",
                                         location={"endpoint": f"GET /{i}"}) for i in range(40)]
    md = MarkdownRenderer().render(report)
    assert f"### Top findings ({TOP_FINDINGS} of " in md
    assert md.count("🔴 high |") == TOP_FINDINGS


def test_huge_report_stays_under_the_limit():
    checks = [CheckResult(id=f"check{i}", title="t", section=Section.SECURITY, status=Status.WARN,
                          summary="s" * 5000) for i in range(2000)]
    report = Report(tool={"name": "backend-auditor", "version": "1"}, target={"url": "u", "spec": None, "repo": None},
                    started_at="2025-01-01T00:00:00Z", duration_s=1, verdict=Verdict.PASS, checks=checks,
                    gate={"fail_on": "high", "exit_code": 0})
    md = MarkdownRenderer().render(report)
    assert len(md.encode()) <= MAX_BYTES
    assert "truncated" in md and md.rstrip().endswith("Data: report.json.")
