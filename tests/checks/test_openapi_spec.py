"""Bad input gets a clear answer: a finding, a one-line CheckError (exit 2 through the runner) or a skip —
bounded in time and memory, never a traceback. Real files and real servers on 127.0.0.1."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from auditor.artifacts import Artifacts
from auditor.http import HttpClient
from auditor.interface import AuditContext, CheckError, CheckSkipped, Target
from checks.openapi import OpenApiCheck
from checks.openapi import spec as spec_module
from checks.openapi.config import OpenApiConfig
from tests.checks.openapi_helpers import failed_rules, minimal_spec, run_check, write_spec
from tests.conftest import run_audit_cli
from tests.processes import watch_processes
from tests.stub_server import StubServer, slow


def _no_conformance() -> OpenApiConfig:
    return OpenApiConfig(conformance=False)


@pytest.mark.parametrize(("content", "message"), [
    ("{not json: [", "neither JSON nor YAML"),
    (json.dumps({"hello": "world"}), "not an OpenAPI"),
    ("", "not an OpenAPI"),
    ("just a sentence", "not an OpenAPI"),
])
def test_unusable_spec_file_is_a_one_line_error(tmp_path, content, message):
    path = write_spec(tmp_path, content, "spec.yaml")
    with pytest.raises(CheckError, match=message) as caught:
        run_check(None, tmp_path, spec=str(path))
    assert "\n" not in str(caught.value)


def test_binary_spec_file_is_a_one_line_error(tmp_path):
    path = tmp_path / "spec.json"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\xff\xfe" * 100)
    with pytest.raises(CheckError, match="is not UTF-8 text") as caught:
        run_check(None, tmp_path, spec=str(path))
    assert "\n" not in str(caught.value)


def test_yaml_alias_bomb_is_refused_quickly(tmp_path):
    lines = ["openapi: 3.0.3", "info: {title: bomb, version: '1'}", "x-bomb:", "  a0: &a0 [lol, lol, lol, lol]"]
    for i in range(1, 16):
        lines.append(f"  a{i}: &a{i} [*a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}]")
    lines.append("paths: {}")
    path = write_spec(tmp_path, "\n".join(lines) + "\n", "bomb.yaml")
    with pytest.raises(CheckError, match="alias bomb"):  # 6**15 nodes if anything walked it
        run_check(None, tmp_path, spec=str(path))


def test_invalid_document_is_a_finding_and_the_rest_is_still_judged(tmp_path):
    document = minimal_spec()
    document["paths"]["/items"]["get"]["responses"]["200"]["description"] = 42  # must be a string
    del document["info"]["title"]
    outcome = run_check(None, tmp_path, spec=str(write_spec(tmp_path, document)))
    invalid = [f for f in outcome.findings if f.rule_id == "OAS001"]
    assert len(invalid) == 1 and "title" in invalid[0].message
    # the JSON pointer of the node and, for a file, its line (this document is written on one line)
    assert "(at #/info)" in invalid[0].message
    assert invalid[0].severity == "high" and invalid[0].location == {"file": str(tmp_path / "openapi.json"), "line": 1}
    assert outcome.metrics["spec"]["valid"] is False and outcome.metrics["operations"] == 2
    assert outcome.metrics["completeness_percent"] == 100.0  # the rest of the document is complete
    assert "document INVALID" in outcome.summary


def test_a_document_inside_the_repo_is_located_relative_to_it(tmp_path):
    document = minimal_spec()
    del document["info"]["title"]
    repo = tmp_path / "repo"
    (repo / "docs").mkdir(parents=True)
    spec = write_spec(repo / "docs", document)
    outcome = run_check(None, tmp_path, spec=str(spec), repo=repo)
    (invalid,) = [f for f in outcome.findings if f.rule_id == "OAS001"]
    assert invalid.location == {"file": "docs/openapi.json", "line": 1}


def test_unresolvable_and_external_refs_are_findings_and_never_fetched(tmp_path):
    hits: list[str] = []
    with StubServer() as server:
        server.routes["/remote.json"] = (200, {"Content-Type": "application/json"}, json.dumps({"type": "string"}))
        document = minimal_spec()
        document["components"]["schemas"]["Item"]["properties"]["name"] = {"$ref": f"{server.url}/remote.json"}
        document["components"]["schemas"]["Item"]["properties"]["tag"] = {"$ref": "#/components/schemas/Missing"}
        outcome = run_check(None, tmp_path, spec=str(write_spec(tmp_path, document)))
        hits = [path for _, path, _ in server.requests]
    assert hits == []  # neither the validator nor anything else followed the external $ref
    unresolved = next(f for f in outcome.findings if f.rule_id == "OAS012")
    assert "Missing" in unresolved.message and "remote.json" in unresolved.message
    assert outcome.metrics["spec"]["external_refs"] == [f"{server.url}/remote.json"]


def test_cyclic_refs_are_handled(tmp_path):
    document = minimal_spec()
    item = document["components"]["schemas"]["Item"]
    item["properties"]["children"] = {"type": "array", "maxItems": 5, "items": {"$ref": "#/components/schemas/Item"}}
    document["components"]["schemas"]["A"] = {"$ref": "#/components/schemas/B"}
    document["components"]["schemas"]["B"] = {"$ref": "#/components/schemas/A"}
    document["paths"]["/items/{item_id}"]["get"]["responses"]["404"]["content"]["application/json"]["schema"] = {
        "$ref": "#/components/schemas/A"}
    outcome = run_check(None, tmp_path, spec=str(write_spec(tmp_path, document)))
    assert outcome.metrics["operations"] == 2
    assert "OAS001" in failed_rules(outcome)  # a ref loop with no schema in between is invalid


def test_twenty_megabyte_document_is_read_validated_and_judged(tmp_path):
    """Its 126,000 nodes stay under the in-process validation limit: validated in full (valid, not
    "unknown"). How long it takes is benchmarks/bounded_stops.py's figure, not a pass condition."""
    document = minimal_spec()
    template = json.dumps(document["paths"]["/items/{item_id}"])
    for i in range(2000):
        document["paths"][f"/r{i}/items/{{item_id}}"] = json.loads(template.replace("get_item", f"get_item_{i}"))
    document["info"]["description"] = "x" * (20 * 1024 * 1024 + 100 - len(json.dumps(document)))
    path = write_spec(tmp_path, document)
    assert path.stat().st_size >= 20 * 1024 * 1024
    assert spec_module.count_nodes(document) <= spec_module.IN_PROCESS_VALIDATION_NODES
    outcome = run_check(None, tmp_path, spec=str(path))
    assert outcome.metrics["operations"] == 2002 and outcome.metrics["completeness_percent"] == 100.0
    assert outcome.metrics["spec"]["valid"] is True


