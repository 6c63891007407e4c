import json
from pathlib import Path

import jsonschema
import pytest

from auditor.model import Report, Verdict
from auditor.report_file import ReportLoadError, load_report, report_schema, validation_errors
from reports.json_report import JsonRenderer
from tests.reports.conftest import sample_report

REPO = Path(__file__).resolve().parents[2]


def rendered(report: Report) -> dict:
    return json.loads(JsonRenderer().render(report))


@pytest.mark.parametrize("verdict, code", [(Verdict.PASS, 0), (Verdict.FAIL, 1), (Verdict.ERROR, 2)])
def test_output_validates_against_the_schema(verdict, code):
    data = rendered(sample_report(verdict, code))
    jsonschema.Draft202012Validator.check_schema(report_schema())
    jsonschema.validate(data, report_schema(), cls=jsonschema.Draft202012Validator)
    assert data == sample_report(verdict, code).to_dict()


def test_optional_parts_may_be_absent():
    report = sample_report()
    report.service = None
    report.gate = {}
    data = rendered(report)
    assert "service" not in data and data["gate"] == {}
    assert validation_errors(data) == []


@pytest.mark.parametrize("breakage, path", [
    (lambda d: d["checks"][0]["findings"][0].update(severity="severe"), "$.checks[0].findings[0].severity"),
    (lambda d: d["checks"][0]["findings"][0].update(rule_id="hlt20"), "$.checks[0].findings[0].rule_id"),
    (lambda d: d["checks"][1].update(status="ok"), "$.checks[1].status"),
    (lambda d: d["checks"][1].update(section="misc"), "$.checks[1].section"),
    (lambda d: d.update(verdict="maybe"), "$.verdict"),
    (lambda d: d["gate"].update(exit_code=3), "$.gate.exit_code"),
    (lambda d: d["gate"].update(fail_on="severe"), "$.gate.fail_on"),
    (lambda d: d["checks"][0]["findings"][0].pop("fingerprint"), "$.checks[0].findings[0]"),
    (lambda d: d["checks"][0]["findings"][0].update(suppressed="no"), "$.checks[0].findings[0].suppressed"),
    (lambda d: d.pop("tool"), "$"),
    (lambda d: d.update(extra=1), "$"),
])
def test_broken_report_fails_validation(breakage, path):
    data = rendered(sample_report())
    breakage(data)
    errors = validation_errors(data)
    assert errors and errors[0].startswith(path + ":"), errors
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(data, report_schema(), cls=jsonschema.Draft202012Validator)


def test_load_report_round_trips(tmp_path):
    report = sample_report()
    path = tmp_path / "report.json"
    path.write_text(JsonRenderer().render(report))
    loaded = load_report(path)
    assert loaded.to_dict() == report.to_dict()
    assert load_report(str(path)).to_dict() == report.to_dict()


def one_line_error(path) -> str:
    with pytest.raises(ReportLoadError) as info:
        load_report(path)
    message = str(info.value)
    assert message and "\n" not in message and len(message) < 400
    return message


def test_missing_file_is_one_line(tmp_path):
    assert "does not exist" in one_line_error(tmp_path / "nope.json")


def test_directory_is_one_line(tmp_path):
    assert "directory" in one_line_error(tmp_path)


def test_not_json_is_one_line(tmp_path):
    path = tmp_path / "report.json"
    path.write_text("{not json\n\n\n")
    assert "not JSON" in one_line_error(path)
    path.write_bytes(b"\xff\xfe\x00garbage")
    assert "not JSON" in one_line_error(path)


def test_schema_violation_names_the_json_path(tmp_path):
    data = rendered(sample_report())
    data["checks"][2]["findings"][0]["severity"] = "severe\nwith a newline"
    path = tmp_path / "report.json"
    path.write_text(json.dumps(data))
    message = one_line_error(path)
    assert "$.checks[2].findings[0].severity" in message and "not a valid report" in message


def test_incomplete_report_is_one_line(tmp_path):
    path = tmp_path / "report.json"
    path.write_text('{"schema_version": "1.0"}')
    assert "report" in one_line_error(path)
    path.write_text("[1, 2]")
    assert "not a valid report" in one_line_error(path)


def test_unsupported_schema_version_is_one_line(tmp_path):
    data = rendered(sample_report())
    data["schema_version"] = "2.0"
    path = tmp_path / "report.json"
    path.write_text(json.dumps(data))
    message = one_line_error(path)
    assert "unsupported schema_version '2.0'" in message and "1.0" in message


def test_docs_symlink_points_to_the_schema():
    link = REPO / "docs" / "report.schema.json"
    assert link.is_symlink() and not Path(link.readlink()).is_absolute()
    assert json.loads(link.read_text()) == report_schema()


def test_a_schema_1_0_report_is_read_and_renders_in_every_format(tmp_path):
    """A report written before 1.1 (no known, no suppression, a gate of fail_on/exit_code only) loads,
    reads as known=false / suppression=None, and every renderer takes it without gate parts."""
    import json as _json

    from auditor.registry import load_renderers
    from auditor.report_file import load_report
    from tests.reports.conftest import sample_report

    data = sample_report().to_dict()
    data["schema_version"] = "1.0"
    for check in data["checks"]:
        for finding in check["findings"]:
            del finding["known"], finding["suppression"]
    path = tmp_path / "old.json"
    path.write_text(_json.dumps(data), encoding="utf-8")
    report = load_report(path)
    findings = [f for c in report.checks for f in c.findings]
    assert findings and not any(f.known for f in findings) and all(f.suppression is None for f in findings)
    outputs = {name: cls().render(report) for name, cls in load_renderers().items()}
    assert {"html", "json", "md", "junit", "sarif"} <= set(outputs)
    assert '<aside class="gate' not in outputs["html"] and "badge known" not in outputs["html"]
    assert "Baseline" not in outputs["md"] and "baselineState" not in outputs["sarif"]
    assert _json.loads(outputs["json"])["schema_version"] == "1.2"  # re-written as the current version, with the defaults
