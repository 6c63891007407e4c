"""backend-auditor's minimal tracing shim, for a service whose interpreter lacks OpenTelemetry.

Runs in the AUDITED SERVICE's interpreter (loaded by the sitecustomize next to it). Standard library
only. It writes OTLP/JSON spans to the auditor's receiver (BACKEND_AUDITOR_OTLP):

- one SERVER span per HTTP request, in the trace the request's ``traceparent`` header names (the auditor
  sends one with every request it profiles), opened by the request entry points of Django
  (BaseHandler.get_response / get_response_async), Flask (Flask.wsgi_app) and Starlette/FastAPI
  (Starlette.__call__);
- one CLIENT span per SQL statement run while a request is active, with ``db.statement``: SQLAlchemy
  engine events (sync and async engines alike) and Django's cursor (CursorWrapper._execute/_executemany).

The patches are applied when those modules are first imported (an import hook), so installing costs
nothing for a service that uses none of them.

``install("sql-only")`` is the companion mode for a service traced by OpenTelemetry's own SDK whose
instrumentors record no SQL (none covers its database library, e.g. a SQLAlchemy release outside the
instrumentor's range): only the statement hooks are installed, and they parent their spans on the
SDK's current span.
"""

import atexit
import contextvars
import importlib.abc
import importlib.machinery
import json
import os
import random
import sys
import threading
import time
import urllib.request

ENDPOINT = os.environ.get("BACKEND_AUDITOR_OTLP", "").rstrip("/") + "/v1/traces"
SERVICE = os.environ.get("OTEL_SERVICE_NAME", "audited-service")
FLUSH_S = 0.1
MAX_BUFFER = 20000
MAX_STATEMENT = 8000

_current = contextvars.ContextVar("backend_auditor_request", default=None)
_buffer = []
_lock = threading.Lock()
_wake = threading.Event()


# -- spans ----------------------------------------------------------------------------------------------

