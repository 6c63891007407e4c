import json

import pytest

from auditor.artifacts import Artifacts, SpecError, parse_spec
from auditor.http import HttpClient
from tests.stub_server import StubServer

SPEC = {"openapi": "3.1.0", "info": {"title": "t", "version": "1"}, "paths": {}}


def test_spec_is_discovered_at_a_usual_path_and_fetched_once(stub: StubServer):
    stub.routes["/api/openapi.json"] = (200, {"Content-Type": "application/json"}, json.dumps(SPEC))
    with HttpClient(stub.url) as http:
        artifacts = Artifacts(http, spec=None)
        assert artifacts.spec is not None and artifacts.spec.source.endswith("/api/openapi.json")
        fetched = len(stub.requests)
        assert artifacts.spec.document["openapi"] == "3.1.0"
        assert len(stub.requests) == fetched  # cached: the second read costs no request


def test_no_spec_anywhere_gives_a_reason(stub: StubServer):
    with HttpClient(stub.url) as http:
        artifacts = Artifacts(http, spec=None)
        assert artifacts.spec is None
        assert "no OpenAPI document on the service: tried" in (artifacts.spec_problem or "")
        assert all(method == "GET" for method, _, _ in stub.requests) and len(stub.requests) <= 60


def test_spec_file_in_yaml(tmp_path):
    path = tmp_path / "openapi.yaml"
    path.write_text("openapi: 3.0.3\ninfo: {title: t, version: '1'}\npaths: {}\n")
    with HttpClient(None) as http:
        assert Artifacts(http, spec=str(path)).spec.document["openapi"] == "3.0.3"


@pytest.mark.parametrize("text, message", [
    ("[1, 2", "neither JSON nor YAML"),
    ('{"title": "not a spec"}', "not an OpenAPI or Swagger document"),
])
def test_malformed_specs_are_one_line_errors(text, message):
    with pytest.raises(SpecError, match=message):
        parse_spec(text, "x.json")


def test_yaml_alias_bomb_is_refused_at_parse_time():
    lines = ["openapi: 3.0.0", "a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join(f'*a{i - 1}' for _ in range(10))}]" for i in range(1, 9)]
    with pytest.raises(SpecError, match="alias bomb"):
        parse_spec("\n".join(lines), "bomb.yaml")


def test_non_utf8_spec_file_is_one_line(tmp_path):
    path = tmp_path / "spec.json"
    path.write_bytes(b"\xff\xfe\x00binary" * 50)
    with HttpClient(None) as http:
        artifacts = Artifacts(http, spec=str(path))
        assert artifacts.spec is None
    assert artifacts.spec_problem == f"spec {path} is not UTF-8 text"


def test_a_spec_over_the_size_cap_is_reported_not_parsed(stub: StubServer):
    huge = json.dumps({**SPEC, "x-padding": "y" * 200_000})
    stub.routes["/openapi.json"] = (200, {"Content-Type": "application/json"}, huge)
    with HttpClient(stub.url, max_bytes=50_000) as http:
        artifacts = Artifacts(http, spec=None)
        assert artifacts.spec is None
    assert "larger than 50,000 bytes" in (artifacts.spec_problem or "")


def test_an_unusable_spec_option_makes_checks_that_need_it_error(tmp_path):
    """--spec names a document that cannot be used: not a skip (exit 0) but an error (exit 2)."""
    from tests.conftest import run_audit_cli

    bad = tmp_path / "spec.yaml"
    bad.write_text("not: [an, openapi, document]")
    proc = run_audit_cli("run", "--repo", str(tmp_path), "--spec", str(bad), "--checks", "latency",
                         "--output-dir", str(tmp_path / "out"), "--format", "json", cwd=tmp_path)
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    (latency,) = report["checks"]
    assert latency["status"] == "skipped"  # no service: that need is unmet first
    proc = run_audit_cli("run", "--serve", "python3 -m http.server --bind 127.0.0.1 {port}", "--spec", str(bad),
                         "--checks", "latency", "--output-dir", str(tmp_path / "out"), "--format", "json",
                         cwd=tmp_path)
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    (latency,) = report["checks"]
    assert latency["status"] == "error" and "not an OpenAPI or Swagger document" in latency["summary"]
    assert proc.returncode == 2
