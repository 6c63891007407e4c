"""--baseline: created / modified / removed operations and each kind of breaking change, on pairs of
documents, and from a previous report.json."""

from __future__ import annotations

import json
from typing import Any

import pytest

from auditor.model import Severity
from tests.checks.openapi_helpers import minimal_spec, run_check, write_spec

Doc = dict[str, Any]


def _with_post(doc: Doc) -> Doc:
    doc["paths"]["/items"]["post"] = {
        "tags": ["items"], "summary": "Create", "description": "Create an item.", "operationId": "create_item",
        "requestBody": {"required": True, "content": {"application/json": {"schema": {
            "type": "object", "required": ["name"],
            "properties": {"name": {"type": "string", "maxLength": 50},
                           "color": {"type": "string", "enum": ["red", "green", "blue"]},
                           "size": {"type": "integer", "maximum": 10}}}}}},
        "responses": {"201": {"description": "Created.", "content": {"application/json": {
            "schema": {"$ref": "#/components/schemas/Item"}}}},
            "422": {"description": "Invalid.", "content": {"application/json": {
                "schema": {"$ref": "#/components/schemas/Error"}}}}}}
    return doc


def _diff(tmp_path, old: Doc, new: Doc) -> Any:
    baseline = write_spec(tmp_path, old, "old.json")
    current = write_spec(tmp_path, new, "new.json")
    return run_check(None, tmp_path, spec=str(current), settings={"baseline": str(baseline)})


def _breaking(outcome) -> list[tuple[str, str]]:
    return sorted((f.rule_id, f.location["endpoint"]) for f in outcome.findings if f.rule_id.startswith("OAS5"))


def test_identical_documents_have_no_changes(tmp_path):
    outcome = _diff(tmp_path, minimal_spec(), minimal_spec())
    changes = outcome.metrics["changes"]
    assert changes["created"] == changes["removed"] == changes["modified"] == []
    assert changes["breaking_changes"] == 0 and changes["baseline_kind"] == "spec"
    assert "vs baseline: 0 created, 0 modified, 0 removed, 0 breaking" in outcome.summary


def test_prose_edits_are_not_modifications(tmp_path):
    new = minimal_spec()
    new["paths"]["/items"]["get"]["description"] = "Reworded."
    assert _diff(tmp_path, minimal_spec(), new).metrics["changes"]["modified"] == []


def test_removed_operation(tmp_path):
    new = minimal_spec()
    del new["paths"]["/items/{item_id}"]
    outcome = _diff(tmp_path, minimal_spec(), new)
    assert outcome.metrics["changes"]["removed"] == [
        {"method": "GET", "path": "/items/{item_id}", "operation_id": "get_item"}]
    assert ("OAS501", "GET /items/{item_id}") in _breaking(outcome)


def test_created_operation_is_not_breaking(tmp_path):
    outcome = _diff(tmp_path, minimal_spec(), _with_post(minimal_spec()))
    created = outcome.metrics["changes"]["created"]
    assert created == [{"method": "POST", "path": "/items", "operation_id": "create_item"}]
    assert _breaking(outcome) == []


def test_removed_response_field(tmp_path):
    new = minimal_spec()
    del new["components"]["schemas"]["Item"]["properties"]["name"]
    new["components"]["schemas"]["Item"]["required"] = ["id"]
    outcome = _diff(tmp_path, minimal_spec(), new)
    assert ("OAS504", "GET /items/{item_id}") in _breaking(outcome)
    assert ("OAS504", "GET /items") in _breaking(outcome)  # items[].name in the page
    assert {m["path"] for m in outcome.metrics["changes"]["modified"]} == {"/items", "/items/{item_id}"}


def test_new_required_parameter(tmp_path):
    new = minimal_spec()
    new["paths"]["/items"]["get"]["parameters"].append(
        {"name": "tenant", "in": "header", "required": True, "description": "Tenant.",
         "schema": {"type": "string", "maxLength": 10}})
    outcome = _diff(tmp_path, minimal_spec(), new)
    assert _breaking(outcome) == [("OAS502", "GET /items")]
    modified = outcome.metrics["changes"]["modified"]
    assert modified[0]["path"] == "/items" and "required parameters" in modified[0]["changes"]


