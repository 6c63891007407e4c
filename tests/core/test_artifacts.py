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
        assert "no OpenAPI document at /openapi.json" in (artifacts.spec_problem or "")


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