def _hex(bits):
    return "%0*x" % (bits // 4, random.getrandbits(bits) or 1)


def _attr(key, value):
    if isinstance(value, bool):
        return {"key": key, "value": {"boolValue": value}}
    if isinstance(value, int):
        return {"key": key, "value": {"intValue": str(value)}}
    return {"key": key, "value": {"stringValue": str(value)}}


def _emit(span):
    with _lock:
        if len(_buffer) < MAX_BUFFER:
            _buffer.append(span)


def _span(trace_id, span_id, parent, name, kind, start_ns, end_ns, attributes):
    return {"traceId": trace_id, "spanId": span_id, "parentSpanId": parent or "", "name": name, "kind": kind,
            "startTimeUnixNano": str(start_ns), "endTimeUnixNano": str(end_ns),
            "attributes": [_attr(k, v) for k, v in attributes.items() if v is not None]}


def _flush():
    with _lock:
        spans = _buffer[:]
        del _buffer[:]
    if not spans:
        return
    body = json.dumps({"resourceSpans": [{
        "resource": {"attributes": [_attr("service.name", SERVICE), _attr("telemetry.sdk.name", "backend-auditor-shim")]},
        "scopeSpans": [{"scope": {"name": "backend-auditor-shim"}, "spans": spans}]}]}).encode()
    request = urllib.request.Request(ENDPOINT, data=body, method="POST",
                                     headers={"Content-Type": "application/json"})
    try:
        urllib.request.urlopen(request, timeout=5).read()
    except Exception:  # noqa: BLE001 — the receiver is gone (the audit ended): drop, never break the service
        pass


def _exporter():
    while True:
        _wake.wait(FLUSH_S)
        _wake.clear()
        _flush()


class _Request:
    """The active request: its trace and server span."""

    def __init__(self, method, path, headers):
        self.trace_id, self.parent = _parse_traceparent(headers.get("traceparent", ""))
        self.span_id = _hex(64)
        self.start_ns = time.time_ns()
        self.attributes = {"http.request.method": method, "url.path": path,
                           "http.request.header.x_request_id": headers.get("x-request-id")}

    def finish(self, status):
        self.attributes["http.response.status_code"] = status
        _emit(_span(self.trace_id, self.span_id, self.parent, f"{self.attributes['http.request.method']} "
                    f"{self.attributes['url.path']}", 2, self.start_ns, time.time_ns(), self.attributes))
        _wake.set()


def _parse_traceparent(value):
    parts = value.strip().split("-")
    if len(parts) >= 4 and len(parts[1]) == 32 and len(parts[2]) == 16:
        return parts[1].lower(), parts[2].lower()
    return _hex(128), ""


def _shim_parent():
    request = _current.get()
    return (request.trace_id, request.span_id) if request is not None else None


def _otel_parent():
    from opentelemetry import trace

    context = trace.get_current_span().get_span_context()
    if not context.is_valid:
        return None
    return "%032x" % context.trace_id, "%016x" % context.span_id


_parent = _shim_parent


def _statement(sql, system, start_ns):
    parent = _parent()
    if parent is None or not isinstance(sql, str):
        return
    _emit(_span(parent[0], _hex(64), parent[1], sql.split(None, 1)[0].upper() if sql.strip() else "SQL",
                3, start_ns, time.time_ns(), {"db.statement": sql[:MAX_STATEMENT], "db.system": system}))
    if _parent is _otel_parent:
        _wake.set()  # no server span of ours will wake the exporter


def _enter(method, path, headers):
    if _current.get() is not None:
        return None, None  # nested entry point (a WSGI app inside another): one span is enough
    request = _Request(method, path, headers)
    return request, _current.set(request)


def _leave(request, token, status):
    if request is None:
        return
    request.finish(status)
    _current.reset(token)


# -- SQL ------------------------------------------------------------------------------------------------

def _patch_sqlalchemy(module):
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    def before(conn, cursor, statement, parameters, context, executemany):
        if context is not None:
            context._backend_auditor_start = time.time_ns()

    def after(conn, cursor, statement, parameters, context, executemany):
        start = getattr(context, "_backend_auditor_start", None) or time.time_ns()
        _statement(statement, conn.dialect.name, start)

    event.listen(Engine, "before_cursor_execute", before)
    event.listen(Engine, "after_cursor_execute", after)


def _patch_django_cursor(module):
    wrapper = module.CursorWrapper
    original_execute, original_many = wrapper._execute, wrapper._executemany

    def _execute(self, sql, params, *args):
        start = time.time_ns()
        try:
            return original_execute(self, sql, params, *args)
        finally:
            _statement(sql, self.db.vendor, start)

    def _executemany(self, sql, param_list, *args):
        start = time.time_ns()
        try:
            return original_many(self, sql, param_list, *args)
        finally:
            _statement(sql, self.db.vendor, start)

    wrapper._execute, wrapper._executemany = _execute, _executemany


# -- request entry points ---------------------------------------------------------------------------------

def _patch_django_handler(module):
    handler = module.BaseHandler
    original_sync = handler.get_response
    original_async = getattr(handler, "get_response_async", None)

    def meta_headers(request):
        meta = request.META
        return {"traceparent": meta.get("HTTP_TRACEPARENT", ""), "x-request-id": meta.get("HTTP_X_REQUEST_ID")}

    def get_response(self, request):
        active, token = _enter(request.method, request.path, meta_headers(request))
        status = None
        try:
            response = original_sync(self, request)
            status = getattr(response, "status_code", None)
            return response
        finally:
            _leave(active, token, status)

    handler.get_response = get_response
    if original_async is not None:
        async def get_response_async(self, request):
            active, token = _enter(request.method, request.path, meta_headers(request))
            status = None
            try:
                response = await original_async(self, request)
                status = getattr(response, "status_code", None)
                return response
            finally:
                _leave(active, token, status)

        handler.get_response_async = get_response_async


def _patch_flask(module):
    flask = module.Flask
    original = flask.wsgi_app

    def wsgi_app(self, environ, start_response):
        headers = {"traceparent": environ.get("HTTP_TRACEPARENT", ""), "x-request-id": environ.get("HTTP_X_REQUEST_ID")}
        active, token = _enter(environ.get("REQUEST_METHOD", ""), environ.get("PATH_INFO", ""), headers)
        seen = {}

        def recording_start_response(status, *args, **kwargs):
            seen["status"] = int(str(status).split()[0]) if str(status)[:3].isdigit() else None
            return start_response(status, *args, **kwargs)

        try:
            return original(self, environ, recording_start_response)
        finally:
            _leave(active, token, seen.get("status"))

    flask.wsgi_app = wsgi_app


def _patch_starlette(module):
    starlette = module.Starlette
    original = starlette.__call__

    async def __call__(self, scope, receive, send):
        if scope.get("type") != "http":
            return await original(self, scope, receive, send)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers") or []}
        active, token = _enter(scope.get("method", ""), scope.get("path", ""), headers)
        seen = {}

        async def recording_send(message):
            if message.get("type") == "http.response.start":
                seen["status"] = message.get("status")
            await send(message)

        try:
            await original(self, scope, receive, recording_send)
        finally:
            _leave(active, token, seen.get("status"))

    starlette.__call__ = __call__


PATCHES = {
    "sqlalchemy": _patch_sqlalchemy,
    "django.db.backends.utils": _patch_django_cursor,
    "django.core.handlers.base": _patch_django_handler,
    "flask.app": _patch_flask,
    "starlette.applications": _patch_starlette,
}


SQL_PATCHES = ("sqlalchemy", "django.db.backends.utils")


class _Finder(importlib.abc.MetaPathFinder):
    """Patches a watched module right after it is first executed."""

    def __init__(self, patches):
        self.patches = patches

    def find_spec(self, name, path=None, target=None):
        if name not in self.patches:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(name, path, target)
            if spec is not None and spec.loader is not None and hasattr(spec.loader, "exec_module"):
                spec.loader = _Loader(spec.loader, self.patches[name])
                return spec
        return None


class _Loader(importlib.abc.Loader):
    def __init__(self, loader, patch):
        self._loader, self._patch = loader, patch

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module):
        self._loader.exec_module(module)
        try:
            self._patch(module)
        except Exception:  # noqa: BLE001 — an unknown version of a framework: trace less, never break it
            pass

    def __getattr__(self, name):
        return getattr(self._loader, name)


def _start_exporter():
    threading.Thread(target=_exporter, name="backend-auditor-shim", daemon=True).start()


def _after_fork():
    # Pre-fork servers (gunicorn) fork after start-up: threads do not survive a fork, buffers are copied.
    with _lock:
        del _buffer[:]
    _start_exporter()


def install(mode="full"):
    """"full": requests and SQL; "sql-only": SQL statements parented on OpenTelemetry's current span."""
    global _parent
    patches = PATCHES if mode == "full" else {name: PATCHES[name] for name in SQL_PATCHES}
    if mode != "full":
        _parent = _otel_parent
    _start_exporter()
    if hasattr(os, "register_at_fork"):
        os.register_at_fork(after_in_child=_after_fork)
    atexit.register(_flush)
    sys.meta_path.insert(0, _Finder(patches))
    for name, patch in patches.items():  # already imported (rare at sitecustomize time): patch now
        if name in sys.modules:
            try:
                patch(sys.modules[name])
            except Exception:  # noqa: BLE001
                pass