def test_optional_parameter_becoming_required(tmp_path):
    new = minimal_spec()
    new["paths"]["/items"]["get"]["parameters"][1]["required"] = True
    assert _breaking(_diff(tmp_path, minimal_spec(), new)) == [("OAS502", "GET /items")]


def test_new_required_request_field(tmp_path):
    new = _with_post(minimal_spec())
    new["paths"]["/items"]["post"]["requestBody"]["content"]["application/json"]["schema"]["required"].append("color")
    outcome = _diff(tmp_path, _with_post(minimal_spec()), new)
    assert _breaking(outcome) == [("OAS503", "POST /items")]
    assert "color" in next(f for f in outcome.findings if f.rule_id == "OAS503").message


def test_narrowed_type(tmp_path):
    old, new = minimal_spec(), minimal_spec()
    old["paths"]["/items"]["get"]["parameters"][1]["schema"]["type"] = ["integer", "string"]
    outcome = _diff(tmp_path, old, new)
    assert ("OAS505", "GET /items") in _breaking(outcome)
    assert "string" in next(f for f in outcome.findings if f.rule_id == "OAS505").message


def test_tightened_bound_is_a_narrowing(tmp_path):
    new = _with_post(minimal_spec())
    new["paths"]["/items"]["post"]["requestBody"]["content"]["application/json"]["schema"]["properties"]["size"][
        "maximum"] = 5
    outcome = _diff(tmp_path, _with_post(minimal_spec()), new)
    assert _breaking(outcome) == [("OAS505", "POST /items")]


def test_response_field_type_change(tmp_path):
    new = minimal_spec()
    new["components"]["schemas"]["Item"]["properties"]["id"] = {"type": "string"}
    new["components"]["schemas"]["Item"]["examples"] = [{"id": "1", "name": "one"}]
    assert ("OAS505", "GET /items/{item_id}") in _breaking(_diff(tmp_path, minimal_spec(), new))


def test_narrowed_enum(tmp_path):
    new = _with_post(minimal_spec())
    new["paths"]["/items"]["post"]["requestBody"]["content"]["application/json"]["schema"]["properties"]["color"][
        "enum"] = ["red", "green"]
    outcome = _diff(tmp_path, _with_post(minimal_spec()), new)
    assert _breaking(outcome) == [("OAS506", "POST /items")]
    assert "'blue'" in next(f for f in outcome.findings if f.rule_id == "OAS506").message


def test_widened_enum_is_not_breaking(tmp_path):
    new = _with_post(minimal_spec())
    new["paths"]["/items"]["post"]["requestBody"]["content"]["application/json"]["schema"]["properties"]["color"][
        "enum"].append("black")
    assert _breaking(_diff(tmp_path, _with_post(minimal_spec()), new)) == []


@pytest.mark.parametrize(("status", "severity"), [("404", Severity.LOW), ("200", Severity.MEDIUM)])
def test_removed_status_code(tmp_path, status, severity):
    new = minimal_spec()
    responses = new["paths"]["/items/{item_id}"]["get"]["responses"]
    if status == "200":
        responses["203"] = responses.pop("200")
    else:
        del responses[status]
    outcome = _diff(tmp_path, minimal_spec(), new)
    found = [f for f in outcome.findings if f.rule_id == "OAS507"]
    assert [f.location["endpoint"] for f in found] == ["GET /items/{item_id}"]
    assert found[0].severity is severity and status in found[0].message


