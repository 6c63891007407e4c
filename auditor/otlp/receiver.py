"""A loopback OTLP/HTTP trace receiver: ``POST /v1/traces`` with an ExportTraceServiceRequest in
protobuf (``application/x-protobuf``) or JSON (``application/json``), optionally gzip-compressed;
answers 200 with an empty ExportTraceServiceResponse. Bound to 127.0.0.1 only, bodies capped.

    with OtlpReceiver() as receiver:       # the service exports to receiver.endpoint
        ...
        spans = receiver.store.trace(trace_id)
"""

from __future__ import annotations

import gzip
import io
import threading
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from auditor.otlp.spans import DecodeError, SpanStore, decode

MAX_BODY_BYTES = 16 * 1024 * 1024
MAX_INFLATED_BYTES = 64 * 1024 * 1024
TRACES_PATH = "/v1/traces"


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # an exporter that hangs up is its own problem; never a traceback on the audit's console


class OtlpReceiver:
    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.store = SpanStore()
        self.problems: list[str] = []   # bodies that could not be decoded (one line each, at most 20)
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802 — the http.server API
                receiver._handle(self)

        self._server = _Server((host, port), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.1},
                                        name="otlp-receiver", daemon=True)

    @property
    def endpoint(self) -> str:
        """What OTEL_EXPORTER_OTLP_ENDPOINT must be (the exporter appends /v1/traces)."""
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> OtlpReceiver:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> OtlpReceiver:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _problem(self, text: str) -> None:
        if len(self.problems) < 20:
            self.problems.append(text)

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        path = handler.path.split("?", 1)[0]
        try:
            length = int(handler.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if path != TRACES_PATH:
            return self._answer(handler, 404, b"")
        if length < 0 or length > MAX_BODY_BYTES:
            return self._answer(handler, 413, b"")
        body = handler.rfile.read(length)
        content_type = (handler.headers.get("Content-Type") or "application/x-protobuf").lower()
        try:
            body = _inflate(body, (handler.headers.get("Content-Encoding") or "").lower())
            self.store.add(decode(body, content_type))
        except (DecodeError, OSError, EOFError, zlib.error, ValueError) as exc:
            self._problem(f"an OTLP export could not be read: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}")
            return self._answer(handler, 400, b"", content_type)
        # An empty ExportTraceServiceResponse: zero bytes in protobuf, {} in JSON.
        self._answer(handler, 200, b"{}" if "json" in content_type else b"", content_type)

    @staticmethod
    def _answer(handler: BaseHTTPRequestHandler, status: int, body: bytes,
                content_type: str = "application/x-protobuf") -> None:
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json" if "json" in content_type else "application/x-protobuf")
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)


def _inflate(body: bytes, encoding: str) -> bytes:
    if encoding in ("", "identity"):
        return body
    if encoding == "gzip":
        out = gzip.GzipFile(fileobj=io.BytesIO(body)).read(MAX_INFLATED_BYTES + 1)
    elif encoding == "deflate":
        out = zlib.decompressobj().decompress(body, MAX_INFLATED_BYTES + 1)
    else:
        raise ValueError(f"unsupported Content-Encoding {encoding!r}")
    if len(out) > MAX_INFLATED_BYTES:
        raise ValueError("the inflated body is too large")
    return out
