import pytest

from auditor.gate import check_status, exit_code, fails_gate, regate, verdict
from auditor.model import CheckResult, Finding, Severity, Status, Verdict


def finding(severity: str, suppressed: bool = False) -> Finding:
    return Finding(rule_id="TST001", severity=Severity(severity), title="t", message="m",
                   location={"endpoint": f"GET /{severity}"}, suppressed=suppressed)


def result(status: Status, findings: list[Finding] | None = None) -> CheckResult:
    return CheckResult(id="x", title="X", section="deployment", status=status, summary="", findings=findings or [])


@pytest.mark.parametrize("severities, fail_on, expected", [
    ([], "high", Status.PASS),
    (["info"], "high", Status.PASS),            # info alone never warns
    (["medium"], "high", Status.WARN),
    (["high"], "high", Status.FAIL),
    (["critical", "low"], "high", Status.FAIL),
    (["medium"], "medium", Status.FAIL),
    (["low"], "low", Status.FAIL),
    (["critical"], "never", Status.WARN),       # never fails, still reported
])
def test_check_status_from_findings(severities, fail_on, expected):
    assert check_status([finding(s) for s in severities], fail_on) is expected


def test_suppressed_findings_neither_fail_nor_warn():
    assert check_status([finding("critical", suppressed=True)], "high") is Status.PASS
    assert not fails_gate(finding("critical", suppressed=True), "low")


def test_check_can_ask_for_warn_but_findings_still_fail():
    assert check_status([], "high", Status.WARN) is Status.WARN
    assert check_status([finding("high")], "high", Status.WARN) is Status.FAIL


@pytest.mark.parametrize("statuses, expected, code", [
    ([Status.PASS, Status.WARN, Status.SKIPPED], Verdict.PASS, 0),
    ([Status.PASS, Status.FAIL], Verdict.FAIL, 1),
    ([Status.FAIL, Status.ERROR], Verdict.ERROR, 2),
    ([Status.SKIPPED, Status.SKIPPED], Verdict.ERROR, 2),  # measured nothing: never a pass
    ([], Verdict.ERROR, 2),
])
def test_verdict_and_exit_code(statuses, expected, code):
    assert verdict([result(s) for s in statuses]) is expected
    assert exit_code(expected) == code


def test_regate_recomputes_under_a_new_threshold_and_keeps_a_checks_own_warn():
    checks = [result(Status.WARN, [finding("medium")]), result(Status.WARN), result(Status.ERROR)]
    regate(checks, "medium")
    assert [c.status for c in checks] == [Status.FAIL, Status.WARN, Status.ERROR]
    regate(checks, "critical")
    assert [c.status for c in checks] == [Status.WARN, Status.WARN, Status.ERROR]


def test_known_findings_are_reported_but_never_fail():
    known = finding("critical")
    known.known = True
    assert not fails_gate(known, "low")
    assert check_status([known], "high") is Status.WARN  # still visible: a warn, not a pass


def test_policy_level_warn_caps_a_failing_check_and_per_check_fail_on_applies():
    failing = result(Status.FAIL, [finding("high")])
    medium = CheckResult(id="y", title="Y", section="security", status=Status.WARN, summary="",
                         findings=[finding("medium")])
    regate([failing, medium], "high", levels={"x": "warn"}, fail_on_by_check={"y": "medium"})
    assert (failing.status, medium.status) == (Status.WARN, Status.FAIL)


def test_a_metric_regression_gates_at_any_threshold_but_never():
    regression = Finding(rule_id="LAT900", severity=Severity.HIGH, title="p95 latency regressed", message="m")
    assert fails_gate(regression, "critical")  # its band was its threshold (lenient widens the band instead)
    assert not fails_gate(regression, "never")
    assert not fails_gate(finding("high"), "critical")
