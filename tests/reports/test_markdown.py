import re

from auditor.model import CheckResult, Finding, Report, Section, Severity, Status, Verdict
from reports.markdown import CHECK_ROWS, LIST_LIMIT, MARKER, MAX_BYTES, TOP_FINDINGS, WORD_JOINER, MarkdownRenderer, md_escape
from tests.reports.conftest import GATE_REASON, XSS_EVIDENCE, XSS_TITLE, gated_report, sample_report

# The only HTML the renderer writes itself; everything else that looks like a tag came from the target.
OWN_TAGS = re.compile(r"<!-- backend-auditor:report -->|</?details>|<details><summary>|</?summary>")


def render(report: Report) -> str:
    return MarkdownRenderer().render(report)


def without_own_tags(md: str) -> str:
    return OWN_TAGS.sub("", md)


def test_verdict_checks_findings_and_pointer(report):
    md = render(report)
    lines = md.splitlines()
    assert lines[0] == MARKER  # sticky-comment actions find the comment by it
    assert lines[1].startswith("## ⚠️ INCOMPLETE")
    assert "**Verdict: error** · exit code 2 · gate fails on high or worse" in md
    rows = [line for line in md.splitlines() if line.startswith("| ") and "|---" not in line]
    check_rows = [r for r in rows if any(f"| {c.id} |" in r for c in report.checks)]
    assert len(check_rows) == len(report.checks)
    assert "| ❌ fail | health | 2 of 4 probes missing | 2 (+1 suppressed) |" in md
    assert "💥 error" in md and "⏭️ skipped" in md
    assert [line for line in lines if line.strip()][-1] == (
        "Full report with evidence and remediation: **report.html** (next to this file in the audit output "
        "directory or CI artifact). Data: report.json.")  # the pointer closes the comment
    assert md.index("HLT001") < md.index("SEC101") < md.index("OAS020")  # worst first


def test_pass_and_fail_verdict_lines():
    assert render(sample_report(Verdict.PASS, 0)).splitlines()[1].startswith("## ✅ READY")
    assert render(sample_report(Verdict.FAIL, 1)).splitlines()[1].startswith("## ❌ NOT READY")


def test_the_checks_table_shows_one_short_figure_per_check(report):
    report.checks[0].summary = "word " * 100
    row = next(line for line in render(report).splitlines() if "| health |" in line)
    figure = row.split(" | ")[2]
    assert figure.endswith("…") and 50 <= len(figure) <= 61
    report.checks[0].metrics["headline"] = "3 probes"  # a check's own figure wins
    row = next(line for line in render(report).splitlines() if "| health |" in line)
    assert row.split(" | ")[2] == "3 probes"


def test_untrusted_text_cannot_inject_markup(report):
    report.checks[0].summary = "a | b `code` [link](javascript:alert(1)) @everyone\nnew line"
    md = render(report)
    assert XSS_TITLE not in md and "&lt;script&gt;alert(1)&lt;/script&gt;" in md
    assert "<" not in without_own_tags(md).replace("&lt;", "")
    assert XSS_EVIDENCE not in md
    row = next(line for line in md.splitlines() if "| health |" in line)
    assert len(re.findall(r"(?<!\\)\|", row)) == 5  # four cells: the summary's pipe is escaped
    assert "\\`code\\`" in row and "\\[link\\]" in row and "@everyone" not in row and "new line" in row


def test_md_escape():
    assert md_escape("<b>&</b>") == "&lt;b&gt;&amp;&lt;/b&gt;"
    assert md_escape("a|b") == "a\\|b" and md_escape("*x*_y_") == "\\*x\\*\\_y\\_"
    assert md_escape("see http://x.test") == "see http&#58;//x.test"
    assert md_escape("x" * 500, 50).endswith("…") and len(md_escape("x" * 500, 50)) == 51