def test_validation_in_a_child_process_gives_the_same_errors_and_stops_when_told():
    """The path of documents over IN_PROCESS_VALIDATION_NODES: the child's verdict is the in-process one,
    and a stop (Ctrl-C, the check's deadline) ends it with "unknown" (None), leaving no process behind."""
    document = minimal_spec()
    document["paths"]["/items/{item_id}"]["get"]["responses"]["200"]["description"] = 42
    expected = spec_module.validate(document)
    assert expected  # invalid: there is something to compare
    with watch_processes() as watch:
        assert spec_module.validate_in_child(document, 120, lambda: False) == expected
        assert spec_module.validate_in_child(minimal_spec(), 120, lambda: False) == []
        assert spec_module.validate_in_child(document, 120, lambda: True) is None
    assert watch.left_after() == []


def _context(url: str, tmp_path: Path, spec: str | None, timeout: float = 1.0,
             max_bytes: int = 2 * 1024 * 1024) -> AuditContext:
    http = HttpClient(url, timeout_s=timeout, max_bytes=max_bytes)
    return AuditContext(target=Target(url=url, spec=spec), http=http, artifacts=Artifacts(http, spec=spec),
                        config=_no_conformance(), tmp_dir=tmp_path, deadline=time.monotonic() + 60,
                        read_only=True)


def _redirect_loop(handler) -> tuple:
    return 302, {"Location": handler.path}, ""


@pytest.mark.parametrize(("route", "message"), [
    (slow(3, (200, {}, "{}")), "timed out"),
    ((200, {"Content-Type": "text/html"}, "<html><body>Login</body></html>"), "not an OpenAPI"),
    (_redirect_loop, "too many redirects"),
    ((404, {}, "nope"), "404"),
])
def test_spec_url_problems_are_one_line_errors(tmp_path, route, message):
    with StubServer() as server:
        server.routes["/spec.json"] = route
        ctx = _context(server.url, tmp_path, f"{server.url}/spec.json")
        with pytest.raises(CheckError, match=message) as caught, ctx.http:
            OpenApiCheck().run(ctx)
    assert "\n" not in str(caught.value)