def test_report_json_baseline(tmp_path):
    first = run_check(None, tmp_path, spec=str(write_spec(tmp_path, minimal_spec(), "v1.json")))
    report = {"schema_version": "1.0", "checks": [{"id": "openapi", "metrics": first.metrics}]}
    baseline = tmp_path / "report.json"
    baseline.write_text(json.dumps(report), encoding="utf-8")
    new = _with_post(minimal_spec())
    del new["paths"]["/items/{item_id}"]["get"]["responses"]["404"]
    new["paths"]["/items"]["get"]["parameters"][0]["required"] = True
    outcome = run_check(None, tmp_path, spec=str(write_spec(tmp_path, new, "v2.json")),
                        settings={"baseline": str(baseline)})
    changes = outcome.metrics["changes"]
    assert changes["baseline_kind"] == "report"
    assert [c["path"] for c in changes["created"]] == ["/items"] and changes["created"][0]["method"] == "POST"
    assert sorted(m["path"] for m in changes["modified"]) == ["/items", "/items/{item_id}"]
    assert _breaking(outcome) == [("OAS502", "GET /items"), ("OAS507", "GET /items/{item_id}")]


@pytest.mark.parametrize("content", ["{not json", json.dumps({"schema_version": "1.0", "checks": []}), ""])
def test_unusable_baseline_is_a_clear_error(tmp_path, content):
    from auditor.interface import CheckError

    baseline = tmp_path / "baseline.json"
    baseline.write_text(content, encoding="utf-8")
    with pytest.raises(CheckError, match="--baseline"):
        run_check(None, tmp_path, spec=str(write_spec(tmp_path, minimal_spec())),
                  settings={"baseline": str(baseline)})


def test_missing_baseline_file_is_a_clear_error(tmp_path):
    from auditor.interface import CheckError

    with pytest.raises(CheckError, match="cannot read"):
        run_check(None, tmp_path, spec=str(write_spec(tmp_path, minimal_spec())),
                  settings={"baseline": str(tmp_path / "nope.json")})


def test_baseline_through_the_cli_feeds_report_section_1(tmp_path):
    from tests.conftest import run_audit_cli

    old, new = minimal_spec(), _with_post(minimal_spec())
    del new["paths"]["/items/{item_id}"]
    result = run_audit_cli("run", "--spec", str(write_spec(tmp_path, new, "new.json")), "--repo", str(tmp_path),
                           "--baseline", str(write_spec(tmp_path, old, "old.json")), "--checks", "openapi",
                           "--output-dir", str(tmp_path / "out"), "--format", "json,html,md", timeout=120)
    assert result.returncode == 1, result.stdout + result.stderr  # a removed operation is high: the gate fails
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    changes = report["checks"][0]["metrics"]["changes"]
    assert [(c["method"], c["path"]) for c in changes["created"]] == [("POST", "/items")]
    assert [(c["method"], c["path"]) for c in changes["removed"]] == [("GET", "/items/{item_id}")]
    html = (tmp_path / "out" / "report.html").read_text()
    section = html.split('<section id="s-endpoints">', 1)[1].split("</section>", 1)[0]
    assert '<table class="endpoints created">' in section and "/items/{item_id}" in section
    assert "1 created, 0 modified, 1 removed, 1 breaking change" in section
    assert "**Removed** (1)" in (tmp_path / "out" / "report.md").read_text()


def test_report_baseline_with_only_the_contract_keys(tmp_path):
    """A report whose endpoints carry only method/path/operation_id/secured (the contract): nothing is
    called modified for lack of a signature; created and removed still work."""
    rows = [{"method": "GET", "path": "/items", "operation_id": "list_items", "secured": False},
            {"method": "GET", "path": "/gone", "operation_id": "gone", "secured": False}]
    baseline = tmp_path / "report.json"
    baseline.write_text(json.dumps({"schema_version": "1.0", "checks": [{"id": "openapi", "metrics": {
        "endpoints": rows}}]}), encoding="utf-8")
    outcome = run_check(None, tmp_path, spec=str(write_spec(tmp_path, minimal_spec())),
                        settings={"baseline": str(baseline)})
    changes = outcome.metrics["changes"]
    assert changes["modified"] == []
    assert [c["path"] for c in changes["created"]] == ["/items/{item_id}"]
    assert [c["path"] for c in changes["removed"]] == ["/gone"]
    assert _breaking(outcome) == [("OAS501", "GET /gone")]
