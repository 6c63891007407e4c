import xml.etree.ElementTree as ET

from auditor.model import Finding, Severity
from reports.junit import JunitRenderer
from tests.reports.conftest import GATE_REASON, XSS_TITLE


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
    # skipped: the migrations check, and rule HLT030 whose one finding is suppressed
    assert (root.get("failures"), root.get("errors"), root.get("skipped")) == ("3", "1", "2")


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


def case_of(root: ET.Element, check: str, rule_id: str) -> ET.Element:
    return next(c for c in suites(root)[check].findall("testcase") if c.get("name").startswith(rule_id))


def test_a_rule_whose_findings_are_all_suppressed_is_skipped_with_the_reason(report):
    hlt030 = case_of(parse(report), "health", "HLT030")
    skipped = hlt030.find("skipped")
    assert skipped is not None and hlt030.find("failure") is None
    assert skipped.get("message").startswith("1 finding suppressed: suppressed in the audited code")


def test_known_and_suppressed_findings_are_never_failures(gated):
    root = parse(gated)
    known = case_of(root, "health", "HLT001")  # critical, but in the baseline
    assert known.find("failure") is None and known.find("skipped") is None
    assert "(known: in the baseline)" in known.find("system-out").text
    assert case_of(root, "health", "HLT020").find("failure") is not None  # new
    assert case_of(root, "latency", "LAT900").find("failure") is not None  # the p95 regression
    sec200 = case_of(root, "security", "SEC200")  # low, security gates on low, but suppressed
    assert sec200.find("failure") is None
    assert sec200.find("skipped").get("message") == f"1 finding suppressed: {GATE_REASON} · expires 2099-12-31 · " \
        "owner team-api · entry 1 of .audit-ignore.toml"
    assert "suppressed: " + GATE_REASON in sec200.find("system-out").text
    assert suites(root)["openapi"].get("failures") == "0"  # level warn
    assert root.get("failures") == "3"  # HLT020, LAT900, SEC101: the new findings at or above their gate


def test_suites_carry_known_and_suppressed_counts_as_properties(gated):
    by_name = suites(parse(gated))
    health = by_name["health"]
    assert health[0].tag == "properties"  # first, as the JUnit schema orders a testsuite
    assert {p.get("name"): p.get("value") for p in health.find("properties")} == {"known": "2", "suppressed": "1"}
    assert {p.get("name"): p.get("value") for p in by_name["security"].find("properties")} == \
        {"known": "0", "suppressed": "1"}
    assert by_name["coverage"].find("properties") is None


def test_per_check_threshold_gates_its_own_findings(gated):
    gated.checks[5].findings.append(Finding(rule_id="SEC300", severity=Severity.LOW, title="low", message="m"))
    failure = case_of(parse(gated), "security", "SEC300").find("failure")
    assert failure is not None and "at or above low" in failure.get("message")
