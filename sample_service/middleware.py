"""Pure ASGI middlewares: request context (id, access log, metrics, security headers) and the
last-resort error handler. Pure ASGI rather than BaseHTTPMiddleware so the request id contextvar
reaches handlers and streaming is untouched."""

from __future__ import annotations

import json
import logging
import re
import time
import traceback
import uuid

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sample_service.logging import log_fields, request_id_var
from sample_service.metrics import Metrics

access_log = logging.getLogger("access")
error_log = logging.getLogger("sample_service.errors")

# Accept a caller's id only if it is short and harmless (it is echoed in headers and logs).
_REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")
_DOCS_PATHS = ("/docs", "/redoc")


def route_template(scope: Scope) -> str:
    """The matched route's template (/books/{book_id}), never the raw path: bounded label cardinality.

    Requests answered before routing (429 from the rate limiter) are matched here after the fact,
    against the templates create_app stored on app.state."""
    path = getattr(scope.get("route"), "path", None)
    if isinstance(path, str):
        return path
    state = getattr(scope.get("app"), "state", None)
    for regex, template in getattr(state, "route_templates", ()):
        if regex.match(scope["path"]):
            return str(template)
    return "unmatched"


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp, metrics: Metrics | None) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = Headers(scope=scope).get("x-request-id", "")
        request_id = incoming if _REQUEST_ID_RE.match(incoming) else uuid.uuid4().hex
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        status = 500
        path = scope["path"]

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = MutableHeaders(scope=message)
                headers["X-Request-ID"] = request_id
                headers.setdefault("X-Content-Type-Options", "nosniff")
                headers.setdefault("X-Frame-Options", "DENY")
                headers.setdefault("Referrer-Policy", "no-referrer")
                if not path.startswith(_DOCS_PATHS):  # Swagger UI / ReDoc need scripts and styles
                    headers.setdefault("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            elapsed = time.perf_counter() - started
            route = route_template(scope)
            if self.metrics is not None:
                self.metrics.observe(scope["method"], route, status, elapsed)
            log_fields(access_log, logging.INFO, {
                "method": scope["method"], "path": path, "route": route, "status": status,
                "duration_ms": round(elapsed * 1000, 3),
            })
            request_id_var.reset(token)


class ErrorMiddleware:
    """Turns an unhandled exception into a JSON 500 (internals only in the log, unless leaky_errors)."""

    def __init__(self, app: ASGIApp, leak_tracebacks: bool = False) -> None:
        self.app = app
        self.leak_tracebacks = leak_tracebacks

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def send_wrapper(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        except Exception as exc:
            error_log.exception("unhandled error on %s %s", scope["method"], scope["path"])
            if started:
                raise
            payload: dict[str, object] = {"code": "internal_error", "message": "Internal server error",
                                          "request_id": request_id_var.get(), "details": None}
            if self.leak_tracebacks:
                # The leaky_errors defect: what a debug-mode framework would show the world.
                payload["message"] = f"{type(exc).__name__}: {exc}"
                payload["traceback"] = "".join(traceback.format_exception(exc))
            body = json.dumps(payload).encode()
            await send({"type": "http.response.start", "status": 500,
                        "headers": [(b"content-type", b"application/json"),
                                    (b"content-length", str(len(body)).encode())]})
            await send({"type": "http.response.body", "body": body})
