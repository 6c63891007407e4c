"""Judging saved conformance results (no server): grouping, severities, masking, the notes about the run,
and reading a results file that a kill cut short."""

from __future__ import annotations

import json
from collections import Counter

from auditor.model import Severity
from auditor.operations import operations
from checks.openapi import conformance
from checks.openapi.config import DEFAULT_ST_CHECKS, KNOWN_ST_CHECKS
from checks.openapi.st_adapter import StFailure, StJob, StResult, bearer_schemes, read_results, schemathesis_config
from tests.checks.openapi_helpers import minimal_spec

SECRET = "Bearer tok-9f8e7d6c5b4a"


def _job(headers: dict[str, str] | None = None) -> StJob:
    return StJob(document=minimal_spec(), base_url="http://127.0.0.1:9/api", headers=headers or {}, seed=0,
                 max_examples=5, request_timeout=5, rate_limit=None, checks=list(DEFAULT_ST_CHECKS),
                 phases=["coverage"], methods=["GET", "HEAD", "OPTIONS"], max_seconds=60,
                 known_checks=list(KNOWN_ST_CHECKS))


def _failure(code: str, endpoint: str = "GET /items", curl: str = "curl -X GET http://127.0.0.1:9/api/items",
             message: str = "Received: 500") -> StFailure:
    return StFailure(endpoint=endpoint, code=code, title="Server error", message=message, curl=curl,
                     check="not_a_server_error", phase="coverage", status=500)


OPS = operations(minimal_spec())


def test_failures_of_one_code_at_one_endpoint_are_one_finding_with_a_count():
    result = StResult(failures=[_failure("ST101"), _failure("ST101")], complete=True)
    findings = conformance.judge(result, _job(), OPS)
    assert [f.rule_id for f in findings] == ["OAS101"]
    server_error = findings[0]
    assert "2 failing requests" in server_error.message and server_error.severity is Severity.HIGH
    assert server_error.evidence.startswith("curl -X GET")


def test_a_5xx_failing_other_checks_too_is_one_server_error_finding():
    """One 500 answer: a server error (ST101) and, being undocumented, ST103 — one defect, one finding."""
    result = StResult(failures=[_failure("ST101"), _failure("ST103")], complete=True)
    findings = conformance.judge(result, _job(), OPS)
    assert [f.rule_id for f in findings] == ["OAS101"]
    assert "also failed: OAS103" in findings[0].message
    # ...but an undocumented 404 at the same endpoint is its own problem
    other = StFailure(endpoint="GET /items", code="ST103", title="Undocumented status", message="404", curl="curl",
                      check="status_code_conformance", phase="coverage", status=404)
    result = StResult(failures=[_failure("ST101"), other], complete=True)
    assert sorted(f.rule_id for f in conformance.judge(result, _job(), OPS)) == ["OAS101", "OAS103"]


def test_evidence_has_no_empty_explanation_line():
    findings = conformance.judge(StResult(failures=[_failure("ST101", message="")], complete=True), _job(), OPS)
    assert findings[0].evidence.splitlines()[-1] == "# Server error"


def test_unknown_codes_keep_their_code_and_stay_apart():
    result = StResult(failures=[_failure("ST999"), _failure("ST998")], complete=True)
    findings = conformance.judge(result, _job(), OPS)
    assert [f.rule_id for f in findings] == ["OAS199", "OAS199"]
    assert len({f.fingerprint for f in findings}) == 2 and "ST999" in findings[0].message


def test_credentials_are_masked_in_messages_and_evidence():
    failure = _failure("ST108", curl=f"curl -H 'Authorization: {SECRET}' http://x", message=f"echo {SECRET}")
    findings = conformance.judge(StResult(failures=[failure], complete=True), _job({"Authorization": SECRET}), OPS)
    dumped = json.dumps([f.to_dict() for f in findings])
    assert "tok-9f8e7d6c5b4a" not in dumped and conformance.MASK in dumped


def test_the_token_of_a_bearer_credential_is_masked_where_it_appears_alone():
    # auditor.redact's rule, as in the rest of the report: "Bearer abc" given, "abc" alone masked too.
    failure = _failure("ST101", message="token tok-9f8e7d6c5b4a was echoed")
    result = StResult(failures=[failure], complete=False, stopped="bad token tok-9f8e7d6c5b4a")
    findings = conformance.judge(result, _job({"Authorization": SECRET}), OPS)
    dumped = json.dumps([f.to_dict() for f in findings])
    assert "tok-9f8e7d6c5b4a" not in dumped and "token *** was echoed" in dumped and "bad token ***" in dumped


