from auditor.model import CheckResult, Finding, Section, Severity, Status
from reports.common import (catalogue_link, fails_gate, format_location, format_number, next_steps,
                            section_headline, section_status, threshold_for, truncate, xml_safe)


def finding(severity: str, suppressed: bool = False) -> Finding:
    return Finding(rule_id="SEC001", severity=Severity(severity), title="t", message="m", suppressed=suppressed)


def check(status: Status, summary: str = "s") -> CheckResult:
    return CheckResult(id="c", title="t", section=Section.SECURITY, status=status, summary=summary)


def test_fails_gate():
    failed = check(Status.FAIL)
    assert fails_gate(failed, finding("high"), "high")
    assert fails_gate(failed, finding("critical"), "medium")
    assert not fails_gate(failed, finding("medium"), "high")
    assert not fails_gate(failed, finding("critical", suppressed=True), "low")
    assert not fails_gate(failed, finding("critical"), "never")
    assert not fails_gate(check(Status.WARN), finding("critical"), "high")
    known = finding("critical")
    known.known = True  # in the --baseline report: reported, never gating
    assert not fails_gate(failed, known, "low")


def test_threshold_for_a_check(report):
    assert threshold_for(report, "security") == "high"
    report.gate["fail_on_by_check"] = {"security": "low", "health": 3}
    assert threshold_for(report, "security") == "low"
    assert threshold_for(report, "health") == "high"  # not a threshold: the run's


def test_format_location():
    assert format_location({"endpoint": "GET /x"}) == "GET /x"
    assert format_location({"file": "a.py", "line": 3}) == "a.py:3"
    assert format_location({"file": "a.py"}) == "a.py"
    assert format_location({"url": "http://h/"}) == "http://h/"
    assert format_location({"endpoint": "GET /x", "parameter": "q"}) == "GET /x · parameter=q"
    assert format_location({}) == "" and format_location(None) == ""
    assert "\n" not in format_location({"file": "a\nb"})


def test_truncate_and_xml_safe():
    assert truncate("abc", 5) == "abc"
    assert truncate("a" * 10, 4) == "aaaa… [truncated, 6 more characters]"
    assert truncate(None) == ""
    assert xml_safe("a\x00b\x1bc\td") == "a\ufffdb\ufffdc\td"


def test_format_number():
    assert [format_number(v) for v in (84.0, 130.25, 0.012345, 3, True, None, "x")] == \
        ["84", "130.2", "0.01235", "3", "yes", "—", "x"]


def test_section_status_and_headline():
    assert section_status([]) is None and section_headline([]) == "not audited"
    assert section_status([check(Status.PASS), check(Status.ERROR), check(Status.WARN)]) == Status.ERROR
    assert section_status([check(Status.ERROR), check(Status.FAIL)]) == Status.FAIL
    assert section_status([check(Status.SKIPPED)]) == Status.SKIPPED
    assert section_headline([check(Status.SKIPPED, "no repo")]) == "not audited (skipped)"
    assert section_headline([check(Status.PASS, "p95 84 ms"), check(Status.SKIPPED, "x"),
                             check(Status.WARN, "coverage\n91 %")]) == "p95 84 ms · coverage 91 %"


def test_catalogue_link_is_relative_and_quoted():
    assert catalogue_link("health", "HLT020") == "docs/checks/health.md#hlt020"
    assert catalogue_link("javascript:x", '"><b>') == "docs/checks/javascript%3Ax.md#%22%3E%3Cb%3E"


def test_next_steps(report):
    steps, more = next_steps(report, limit=3)
    assert [s.rule_id for s in steps] == ["HLT001", "HLT020", "SEC101"] and more == 4
    steps, _ = next_steps(report)
    oas = next(s for s in steps if s.rule_id == "OAS010")
    assert oas.places == 2 and oas.locations == ["GET /items/{id}", "GET /items"]
    assert "HLT030" not in [s.rule_id for s in steps]  # suppressed
