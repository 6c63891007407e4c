import xml.etree.ElementTree as ET

from auditor.model import Finding, Severity
from reports.junit import JunitRenderer
from tests.reports.conftest import XSS_TITLE


def parse(report) -> ET.Element:
    return ET.fromstring(JunitRenderer().render(report).encode())


def suites(root: ET.Element) -> dict[str, ET.Element]:
    return {s.get("name"): s for s in root.findall("testsuite")}


def test_parses_and_counts_match(report):
    root = parse(report)
    assert root.tag == "testsuites"
    by_name = suites(root)
    assert list(by_name) == [c.id for c in report.checks]
    for suite in by_name.values():
        cases = suite.findall("testcase")
        assert int(suite.get("tests")) == len(cases)
        assert int(suite.get("failures")) == sum(1 for c in cases if c.find("failure") is not None)
        assert int(suite.get("errors")) == sum(1 for c in cases if c.find("error") is not None)
        assert int(suite.get("skipped")) == sum(1 for c in cases if c.find("skipped") is not None)
    for key in ("tests", "failures", "errors", "skipped"):
        assert int(root.get(key)) == sum(int(s.get(key)) for s in by_name.values())
    assert (root.get("failures"), root.get("errors"), root.get("skipped")) == ("3", "1", "1")


def test_fail_check_has_one_testcase_per_rule_with_failures_at_or_above_the_gate(report):
    health = suites(parse(report))["health"]
    cases = {c.get("name"): c for c in health.findall("testcase")}
    assert set(cases) == {"HLT001 No health endpoint", "HLT020 No metrics endpoint", "HLT030 Readiness equals liveness"}
    assert all(c.get("classname") == "health" for c in cases.values())
    failure = cases["HLT001 No health endpoint"].find("failure")
    assert failure.get("type") == "critical" and "GET /health" in failure.text
    assert cases["HLT030 Readiness equals liveness"].find("failure") is None  # suppressed
    assert "suppressed" in cases["HLT030 Readiness equals liveness"].find("system-out").text
    security = suites(parse(report))["security"]
    xss = next(c for c in security.findall("testcase") if c.get("name").startswith("SEC101"))
    assert xss.get("name") == f"SEC101 {XSS_TITLE}" and xss.find("failure") is not None
    low = next(c for c in security.findall("testcase") if c.get("name").startswith("SEC200"))
    assert low.find("failure") is None and "SEC200" in low.find("system-out").text


def test_warn_error_skipped_and_pass(report):
    by_name = suites(parse(report))
    assert by_name["openapi"].get("failures") == "0"
    assert all(c.find("system-out") is not None for c in by_name["openapi"].findall("testcase"))
    error = by_name["coverage"].find("testcase/error")
    assert error is not None and "pytest crashed" in error.get("message")
    skipped = by_name["migrations"].find("testcase/skipped")
    assert skipped is not None and skipped.get("message") == "no repository (give --repo PATH)"
    report.checks[2].findings = []
    latency = suites(parse(report))["latency"]
    [case] = latency.findall("testcase")
    assert case.get("name") == "latency" and len(case) <= 1 and case.find("failure") is None


def test_fail_on_never_fails_nothing(report):
    report.gate["fail_on"] = "never"
    assert parse(report).get("failures") == "0"


def test_characters_xml_cannot_carry_are_replaced(report):
    report.checks[0].findings.append(Finding(rule_id="HLT099", severity=Severity.HIGH, title="bell \x07 esc \x1b[31m",
                                             message="nul \x00", evidence="\x1b[0m]]> </failure>"))
    root = parse(report)
    case = next(c for c in suites(root)["health"].findall("testcase") if c.get("name").startswith("HLT099"))
    assert "</failure>" in case.find("failure").text