def test_auth_only_operations_are_info_without_credentials_and_low_with_refused_ones():
    statuses = {"GET /items/{item_id}": Counter({401: 4, 404: 2}), "GET /items": Counter({401: 3})}
    result = StResult(statuses=statuses, complete=True)
    anonymous = conformance.judge(result, _job(), OPS)
    # only the secured operation is noted; the public one answering 401 is not this rule's business
    assert [(f.rule_id, f.location["endpoint"], f.severity) for f in anonymous] == [
        ("OAS090", "GET /items/{item_id}", Severity.INFO)]
    refused = conformance.judge(result, _job({"Authorization": SECRET}), OPS)
    assert refused[0].severity is Severity.LOW and "refused" in refused[0].message
    tested = StResult(statuses={"GET /items/{item_id}": Counter({401: 4, 200: 1})}, complete=True)
    assert conformance.judge(tested, _job(), OPS) == []


def test_incomplete_or_erroneous_runs_are_noted():
    stopped = conformance.judge(StResult(complete=False, stopped="time budget spent", requests=12), _job(), OPS)
    assert [f.rule_id for f in stopped] == ["OAS091"] and "stopped early: time budget spent" in stopped[0].message
    errored = conformance.judge(StResult(complete=True, errors=["GET /items: cannot generate"]), _job(), OPS)
    assert [f.rule_id for f in errored] == ["OAS091"] and "cannot generate" in errored[0].message
    # the fingerprint of the run note does not depend on the port
    other = _job()
    other.base_url = "http://127.0.0.1:10/api"
    again = conformance.judge(StResult(complete=True, errors=["x"]), other, OPS)
    assert again[0].fingerprint == errored[0].fingerprint


def test_results_cut_by_a_kill_are_read_up_to_the_cut(tmp_path):
    path = tmp_path / "results.jsonl"
    lines = [{"type": "start", "version": "4.32.5"},
             {"type": "scenario", "endpoint": "GET /items", "statuses": {"200": 3, "422": 1}},
             {"type": "failure", **_failure("ST101").__dict__},
             {"type": "requests", "count": 25}]
    path.write_text("\n".join(json.dumps(line) for line in lines) + '\n{"type": "scenario", "endpo')
    result = read_results(path)
    assert result.version == "4.32.5" and result.requests == 25 and not result.complete
    assert result.statuses == {"GET /items": Counter({200: 3, 422: 1})} and result.failures[0].code == "ST101"


def test_schemathesis_config_is_the_safe_preset():
    config = schemathesis_config({**_job({"X-Token": "t"}).__dict__})
    assert config["auth"] == {"auto-signup": False}
    assert config["phases"]["coverage"]["unexpected-methods"] == []
    assert config["phases"]["stateful"]["enabled"] is False
    assert config["generation"]["database"] == "none" and config["generation"]["with-security-parameters"] is False
    assert config["checks"]["unsupported_method"]["enabled"] is False
    assert config["checks"]["ignored_auth"]["enabled"] is True
    assert "x-token" in config["output"]["sanitization"]["keys-to-sanitize"]
    assert "auth" not in config["output"]["sanitization"]["sensitive-markers"]  # author_id stays readable


def test_oauth2_reads_as_bearer_for_schemathesis_only():
    document = minimal_spec()
    document["components"]["securitySchemes"]["bearer"] = {"type": "oauth2", "flows": {"password": {
        "tokenUrl": "/token", "scopes": {}}}}
    converted = bearer_schemes(document)
    assert converted["components"]["securitySchemes"]["bearer"]["type"] == "http"
    assert document["components"]["securitySchemes"]["bearer"]["type"] == "oauth2"  # the original is untouched


def test_ignored_auth_that_answered_5xx_is_a_server_error_not_an_auth_bypass():
    crashed = StFailure(endpoint="GET /items", code="ST401", title="API accepts requests without authentication",
                        message="", curl="curl -H 'Authorization: Bearer x' http://h/items", check="ignored_auth",
                        phase="coverage", status=500)
    (finding,) = conformance.judge(StResult(failures=[crashed], complete=True), _job(), OPS)
    assert finding.rule_id == "OAS101" and "without valid credentials" in finding.message
    assert "accepts" not in finding.message
