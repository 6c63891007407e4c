"""Secured operations that answer anonymous callers by design (checks/openapi/authmodes.py, and the
conformance judge's exemptions): pure judging over a request plan and a saved conformance result."""

from __future__ import annotations

from collections import Counter

from auditor.operations import operations
from auditor.planner import ANONYMOUS, ENFORCED, OPTIONAL, PUBLIC, PlannedRequest, RequestPlan
from checks.openapi import authmodes
from checks.openapi.conformance import judge
from checks.openapi.rules import make_finding
from checks.openapi.st_adapter import StFailure, StResult
from tests.checks.openapi_helpers import minimal_spec
from tests.checks.test_openapi_judge import _job

DOC = {"openapi": "3.0.3", "info": {"title": "t", "version": "1"}, "security": [{"bearer": []}],
       "paths": {p: {"get": {"responses": {"200": {"description": "ok"}}}} for p in ("/feed", "/tags", "/me", "/news")}}
WHERE, STABLE = {"url": "http://127.0.0.1:1/openapi.json"}, {"spec": "/openapi.json"}


def _plan(modes: dict[str, str], *, blanket: bool = True, credentials: bool = True) -> RequestPlan:
    ops = {op.endpoint: op for op in operations(DOC)}
    return RequestPlan(requests=[PlannedRequest(ops[e], e.split()[1], {}, auth_mode=m) for e, m in modes.items()],
                       credentials=credentials, blanket_security=blanket)


def test_optional_and_public_reads_are_one_documentation_finding_each() -> None:
    design = authmodes.classify(_plan({"GET /feed": OPTIONAL, "GET /tags": PUBLIC, "GET /news": PUBLIC,
                                       "GET /me": ENFORCED}))
    assert design.endpoints == {"GET /feed", "GET /tags", "GET /news", "HEAD /feed", "HEAD /tags", "HEAD /news"}
    found = authmodes.findings(design, WHERE, STABLE)
    assert [(f.rule_id, str(f.severity)) for f in found] == [("OAS040", "low"), ("OAS041", "medium")]
    assert "GET /feed" in found[0].message and "`{}`" in found[0].message
    assert "2 reads answer callers without credentials (all with the same body" in found[1].message
    assert "GET /news, GET /tags" in found[1].message


def test_without_credentials_public_reads_say_the_bodies_were_not_compared() -> None:
    design = authmodes.classify(_plan({"GET /tags": ANONYMOUS, "GET /me": ENFORCED}, credentials=False))
    (finding,) = authmodes.findings(design, WHERE, STABLE)
    assert finding.rule_id == "OAS041" and "give --header to tell optional authentication apart" in finding.message


def test_a_document_that_secures_only_some_operations_keeps_its_high_findings() -> None:
    design = authmodes.classify(_plan({"GET /tags": PUBLIC, "GET /feed": OPTIONAL}, blanket=False))
    assert design.public == [] and design.optional == ["GET /feed"]
    ignored = [make_finding("OAS401", "GET /tags: ignored auth", {"endpoint": "GET /tags"})]
    assert authmodes.fold_ignored_auth(design, ignored) == ignored     # a bypass, not a documentation matter


def test_under_blanket_security_unplanned_reads_seen_answering_anonymously_are_folded() -> None:
    design = authmodes.classify(_plan({"GET /tags": PUBLIC}))
    findings = [make_finding("OAS401", "ignored auth", {"endpoint": e}) for e in ("GET /top/{count}", "HEAD /top/{count}",
                                                                                     "POST /tags")]
    kept = authmodes.fold_ignored_auth(design, findings)
    assert [f.location["endpoint"] for f in kept] == ["POST /tags"]   # a write answering anonymously stays high
    assert sorted(design.public) == ["GET /tags", "GET /top/{count}"]


def test_conformance_drops_ignored_auth_and_undocumented_401_only_where_by_design() -> None:
    def failure(endpoint: str, code: str, status: int) -> StFailure:
        return StFailure(endpoint, code, "t", "m", "curl", "check", "coverage", status)

    result = StResult(failures=[failure("GET /items", "ST401", 200), failure("GET /items", "ST103", 401),
                                failure("GET /items", "ST103", 418), failure("GET /items/{item_id}", "ST401", 200)],
                      complete=True)
    ops = operations(minimal_spec())
    kept = judge(result, _job(), ops, frozenset({"GET /items", "HEAD /items"}))
    assert Counter(f.rule_id for f in kept) == {"OAS103": 1, "OAS401": 1}
    assert {f.location["endpoint"] for f in kept if f.rule_id == "OAS401"} == {"GET /items/{item_id}"}


def test_undocumented_refusals_of_secured_operations_are_one_finding() -> None:
    """A secured operation answering 403 where only 401 is documented is one documentation gap, however
    many operations share it (NetBox: 129): one OAS103 listing them; a public one keeps its own."""
    def failure(endpoint: str, status: int) -> StFailure:
        return StFailure(endpoint, "ST103", "Undocumented status code", f"Received: {status}", "curl", "c",
                         "coverage", status)

    result = StResult(failures=[failure("GET /items/{item_id}", 403), failure("GET /items/{item_id}", 403),
                                failure("GET /items", 403)], complete=True)
    found = judge(result, _job(), operations(minimal_spec()))
    grouped = [f for f in found if f.rule_id == "OAS103" and "endpoint" not in f.location]
    assert len(grouped) == 1 and grouped[0].message.startswith(
        "1 secured operation answered 403 without credentials, a status its documentation does not list: "
        "GET /items/{item_id}.")
    assert [f.location for f in found if f.rule_id == "OAS103" and "endpoint" in f.location] == [
        {"endpoint": "GET /items"}]


def test_an_undocumented_401_of_an_operation_reported_for_documenting_no_401_is_not_reported_twice() -> None:
    """FastAPI's OAuth2PasswordBearer answers 401 and documents no 401: OAS027 names the gap per operation;
    the same 401 seen live is that gap, not a second finding. A 403 it does not cover stays."""
    def failure(endpoint: str, status: int) -> StFailure:
        return StFailure(endpoint, "ST103", "Undocumented status code", f"Received: {status}", "curl", "c",
                         "coverage", status)

    secured = "GET /items/{item_id}"   # the one secured operation of the minimal spec
    result = StResult(failures=[failure(secured, 401), failure(secured, 403)], complete=True)
    ops = operations(minimal_spec())
    gap = frozenset({secured})
    (grouped,) = [f for f in judge(result, _job(), ops, no_401_documented=gap) if f.rule_id == "OAS103"]
    assert grouped.message.startswith("1 secured operation answered 403 without credentials, a status its "
                                      "documentation does not list: GET /items/{item_id}.")
    alone = StResult(failures=[failure(secured, 401)], complete=True)
    assert [f for f in judge(alone, _job(), ops, no_401_documented=gap) if f.rule_id == "OAS103"] == []
    # Without OAS027 (the rule turned off, or a document that lists 4XX), the 401 is reported here.
    (unfolded,) = [f for f in judge(result, _job(), ops) if f.rule_id == "OAS103"]
    assert "answered 401/403 without credentials" in unfolded.message