@pytest.fixture
def endless_server() -> Iterator[str]:
    """Answers 200 and streams JSON-looking bytes until the client hangs up."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(5)
    stop = threading.Event()

    def serve() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                continue
            conn.recv(65536)
            try:
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n[")
                while not stop.is_set():
                    conn.sendall(b"1," * 8192)
            except OSError:
                pass
            finally:
                conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    stop.set()
    thread.join(2)
    listener.close()


def test_spec_url_that_streams_without_end_is_cut_and_refused(tmp_path, endless_server):
    # A small body cap keeps the test short: the core then tries pure-Python YAML on the cut body, which
    # takes about a minute at the default 2 MB (reported to the lead: refuse truncated specs, CSafeLoader).
    ctx = _context(endless_server, tmp_path, f"{endless_server}/openapi.json", timeout=5, max_bytes=64 * 1024)
    with pytest.raises(CheckError) as caught, ctx.http:
        OpenApiCheck().run(ctx)
    assert "\n" not in str(caught.value)


def test_no_spec_anywhere_is_a_skip(tmp_path):
    with StubServer() as server:
        ctx = _context(server.url, tmp_path, None)
        with pytest.raises(CheckSkipped, match="no OpenAPI document"), ctx.http:
            OpenApiCheck().run(ctx)


def test_spec_linked_from_the_docs_page_is_found(tmp_path):
    with StubServer() as server:
        server.routes["/docs"] = (200, {"Content-Type": "text/html"},
                                  "<script>SwaggerUIBundle({url: '/internal/v2/spec.json', dom_id: '#x'})</script>")
        server.routes["/internal/v2/spec.json"] = (200, {"Content-Type": "application/json"},
                                                   json.dumps(minimal_spec()))
        ctx = _context(server.url, tmp_path, None)
        with ctx.http:
            outcome = OpenApiCheck().run(ctx)
    assert outcome.metrics["operations"] == 2
    assert outcome.metrics["spec"]["source"] == f"{server.url}/internal/v2/spec.json"


def test_docs_page_links_to_other_hosts_are_not_followed(tmp_path):
    with StubServer() as other, StubServer() as server:
        other.routes["/spec.json"] = (200, {"Content-Type": "application/json"}, json.dumps(minimal_spec()))
        server.routes["/docs"] = (200, {"Content-Type": "text/html"}, f"<redoc spec-url='{other.url}/spec.json'>")
        ctx = _context(server.url, tmp_path, None)
        with pytest.raises(CheckSkipped), ctx.http:
            OpenApiCheck().run(ctx)
        assert other.requests == []


def test_bad_spec_through_the_cli_exits_2_with_one_line(tmp_path):
    spec = write_spec(tmp_path, "{broken", "spec.json")
    result = run_audit_cli("run", "--spec", str(spec), "--repo", str(tmp_path), "--checks", "openapi",
                           "--output-dir", str(tmp_path / "out"), "--format", "json", timeout=120)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    check = report["checks"][0]
    assert check["status"] == "error" and "neither JSON nor YAML" in check["summary"]


def test_deeply_nested_document_is_refused(tmp_path):
    document = minimal_spec()
    nested: dict = {"type": "string"}
    for _ in range(150):  # 300 levels: json reads it, the walkers must not try
        nested = {"type": "object", "properties": {"a": nested}}
    document["components"]["schemas"]["Deep"] = nested
    with pytest.raises(CheckError, match="nests deeper"):
        run_check(None, tmp_path, spec=str(write_spec(tmp_path, document)))


def test_an_invalid_node_is_named_by_json_pointer_and_line(tmp_path):
    document = minimal_spec()
    document["paths"]["/items"]["get"]["parameters"] = {}   # must be an array
    spec = tmp_path / "openapi.yaml"
    import yaml

    spec.write_text(yaml.safe_dump(document, sort_keys=False))
    outcome = run_check(None, tmp_path, spec=str(spec))
    (invalid,) = [f for f in outcome.findings if f.rule_id == "OAS001"]
    assert "(at #/paths/~1items/get/parameters)" in invalid.message
    line = invalid.location["line"]
    assert spec.read_text().splitlines()[line - 1].strip() == "parameters: {}"
