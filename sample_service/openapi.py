"""Enrich FastAPI's generated OpenAPI document: shared headers on every response, 429 on rate-limited
operations, and no leftover default validation schemas (our 422s use ErrorResponse)."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute

from sample_service.ratelimit import EXEMPT_PATHS

DESCRIPTION = """\
A small bookshop API: authors, books and orders, with OAuth2 password login (JWT bearer tokens) and
admin/customer roles. It is the reference target of backend-auditor: production-ready by default, with
seeded defects that can be switched on by name (`SAMPLE_DEFECTS`).

* Lists are paginated: `limit` (1-100, default 20) and `offset`; answers are `{items, total, limit, offset}`.
* Every error uses one body: `{code, message, request_id, details}`.
* Every response carries `X-Request-ID` (the caller's, if sent and well-formed, else a new one).
* API operations are rate limited per client (`X-RateLimit-*` headers; 429 with `Retry-After` when over).
"""

TAGS = [
    {"name": "auth", "description": "Obtain bearer tokens (OAuth2 password flow)."},
    {"name": "users", "description": "The authenticated user."},
    {"name": "authors", "description": "Authors of books. Reads are public, writes need the admin role."},
    {"name": "books", "description": "The catalogue. Reads are public, writes need the admin role."},
    {"name": "orders", "description": "Orders: customers see their own, admins see all."},
    {"name": "health", "description": "Liveness and readiness probes (application/health+json)."},
    {"name": "observability", "description": "Prometheus metrics."},
]

_INT_HEADER = {"type": "integer", "minimum": 0}
RATE_HEADERS = {
    "X-RateLimit-Limit": {"description": "Requests allowed per client per minute.", "schema": _INT_HEADER},
    "X-RateLimit-Remaining": {"description": "Requests left in the current window.", "schema": _INT_HEADER},
    "X-RateLimit-Reset": {"description": "Seconds until the current window resets.", "schema": _INT_HEADER},
}
REQUEST_ID_HEADER = {"X-Request-ID": {"description": "Request id, also on every log line of this request.",
                                      "schema": {"type": "string", "maxLength": 128}}}


def operation_id(route: APIRoute) -> str:
    """operationId = the handler's name (list_books, get_book, ...): short, stable, unique."""
    return route.name


def _collapse_optional(param: dict[str, Any]) -> None:
    """An optional parameter's absence already means "none": show its real schema (with its bounds)
    instead of anyOf [schema, null], which tools and fuzzers read less well."""
    schema = param.get("schema", {})
    options = schema.get("anyOf")
    if param.get("required") or not isinstance(options, list):
        return
    non_null = [o for o in options if o.get("type") != "null"]
    if len(non_null) == 1 and len(options) == 2:
        merged = {k: v for k, v in schema.items() if k != "anyOf"}
        param["schema"] = {**non_null[0], **merged}


def build_openapi(app: FastAPI) -> dict[str, Any]:
    if app.openapi_schema:
        return app.openapi_schema
    doc = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes,
                      tags=app.openapi_tags, servers=app.servers, contact=app.contact,
                      license_info=app.license_info)
    for path, item in doc.get("paths", {}).items():
        rate_limited = path not in EXEMPT_PATHS
        for op in item.values():
            for param in op.get("parameters", []):
                _collapse_optional(param)
            responses = op.setdefault("responses", {})
            if rate_limited and "429" not in responses:
                responses["429"] = {
                    "description": "Rate limit exceeded; retry after the number of seconds in Retry-After.",
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorResponse"}}},
                    "headers": {"Retry-After": {"description": "Seconds to wait before retrying.",
                                                "schema": {"type": "integer", "minimum": 1}}},
                }
            for response in responses.values():
                headers = response.setdefault("headers", {})
                headers.update(REQUEST_ID_HEADER)
                if rate_limited:
                    headers.update(RATE_HEADERS)
    schemas = doc.get("components", {}).get("schemas", {})
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    app.openapi_schema = doc
    return doc
