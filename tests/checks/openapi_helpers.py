"""Shared pieces of the openapi check's tests: a minimal document that passes every completeness rule
(each rule's test breaks exactly one thing in a copy), a recording API server that answers by the
document, and a way to run the check on a context."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

from auditor.model import Outcome
from checks.openapi import OpenApiCheck
from checks.openapi.config import OpenApiConfig
from tests.conftest import check_context
from tests.stub_server import StubServer

ERROR = {"$ref": "#/components/schemas/Error"}
HEADERS = {
    "X-RateLimit-Limit": {"description": "Requests per minute.", "schema": {"type": "integer", "maximum": 100000}},
    "X-RateLimit-Remaining": {"description": "Requests left.", "schema": {"type": "integer", "maximum": 100000}},
}


def _json(schema: dict[str, Any]) -> dict[str, Any]:
    return {"application/json": {"schema": schema}}


def _error(description: str, **extra: Any) -> dict[str, Any]:
    return {"description": description, "content": _json(ERROR), **extra}


def minimal_spec() -> dict[str, Any]:
    """OpenAPI 3.1, two operations (a public paginated list, a secured item), complete by every rule."""
    return copy.deepcopy({
        "openapi": "3.1.0",
        "info": {"title": "Items", "version": "1.0.0", "description": "A tiny API.",
                 "contact": {"name": "Team", "email": "team@example.com"}, "license": {"name": "MIT"}},
        "servers": [{"url": "/api"}],
        "tags": [{"name": "items", "description": "Items."}],
        "paths": {
            "/items": {"get": {
                "tags": ["items"], "summary": "List items", "description": "A page of items.",
                "operationId": "list_items",
                "parameters": [
                    {"name": "limit", "in": "query", "description": "Page size.",
                     "schema": {"type": "integer", "minimum": 1, "maximum": 100, "default": 20}},
                    {"name": "offset", "in": "query", "description": "Items to skip.",
                     "schema": {"type": "integer", "minimum": 0, "maximum": 10000, "default": 0}},
                ],
                "responses": {
                    "200": {"description": "A page.", "headers": HEADERS,
                            "content": _json({"$ref": "#/components/schemas/ItemPage"})},
                    "422": _error("Invalid parameters."),
                    "429": _error("Too many requests.", headers={"Retry-After": {
                        "description": "Seconds.", "schema": {"type": "integer", "maximum": 3600}}}),
                }}},
            "/items/{item_id}": {"get": {
                "tags": ["items"], "summary": "Get an item", "description": "One item by id.",
                "operationId": "get_item",
                "security": [{"bearer": []}],
                "parameters": [{"name": "item_id", "in": "path", "required": True, "description": "Item id.",
                                "schema": {"type": "integer", "minimum": 1, "maximum": 1000000}, "example": 1}],
                "responses": {
                    "200": {"description": "The item.", "headers": HEADERS,
                            "content": _json({"$ref": "#/components/schemas/Item"})},
                    "401": _error("No or bad token."),
                    "404": _error("No such item."),
                    "429": _error("Too many requests.", headers={"Retry-After": {
                        "description": "Seconds.", "schema": {"type": "integer", "maximum": 3600}}}),
                }}},
        },
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "Item": {"type": "object", "required": ["id", "name"],
                         "properties": {"id": {"type": "integer"}, "name": {"type": "string", "maxLength": 50}},
                         "examples": [{"id": 1, "name": "one"}]},
                "ItemPage": {"type": "object", "required": ["items", "total"],
                             "properties": {"items": {"type": "array", "items": {"$ref": "#/components/schemas/Item"}},
                                            "total": {"type": "integer"}}},
                "Error": {"type": "object", "required": ["code"],
                          "properties": {"code": {"type": "string"}, "message": {"type": "string"}}},
            },
        },
    })


def writable_spec() -> dict[str, Any]:
    """The minimal document plus POST /items and PUT/PATCH/DELETE /items/{item_id}."""
    document = minimal_spec()
    body = {"required": True, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Item"}}}}
    ok = {"description": "Done.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Item"}}}}
    bad = {"description": "Invalid.",
           "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    document["paths"]["/items"]["post"] = {"operationId": "create_item", "requestBody": body,
                                           "responses": {"201": ok, "422": bad}}
    item_path = document["paths"]["/items/{item_id}"]
    for method in ("put", "patch", "delete"):
        item_path[method] = {"operationId": f"{method}_item", "parameters": item_path["get"]["parameters"],
                             "requestBody": body if method != "delete" else None,
                             "responses": {"200": ok, "404": bad}}
        if method == "delete":
            del item_path[method]["requestBody"]
    return document


def write_spec(tmp_path: Path, document: dict[str, Any] | str, name: str = "openapi.json") -> Path:
    path = tmp_path / name
    path.write_text(document if isinstance(document, str) else json.dumps(document), encoding="utf-8")
    return path


def run_check(url: str | None, tmp_path: Path, *, spec: str | None = None, config: OpenApiConfig | None = None,
              read_only: bool = True, settings: dict[str, Any] | None = None, headers: dict[str, str] | None = None,
              seconds: float = 120, repo: Path | None = None) -> Outcome:
    work = tmp_path / "check-tmp"
    work.mkdir(parents=True, exist_ok=True)
    ctx = check_context(url, config or OpenApiConfig(), work, spec=spec, read_only=read_only, settings=settings,
                        headers=headers, seconds=seconds, repo=repo)
    try:
        return OpenApiCheck().run(ctx)
    finally:
        ctx.http.close()


def failed_rules(outcome: Outcome) -> set[str]:
    return {f.rule_id for f in outcome.findings}


JSON = {"Content-Type": "application/json"}


def items_server(document: dict[str, Any], *, secured_open: bool = False) -> StubServer:
    """A StubServer that serves ``document`` at /openapi.json and answers its /api operations as documented
    (item 1 exists); with ``secured_open`` the secured GET answers 200 without a token. Every request is
    recorded in .requests."""
    page = json.dumps({"items": [{"id": 1, "name": "one"}], "total": 1})
    item = json.dumps({"id": 1, "name": "one"})

    def items(handler: Any) -> tuple[int, dict[str, str], str]:
        if handler.command != "GET":
            return 201, JSON, item
        query = handler.path.partition("?")[2]
        for key, value in re.findall(r"(\w+)=([^&]*)", query):
            if key in ("limit", "offset") and not value.isdigit():
                return 422, JSON, json.dumps({"code": "invalid"})
            if key == "limit" and not 1 <= int(value) <= 100 or key == "offset" and int(value) > 10000:
                return 422, JSON, json.dumps({"code": "invalid"})
        return 200, {**JSON, "X-RateLimit-Limit": "100", "X-RateLimit-Remaining": "99"}, page

    def one(handler: Any) -> tuple[int, dict[str, str], str]:
        if handler.command != "GET":
            return 204, {}, ""
        if not secured_open and not handler.headers.get("Authorization", "").startswith("Bearer "):
            return 401, JSON, json.dumps({"code": "unauthorized"})
        return 200, {**JSON, "X-RateLimit-Limit": "100", "X-RateLimit-Remaining": "99"}, item

    server = StubServer(default=(404, JSON, json.dumps({"code": "not_found"})))
    server.routes["/openapi.json"] = (200, JSON, json.dumps(document))
    server.routes["/api/items"] = items
    server.routes["/api/items/1"] = one
    return server
