"""Finding fingerprints stay the same across runs (baselines gate on findings new since a run): what varies
between runs — the service's port, schemathesis' generated values and counts, why and when a run stopped,
the directory the document sits in — changes messages and evidence, never a fingerprint."""

from __future__ import annotations

from collections import Counter

from auditor.model import Finding
from auditor.operations import operations
from checks.openapi import conformance
from checks.openapi.config import DEFAULT_ST_CHECKS, KNOWN_ST_CHECKS, OpenApiConfig
from checks.openapi.st_adapter import StFailure, StJob, StResult
from tests.checks.openapi_helpers import items_server, minimal_spec, run_check, write_spec

OPS = operations(minimal_spec())


def _job(port: int) -> StJob:
    return StJob(document=minimal_spec(), base_url=f"http://127.0.0.1:{port}/api", headers={}, seed=port,
                 max_examples=5, request_timeout=5, rate_limit=None, checks=list(DEFAULT_ST_CHECKS),
                 phases=["coverage", "fuzzing"], methods=["GET", "HEAD", "OPTIONS"], max_seconds=60,
                 known_checks=list(KNOWN_ST_CHECKS))


def _run(port: int, value: int, times: int, stopped: str) -> list[Finding]:
    """One conformance run's saved result, with everything a real run makes up or measures varied."""
    def failure(code: str, endpoint: str, status: int) -> StFailure:
        return StFailure(endpoint=endpoint, code=code, title="Failure", message=f"Received {status} for id={value}",
                         curl=f"curl -X GET 'http://127.0.0.1:{port}/api/items?limit={value}&x-request-id="
                              f"{value:08x}'", check="not_a_server_error", phase="coverage" if value % 2 else
                         "fuzzing", status=status)

    failures = [failure("ST101", "GET /items", 500) for _ in range(times)]
    failures += [failure("ST999", "GET /items", 200), failure("ST103", "GET /items/{item_id}", 200)]
    statuses = {"GET /items/{item_id}": Counter({401: times + 3, 404: value % 5}), "GET /items": Counter({200: value})}
    result = StResult(version="4.32.1", failures=failures, statuses=statuses, requests=value * 7,
                      errors=[f"GET /items: cannot generate a value after {value} tries"], complete=False,
                      stopped=stopped, duration_s=value / 3)
    return conformance.judge(result, _job(port), OPS)


def _fingerprints(findings: list[Finding]) -> list[tuple[str, str]]:
    return sorted((f.rule_id, f.fingerprint) for f in findings)


def test_two_conformance_runs_with_different_measurements_give_the_same_fingerprints():
    first = _run(port=41001, value=17, times=2, stopped="time budget of 60 s spent")
    second = _run(port=52999, value=264, times=9, stopped="interrupted or out of time")
    assert sorted(f.rule_id for f in first) == ["OAS090", "OAS091", "OAS101", "OAS103", "OAS199"]
    assert [f.message for f in first] != [f.message for f in second]   # the inputs really differ
    assert _fingerprints(first) == _fingerprints(second)
    assert len({fp for _, fp in _fingerprints(first)}) == len(first)   # and still tell the findings apart


# A document without servers or descriptions: document-level and operation-level findings, no live run.
DOCUMENT = {"openapi": "3.0.3", "info": {"title": "t", "version": "1"},
            "paths": {"/things": {"get": {"responses": {"200": {"description": "ok"}}}}}}
NO_LIVE = OpenApiConfig(conformance=False)


def _spec_in(directory):
    directory.mkdir(parents=True, exist_ok=True)
    return write_spec(directory, DOCUMENT)


def test_a_spec_file_in_another_directory_keeps_its_fingerprints(tmp_path):
    first, second = (run_check(None, tmp_path / place, spec=str(_spec_in(tmp_path / place).resolve()),
                               config=NO_LIVE).findings for place in ("checkout-1/deep/er", "ci-workspace-2"))
    in_file = [f for f in first if "file" in f.location]
    assert in_file and {f.location["file"] for f in in_file}.isdisjoint(
        f.location.get("file") for f in second)   # the locations shown do differ
    assert _fingerprints(first) == _fingerprints(second)


def test_a_spec_file_in_the_repo_is_fingerprinted_by_its_path_in_the_repo(tmp_path):
    one, two = tmp_path / "clone-a", tmp_path / "clone-b"
    _spec_in(one / "api")
    _spec_in(two / "api")
    _spec_in(two / "api" / "other")
    a = run_check(None, tmp_path / "a", spec=str(one / "api" / "openapi.json"), config=NO_LIVE, repo=one)
    b = run_check(None, tmp_path / "b", spec=str(two / "api" / "openapi.json"), config=NO_LIVE, repo=two)
    moved = run_check(None, tmp_path / "c", spec=str(two / "api" / "other" / "openapi.json"), config=NO_LIVE,
                      repo=two)
    assert _fingerprints(a.findings) == _fingerprints(b.findings)
    documents = {f.rule_id for f in a.findings if "file" in f.location}
    assert documents   # and a document elsewhere in the repo is another document
    assert {fp for rule, fp in _fingerprints(moved.findings) if rule in documents}.isdisjoint(
        fp for rule, fp in _fingerprints(a.findings) if rule in documents)


def test_a_spec_served_on_another_port_keeps_its_fingerprints(tmp_path):
    runs = []
    for attempt in range(2):
        with items_server(DOCUMENT) as server:
            runs.append(run_check(server.url, tmp_path / str(attempt), config=NO_LIVE))
    first, second = runs
    assert {f.location.get("url") for f in first.findings} != {f.location.get("url") for f in second.findings}
    assert _fingerprints(first.findings) == _fingerprints(second.findings)
