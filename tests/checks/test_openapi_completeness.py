"""Completeness rules: each proven on a minimal document that violates exactly that rule (the complete
document has no finding at all, so a mutation that trips a second rule fails its test)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from auditor.operations import operations
from checks.openapi import completeness
from checks.openapi.config import OpenApiConfig
from checks.openapi.rules import COMPLETENESS_RULES
from tests.checks.openapi_helpers import failed_rules, minimal_spec, run_check, write_spec

Doc = dict[str, Any]


def _list(doc: Doc) -> Doc:
    return doc["paths"]["/items"]["get"]


def _item(doc: Doc) -> Doc:
    return doc["paths"]["/items/{item_id}"]["get"]


def _drop_info(doc: Doc) -> None:
    del doc["info"]["contact"]


def _no_servers(doc: Doc) -> None:
    del doc["servers"]


def _unresolved(doc: Doc) -> None:
    _item(doc)["responses"]["404"]["content"]["application/json"]["schema"] = {"$ref": "#/components/schemas/Nope"}


def _unused(doc: Doc) -> None:
    doc["components"]["schemas"]["Orphan"] = {"type": "string"}


def _unused_scheme(doc: Doc) -> None:
    doc["components"]["securitySchemes"]["apiKey"] = {"type": "apiKey", "in": "header", "name": "X-Key"}


def _no_summary(doc: Doc) -> None:
    del _list(doc)["summary"]


def _no_description(doc: Doc) -> None:
    del _list(doc)["description"]


def _no_operation_id(doc: Doc) -> None:
    del _list(doc)["operationId"]


def _duplicate_operation_id(doc: Doc) -> None:
    _item(doc)["operationId"] = "list_items"


def _undefined_tag(doc: Doc) -> None:
    _list(doc)["tags"] = ["things"]


def _no_success(doc: Doc) -> None:
    responses = _item(doc)["responses"]
    responses["default"] = responses.pop("200")


def _no_client_error(doc: Doc) -> None:
    # a public list with parameters but without 422 and without rate limiting
    for op in (_list(doc), _item(doc)):
        op["responses"].pop("429")
    _list(doc)["responses"].pop("422")


def _no_401(doc: Doc) -> None:
    _item(doc)["responses"].pop("401")


def _no_429(doc: Doc) -> None:
    _item(doc)["responses"].pop("429")


def _no_content_schema(doc: Doc) -> None:
    _item(doc)["responses"]["404"] = {"description": "No such item."}


def _no_param_description(doc: Doc) -> None:
    del _list(doc)["parameters"][1]["description"]


def _unbounded(doc: Doc) -> None:
    _list(doc)["parameters"].append({"name": "q", "in": "query", "description": "Search text.",
                                     "schema": {"type": "string"}})


def _bad_example(doc: Doc) -> None:
    doc["components"]["schemas"]["Item"]["examples"] = [{"id": "one", "name": "one"}]


def _undefined_scheme(doc: Doc) -> None:
    _item(doc)["security"] = [{"bearer": []}, {"oauth": []}]


def _no_pagination(doc: Doc) -> None:
    # a cursor instead of the capped limit: still bounded (OAS031 quiet), but no page size with a maximum
    _list(doc)["parameters"][0] = {"name": "cursor", "in": "query", "description": "Page token.",
                                   "schema": {"type": "string", "maxLength": 64}}


def _no_rate_headers(doc: Doc) -> None:
    _item(doc)["responses"]["200"].pop("headers")


CASES: dict[str, Callable[[Doc], None]] = {
    "OAS010": _drop_info, "OAS011": _no_servers, "OAS012": _unresolved, "OAS013": _unused,
    "OAS014": _unused_scheme, "OAS020": _no_summary, "OAS021": _no_description, "OAS022": _no_operation_id,
    "OAS023": _duplicate_operation_id, "OAS024": _undefined_tag, "OAS025": _no_success,
    "OAS026": _no_client_error, "OAS027": _no_401, "OAS028": _no_429, "OAS029": _no_content_schema,
    "OAS030": _no_param_description, "OAS031": _unbounded, "OAS032": _bad_example, "OAS033": _undefined_scheme,
    "OAS034": _no_pagination, "OAS035": _no_rate_headers,
}


def test_every_completeness_rule_has_a_case():
    assert set(CASES) == {rule.id for rule in COMPLETENESS_RULES}


def test_the_minimal_document_is_complete(tmp_path):
    outcome = run_check(None, tmp_path, spec=str(write_spec(tmp_path, minimal_spec())))
    assert outcome.findings == []
    assert outcome.metrics["completeness_percent"] == 100.0
    assert outcome.metrics["operations"] == 2
    assert outcome.metrics["conformance"] == {"ran": False, "reason": outcome.metrics["conformance"]["reason"]}


@pytest.mark.parametrize("rule_id", sorted(CASES))
def test_each_rule_fires_alone(tmp_path, rule_id):
    document = minimal_spec()
    CASES[rule_id](document)
    outcome = run_check(None, tmp_path, spec=str(write_spec(tmp_path, document)))
    found = failed_rules(outcome) - {"OAS001"}  # a broken $ref is also a validator complaint
    assert found == {rule_id}, [f.message for f in outcome.findings]
    assert outcome.metrics["completeness_percent"] < 100.0
    finding = next(f for f in outcome.findings if f.rule_id == rule_id)
    assert finding.remediation and f"#{rule_id.lower()}" in finding.remediation


def test_per_operation_table_is_worst_first_with_not_applicable_rules(tmp_path):
    document = minimal_spec()
    _no_summary(document)
    _no_description(document)
    outcome = run_check(None, tmp_path, spec=str(write_spec(tmp_path, document)))
    rows = outcome.metrics["completeness"]["operations"]
    assert [r["endpoint"] for r in rows] == ["GET /items", "GET /items/{item_id}"]
    assert rows[0]["failed"] == ["OAS020", "OAS021"]
    # the public list needs no 401; every rule is either judged or listed as not applicable
    assert "OAS027" in rows[0]["not_applicable"]
    assert rows[0]["applicable"] + len(rows[0]["not_applicable"]) == len(outcome.metrics["completeness"]["rules"])


def test_percent_is_passed_over_applicable():
    document = minimal_spec()
    _no_summary(document)
    judged = completeness.judge(document, operations(document), OpenApiConfig())
    results = judged.document + [r for rs in judged.operations.values() for r in rs]
    assert judged.percent == round(100 * (len(results) - 1) / len(results), 1)


def test_rate_limit_rules_follow_config_and_exemptions():
    document = minimal_spec()
    for op in (_list(document), _item(document)):
        op["responses"].pop("429")
    ops = operations(document)
    auto = completeness.judge(document, ops, OpenApiConfig())
    assert not auto.rate_limited  # no 429 anywhere: not rate limited, OAS028 does not apply
    forced = completeness.judge(document, ops, OpenApiConfig(rate_limited=True, rate_limit_exempt=["/items"]))
    assert [r.rule_id for r in forced.operations["GET /items/{item_id}"] if not r.passed] == ["OAS028"]
    assert all(r.rule_id != "OAS028" for r in forced.operations["GET /items"])


def test_probe_endpoints_are_exempt_from_rate_limit_rules():
    document = minimal_spec()
    document["paths"]["/livez"] = {"get": {"tags": ["items"], "summary": "Liveness", "description": "Alive.",
                                           "operationId": "livez", "responses": {"200": {
                                               "description": "ok", "content": _json_ok()}}}}
    judged = completeness.judge(document, operations(document), OpenApiConfig())
    assert judged.rate_limited
    assert [r.rule_id for r in judged.operations["GET /livez"] if not r.passed] == []


def _json_ok() -> dict[str, Any]:
    return {"application/json": {"schema": {"type": "object"}}}


@pytest.mark.parametrize(("schema", "expected"), [
    ({"type": "string", "maxLength": 5}, True), ({"type": "string"}, False),
    ({"type": "string", "format": "date"}, True), ({"type": "integer"}, False),
    ({"type": "integer", "maximum": 3}, True), ({"enum": ["a", "b"]}, True),
    ({"type": "array", "items": {"type": "integer", "maximum": 1}}, False),
    ({"type": "array", "maxItems": 3, "items": {"type": "integer", "maximum": 1}}, True),
    ({"anyOf": [{"type": "integer", "maximum": 1}, {"type": "null"}]}, True), ({}, False),
    ({"type": "boolean"}, True), ({"type": ["string", "null"], "maxLength": 2}, True),
])
def test_bounded(schema, expected):
    assert completeness.bounded(schema) is expected


def test_swagger2_document_is_judged(tmp_path):
    document = {
        "swagger": "2.0", "info": {"title": "t", "version": "1"}, "basePath": "/v1",
        "paths": {"/things": {"get": {"summary": "Things", "operationId": "things",
                                      "parameters": [{"name": "limit", "in": "query", "type": "integer"}],
                                      "responses": {"200": {"description": "ok", "schema": {
                                          "type": "array", "items": {"type": "string"}}}}}}},
    }
    outcome = run_check(None, tmp_path, spec=str(write_spec(tmp_path, document)))
    found = failed_rules(outcome)
    # no description, no tag, no 4xx, no parameter description, unbounded limit, list without bounded page size
    assert {"OAS010", "OAS021", "OAS024", "OAS026", "OAS030", "OAS031", "OAS034"} <= found
    assert "OAS001" not in found and "OAS011" not in found and "OAS029" not in found
