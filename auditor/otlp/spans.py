"""Spans as the auditor reads them, from either OTLP encoding (protobuf with ``opentelemetry-proto``, or the
JSON mapping with hex ids), and the store the receiver fills and the checks read.

Semantic conventions differ between instrumentation versions: a statement is ``db.statement`` (older)
or ``db.query.text`` (newer), a route ``http.route``, a path ``url.path`` or ``http.target``, a method
``http.request.method`` or ``http.method``; both are read.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

SPAN_KIND_SERVER = 2
SPAN_KIND_CLIENT = 3
STATEMENT_KEYS = ("db.query.text", "db.statement")
SYSTEM_KEYS = ("db.system.name", "db.system")
MAX_SPANS = 500_000  # a bound on memory; the oldest spans are dropped past it (and counted)


@dataclass(frozen=True)
class Span:
    trace_id: str                 # 32 hex digits
    span_id: str                  # 16 hex digits
    parent_span_id: str           # "" for a root span
    name: str
    kind: int                     # 1 internal, 2 server, 3 client, 4 producer, 5 consumer
    start_ns: int
    end_ns: int
    attributes: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)
    service: str = ""             # the resource's service.name

    @property
    def statement(self) -> str | None:
        for key in STATEMENT_KEYS:
            value = self.attributes.get(key)
            if isinstance(value, str) and value.strip():
                return value
        return None

    @property
    def db_system(self) -> str:
        return next((str(self.attributes[k]) for k in SYSTEM_KEYS if k in self.attributes), "")

    @property
    def duration_ms(self) -> float:
        return max(0, self.end_ns - self.start_ns) / 1e6

    @property
    def is_server(self) -> bool:
        return self.kind == SPAN_KIND_SERVER

    def http(self, *keys: str) -> str:
        return next((str(self.attributes[k]) for k in keys if self.attributes.get(k) not in (None, "")), "")

    @property
    def route(self) -> str:
        return self.http("http.route")

    @property
    def method(self) -> str:
        return self.http("http.request.method", "http.method")

    @property
    def path(self) -> str:
        return self.http("url.path", "http.target")


class DecodeError(Exception):
    """An OTLP body that is not an ExportTraceServiceRequest; one line."""


def decode(body: bytes, content_type: str) -> list[Span]:
    if "json" in content_type:
        return decode_json(body)
    return decode_protobuf(body)


def decode_protobuf(body: bytes) -> list[Span]:
    from google.protobuf.message import DecodeError as ProtobufError
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

    request = ExportTraceServiceRequest()
    try:
        request.ParseFromString(body)
    except ProtobufError as exc:
        raise DecodeError(f"not an OTLP protobuf trace export: {exc}") from None
    spans = []
    for resource_spans in request.resource_spans:
        service = _service(_pb_attributes(resource_spans.resource.attributes))
        for scope_spans in resource_spans.scope_spans:
            for s in scope_spans.spans:
                spans.append(Span(trace_id=s.trace_id.hex(), span_id=s.span_id.hex(),
                                  parent_span_id=s.parent_span_id.hex(), name=s.name, kind=int(s.kind),
                                  start_ns=int(s.start_time_unix_nano), end_ns=int(s.end_time_unix_nano),
                                  attributes=_pb_attributes(s.attributes), service=service))
    return spans


def _pb_attributes(items: Iterable[Any]) -> dict[str, Any]:
    return {kv.key: _pb_value(kv.value) for kv in items}


def _pb_value(value: Any) -> Any:
    which = value.WhichOneof("value")
    if which is None:
        return None
    if which == "array_value":
        return [_pb_value(v) for v in value.array_value.values]
    if which == "kvlist_value":
        return _pb_attributes(value.kvlist_value.values)
    if which == "bytes_value":
        return value.bytes_value.hex()
    return getattr(value, which)


def decode_json(body: bytes) -> list[Span]:
    """The OTLP/JSON mapping: proto3 JSON, but trace and span ids are hex strings, enums may be numbers or
    names, 64-bit integers may be strings."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise DecodeError(f"not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise DecodeError("not an OTLP JSON trace export (expected an object with resourceSpans)")
    spans = []
    try:
        for resource_spans in data.get("resourceSpans") or data.get("resource_spans") or []:
            resource = resource_spans.get("resource") or {}
            service = _service(_json_attributes(resource.get("attributes")))
            for scope_spans in resource_spans.get("scopeSpans") or resource_spans.get("scope_spans") or []:
                for s in scope_spans.get("spans") or []:
                    spans.append(Span(trace_id=str(s.get("traceId", "")).lower(), span_id=str(s.get("spanId", "")).lower(),
                                      parent_span_id=str(s.get("parentSpanId") or "").lower(), name=str(s.get("name", "")),
                                      kind=_kind(s.get("kind", 0)), start_ns=int(s.get("startTimeUnixNano") or 0),
                                      end_ns=int(s.get("endTimeUnixNano") or 0),
                                      attributes=_json_attributes(s.get("attributes")), service=service))
    except (AttributeError, TypeError, ValueError) as exc:
        raise DecodeError(f"not an OTLP JSON trace export: {type(exc).__name__}: {exc}") from None
    return spans