def test_md_escape_leaves_no_mention_reference_autolink_or_block_marker():
    assert md_escape("ping @team and @org/admins") == f"ping @{WORD_JOINER}team and @{WORD_JOINER}org/admins"
    assert md_escape("fixes #12, not #x") == f"fixes #{WORD_JOINER}12, not #x"
    assert md_escape("go to www.evil.test or WWW.evil.test") == "go to www&#46;evil.test or WWW&#46;evil.test"
    assert md_escape("mail a@b.test") == f"mail a@{WORD_JOINER}b.test"
    # At the start of a list item's text these would open a heading, a nested list or a rule.
    assert [md_escape(t) for t in ("# h", "- x", "+ x", "1. x", "12) x", "---", "= =")] == \
        ["\\# h", "\\- x", "\\+ x", "1\\. x", "12\\) x", "\\---", "\\= ="]
    assert [md_escape(t) for t in ("0.1.0", "#tag", "-x", "+10 %")] == ["0.1.0", "#tag", "-x", "+10 %"]


def test_top_findings_are_capped(report):
    report.checks[0].findings = [Finding(rule_id=f"HLT{i:03d}", severity=Severity.HIGH, title=f"t{i}", message="m",
                                         location={"endpoint": f"GET /{i}"}) for i in range(40)]
    md = render(report)
    total = sum(1 for c in report.checks for f in c.findings if not f.suppressed)
    assert f"### Findings ({total}, worst first)" in md
    assert md.count("🔴 high |") == TOP_FINDINGS
    assert f"\n\n… and {total - TOP_FINDINGS} more findings in report.html." in md  # a blank line: not a table row


def test_huge_report_stays_under_the_limit():
    checks = [CheckResult(id=f"check{i}", title="t", section=Section.SECURITY, status=Status.WARN,
                          summary="s" * 5000) for i in range(2000)]
    report = Report(tool={"name": "backend-auditor", "version": "1"}, target={"url": "u", "spec": None, "repo": None},
                    started_at="2025-01-01T00:00:00Z", duration_s=1, verdict=Verdict.PASS, checks=checks,
                    gate={"fail_on": "high", "exit_code": 0})
    md = render(report)
    assert len(md.encode()) <= MAX_BYTES
    assert f"… and {2000 - CHECK_ROWS} more checks in report.html." in md
    assert md.rstrip().endswith("Data: report.json.")


# -- under the gate's policy (schema 1.1) ---------------------------------------------------------------

def test_gated_report_heads_with_policy_baseline_and_warnings():
    md = render(gated_report())
    assert "· gate fails on high or worse · 4 new: 3 high, 1 info · 4 known · 2 suppressed" in md
    assert "Policy: levels openapi warn · fail on per check security low" in md
    assert "Baseline main-report/report.json: **4 new** · 5 known (reported, not gating) · 1 fixed since" in md
    assert "> ⚠️ **Gate warnings:** 1 metric regression and 1 expired ignore-file entry — see below." in md
    assert "| ❌ fail | health | 2 of 4 probes missing | 1 new, 1 known (+1 suppressed) |" in md


def test_new_findings_come_first_and_known_suppressed_fixed_are_counted_in_details():
    md = render(gated_report())
    new_table = md.split("### New findings (4, worst first)", 1)[1].split("###", 1)[0]
    assert {"HLT020", "LAT900", "SEC101"} <= set(re.findall(r"\| ([A-Z]{3}\d{3}) \|", new_table))
    assert "HLT001" not in new_table and "SEC200" not in new_table  # known, suppressed
    assert md.index("### New findings") < md.index("<details>")
    details = md.split("<details><summary>", 1)[1].split("</details>", 1)[0]
    assert details.startswith("4 known findings (in the baseline) · 2 suppressed · 1 fixed since the baseline</summary>\n\n")
    assert "| 🟥 critical | HLT001 | No health endpoint | GET /health |" in details
    sec200 = next(line for line in details.splitlines() if "SEC200" in line)
    assert md_escape(GATE_REASON) in sec200 and "expires 2099-12-31 · owner team-api" in sec200
    assert "HLT030" in details and "suppressed in the audited code" in details
    assert "- health HLT099 Old health problem (GET /old)" in details


def test_regressions_and_ignore_file_entries_are_listed():
    md = render(gated_report())
    assert "### ⚠️ Metric regressions (1)" in md
    assert "| latency | p95\\_ms | — | 60 → **84** | +10 % and +5 ms |" in md
    assert "### ⚠️ Expired ignore-file entries (1)" in md
    assert "- entry 2 (rule OAS020) expired **2020-01-31**, would match 1 finding: examples come later" in md
    assert "### Unused ignore-file entries (1)" in md and "- entry 3 (rule DPL001): legacy image" in md


