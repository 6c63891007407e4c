"""The OTLP receiver and the --serve tracing shim, against real sockets and a real service: exports in
protobuf (built with the official messages) and JSON (gzip too) decode to the same spans; bad exports
get 400 and a one-line problem, never a crash; the shim traces the sample service's requests and SQL
into the trace the request's traceparent names, and still runs the app's own sitecustomize."""

from __future__ import annotations

import gzip
import json
import secrets
import tempfile
from pathlib import Path

import httpx
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span as PbSpan

from auditor.demo import demo_serve_spec
from auditor.otlp import OtlpReceiver, instrument
from auditor.otlp.spans import server_span
from auditor.service import ServiceProcess

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
SERVER_ID, DB_ID = "00f067aa0ba902b7", "00f067aa0ba902b8"


def _protobuf_export() -> bytes:
    request = ExportTraceServiceRequest()
    resource = request.resource_spans.add()
    resource.resource.attributes.append(KeyValue(key="service.name", value=AnyValue(string_value="books")))
    scope = resource.scope_spans.add()
    server = scope.spans.add(trace_id=bytes.fromhex(TRACE), span_id=bytes.fromhex(SERVER_ID), name="GET /books",
                             kind=PbSpan.SPAN_KIND_SERVER, start_time_unix_nano=1_000, end_time_unix_nano=9_000)
    server.attributes.append(KeyValue(key="http.route", value=AnyValue(string_value="/books")))
    server.attributes.append(KeyValue(key="http.request.method", value=AnyValue(string_value="GET")))
    db = scope.spans.add(trace_id=bytes.fromhex(TRACE), span_id=bytes.fromhex(DB_ID),
                         parent_span_id=bytes.fromhex(SERVER_ID), name="SELECT", kind=PbSpan.SPAN_KIND_CLIENT,
                         start_time_unix_nano=2_000, end_time_unix_nano=2_502_000)
    db.attributes.append(KeyValue(key="db.query.text", value=AnyValue(string_value="SELECT * FROM authors WHERE id = $1")))
    db.attributes.append(KeyValue(key="db.system.name", value=AnyValue(string_value="postgresql")))
    return request.SerializeToString()


def _json_export() -> bytes:
    return json.dumps({"resourceSpans": [{"resource": {"attributes": [
        {"key": "service.name", "value": {"stringValue": "books"}}]}, "scopeSpans": [{"spans": [
            {"traceId": TRACE.upper(), "spanId": SERVER_ID, "name": "GET /books", "kind": "SPAN_KIND_SERVER",
             "startTimeUnixNano": "1000", "endTimeUnixNano": "9000",
             "attributes": [{"key": "http.route", "value": {"stringValue": "/books"}},
                            {"key": "http.method", "value": {"stringValue": "GET"}}]},
            {"traceId": TRACE, "spanId": DB_ID, "parentSpanId": SERVER_ID, "name": "SELECT", "kind": 3,
             "startTimeUnixNano": "2000", "endTimeUnixNano": "2502000",
             "attributes": [{"key": "db.statement", "value": {"stringValue": "SELECT * FROM authors WHERE id = $1"}},
                            {"key": "db.system", "value": {"stringValue": "postgresql"}}]}]}]}]}).encode()


@pytest.mark.parametrize(("body", "headers"), [
    (_protobuf_export(), {"Content-Type": "application/x-protobuf"}),
    (_json_export(), {"Content-Type": "application/json"}),
    (gzip.compress(_json_export()), {"Content-Type": "application/json", "Content-Encoding": "gzip"}),
    (gzip.compress(_protobuf_export()), {"Content-Type": "application/x-protobuf", "Content-Encoding": "gzip"}),
], ids=["protobuf", "json", "json-gzip", "protobuf-gzip"])
def test_both_encodings_decode_to_the_same_spans(body, headers):
    with OtlpReceiver() as receiver:
        response = httpx.post(receiver.endpoint + "/v1/traces", content=body, headers=headers)
        assert response.status_code == 200
        spans = {s.span_id: s for s in receiver.store.trace(TRACE)}
    assert set(spans) == {SERVER_ID, DB_ID}
    server, db = spans[SERVER_ID], spans[DB_ID]
    assert (server.kind, server.route, server.method, server.service) == (2, "/books", "GET", "books")
    assert db.statement == "SELECT * FROM authors WHERE id = $1" and db.db_system == "postgresql"
    assert db.parent_span_id == SERVER_ID and server_span(db, spans) is server
    assert db.duration_ms == pytest.approx(2.5)


def test_bad_exports_are_refused_in_one_line_and_the_receiver_keeps_working():
    with OtlpReceiver() as receiver:
        url = receiver.endpoint + "/v1/traces"
        assert httpx.post(url, content=b"\xff\x00garbage", headers={"Content-Type": "application/x-protobuf"}
                          ).status_code == 400
        assert httpx.post(url, content=b"[1, 2]", headers={"Content-Type": "application/json"}).status_code == 400
        assert httpx.post(url, content=b"x", headers={"Content-Encoding": "br"}).status_code == 400
        assert httpx.post(receiver.endpoint + "/v1/metrics", content=b"").status_code == 404
        assert len(receiver.problems) == 3 and all("\n" not in p for p in receiver.problems)
        assert httpx.post(url, content=_json_export(), headers={"Content-Type": "application/json"}).status_code == 200
        assert receiver.store.count == 2


def test_the_shim_traces_the_sample_services_requests_and_sql_and_chains_the_apps_sitecustomize(tmp_path):
    app_site = tmp_path / "appsite"
    app_site.mkdir()
    marker = tmp_path / "app-sitecustomize-ran"
    (app_site / "sitecustomize.py").write_text(f"open({str(marker)!r}, 'w').write('yes')\n")
    with OtlpReceiver() as receiver:
        serve, _repo = demo_serve_spec(["n_plus_one"])
        env = {**serve.env, "SQL_ECHO": "0",
               **instrument.environment(receiver.endpoint, tmp_path / "work", existing_pythonpath=str(app_site))}
        service = ServiceProcess(serve.command, tmp_path / "service.log", env=env, cwd=serve.cwd)
        service.start(60)
        try:
            trace = secrets.token_hex(16)
            response = httpx.get(service.url + "/books?limit=5",
                                 headers={"traceparent": f"00-{trace}-{secrets.token_hex(8)}-01"})
            assert response.status_code == 200
            assert receiver.store.wait(lambda: any(s.is_server for s in receiver.store.trace(trace)), 10)
            spans = receiver.store.trace(trace)
        finally:
            service.stop()
    server = [s for s in spans if s.is_server]
    statements = [s for s in spans if s.statement]
    assert len(server) == 1 and server[0].path == "/books" and server[0].attributes["http.response.status_code"] == 200
    by_id = {s.span_id: s for s in spans}
    assert statements and all(server_span(s, by_id) is server[0] for s in statements)
    # the seeded N+1: one author query per book listed
    authors = [s for s in statements if "FROM authors" in s.statement]
    assert len(authors) == len(response.json()["items"]) == 5
    assert instrument.used(tmp_path / "work" / instrument.STATUS_NAME) == "shim"
    assert marker.read_text() == "yes"