_KINDS = {"SPAN_KIND_UNSPECIFIED": 0, "SPAN_KIND_INTERNAL": 1, "SPAN_KIND_SERVER": 2, "SPAN_KIND_CLIENT": 3,
          "SPAN_KIND_PRODUCER": 4, "SPAN_KIND_CONSUMER": 5}


def _kind(value: Any) -> int:
    return _KINDS.get(value, 0) if isinstance(value, str) else int(value)


def _json_attributes(items: Any) -> dict[str, Any]:
    return {str(kv["key"]): _json_value(kv.get("value") or {}) for kv in items or [] if isinstance(kv, dict) and "key" in kv}


def _json_value(value: dict[str, Any]) -> Any:
    for key, convert in (("stringValue", str), ("boolValue", bool), ("intValue", int), ("doubleValue", float)):
        if key in value:
            return convert(value[key])
    if "arrayValue" in value:
        return [_json_value(v) for v in (value["arrayValue"] or {}).get("values", [])]
    if "kvlistValue" in value:
        return _json_attributes((value["kvlistValue"] or {}).get("values"))
    return value.get("bytesValue")


def _service(attributes: dict[str, Any]) -> str:
    return str(attributes.get("service.name", ""))


class SpanStore:
    """Every span received, by trace; thread-safe (the receiver writes, a check reads and waits)."""

    def __init__(self) -> None:
        self._lock = threading.Condition()
        self._by_trace: dict[str, list[Span]] = {}
        self.count = 0
        self.dropped = 0
        self.exports = 0
        self.services: set[str] = set()

    def add(self, spans: list[Span]) -> None:
        with self._lock:
            self.exports += 1
            for span in spans:
                if self.count >= MAX_SPANS:
                    self.dropped += 1
                    continue
                self._by_trace.setdefault(span.trace_id, []).append(span)
                self.count += 1
                if span.service:
                    self.services.add(span.service)
            self._lock.notify_all()

    def trace(self, trace_id: str) -> list[Span]:
        with self._lock:
            return list(self._by_trace.get(trace_id.lower(), []))

    def traces(self) -> dict[str, list[Span]]:
        with self._lock:
            return {k: list(v) for k, v in self._by_trace.items()}

    def wait(self, ready: Callable[[], bool], timeout_s: float) -> bool:
        """Block until ``ready()`` (checked each time spans arrive) or the timeout; whether it got ready."""
        deadline = time.monotonic() + timeout_s
        with self._lock:
            while not ready():
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._lock.wait(left)
            return True


def server_span(span: Span, by_id: dict[str, Span]) -> Span | None:
    """The SERVER span a span belongs to: its parents walked up until one is of kind SERVER."""
    seen = 0
    current: Span | None = span
    while current is not None and seen < 1000:
        if current.is_server:
            return current
        current = by_id.get(current.parent_span_id) if current.parent_span_id else None
        seen += 1
    return None