def test_no_gate_parts_without_baseline_or_ignore_file(report):
    md = render(report)
    for absent in ("Baseline ", "Policy:", "Gate warnings", "regressions", "ignore-file", "known", "### New findings"):
        assert absent not in md, absent
    assert "<details><summary>1 suppressed</summary>" in md


def test_hostile_gate_text_stays_inert():
    report = gated_report()
    evil = "</details><!-- x --> | `y` @all #1 [l](javascript:z) -->"
    report.gate["suppressions"]["expired"][0]["reason"] = evil
    report.gate["suppressions"]["unused"][0]["rule"] = evil
    report.gate["regressions"][0]["limit"] = evil
    report.gate["baseline"]["path"] = evil
    report.gate["baseline"]["fixed"][0]["title"] = evil
    report.checks[5].findings[1].suppression["reason"] = evil
    md = render(report)
    rest = without_own_tags(md)
    assert "<" not in rest.replace("&lt;", "") and "-->" not in rest
    assert md.count("<details>") == md.count("</details>") == 1
    assert "@all" not in md and "#1 " not in md and not re.search(r"(?<!\\)\]\(", md)  # no link


def many_findings_report(count: int, text: str) -> Report:
    """``count`` findings, a third each new, known and suppressed, every text field ``text``."""
    report = gated_report()
    findings = []
    for i in range(count):
        finding = Finding(rule_id=f"SEC{i % 1000:03d}", severity=list(Severity)[i % 5], title=text, message=text,
                          location={"file": text, "line": i}, evidence=text, remediation=text)
        finding.known = i % 3 == 1
        if i % 3 == 2:
            finding.suppressed = True
            finding.suppression = {"entry": 1, "reason": text, "expires": "2099-01-01", "owner": text, "file": "f"}
        findings.append(finding)
    report.checks[5].findings = findings
    report.checks[5].summary = text
    return report


def test_five_thousand_findings_render_under_60000_characters():
    md = render(many_findings_report(5000, "finding title"))
    assert len(md) < 60_000 and len(md.encode()) <= MAX_BYTES
    # the security check's 5000, plus the other checks' new (HLT020, two LAT900), known (HLT001, OAS010 x2,
    # OAS020) and suppressed (HLT030) findings
    new, known, suppressed = 1667 + 3, 1667 + 4, 1666 + 1
    assert f"### New findings ({new}, worst first)" in md
    assert f"… and {new - TOP_FINDINGS} more new findings in report.html." in md
    assert f"<details><summary>{known} known findings (in the baseline) · {suppressed} suppressed" in md
    assert f"… and {known - LIST_LIMIT} more known findings in report.html." in md
    assert f"- … and {suppressed - LIST_LIMIT} more in report.html" in md


def test_long_hostile_texts_are_fitted_by_priority_and_stay_well_formed():
    """Every escaped text at its longest (entities five times the characters): the lists are cut to fit,
    the warnings stay, the <details> is closed, and what was cut is counted."""
    report = many_findings_report(5000, "&<>" * 2000)
    report.checks += [CheckResult(id=f"c{i}", title="t", section=Section.SECURITY, status=Status.WARN,
                                  summary="&" * 5000) for i in range(100)]
    report.gate["suppressions"]["expired"] *= 40
    md = render(report)
    assert len(md.encode()) <= MAX_BYTES
    assert "### ⚠️ Metric regressions (1)" in md and "### ⚠️ Expired ignore-file entries (40)" in md
    assert md.count("<details>") == md.count("</details>") == 1
    assert re.search(r"… and \d+ more (new findings|checks|known findings) in report\.html\.", md)
    assert md.rstrip().endswith("Data: report.json.")


def test_the_console_verdict_leads_with_the_same_figures_as_the_markdown():
    from auditor.registry import load_renderers
    from auditor.reporting import headline_figures, summary_lines
    from tests.reports.realistic import realistic_report

    report = realistic_report()
    figures = headline_figures(report, load_renderers())
    assert figures.startswith("live ✓ · ready ✓ · metrics ✓ · completeness 63.5 % · p95 184 ms of 100")
    assert summary_lines(report, [], figures)[1] == f"  {figures}"
    assert "**completeness 63.5 %**" in render(report)
