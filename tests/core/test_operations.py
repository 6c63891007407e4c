"""The shared spec walker: operations, base paths and sample values (the planner: test_planner.py)."""

from __future__ import annotations

import json

import jsonschema
import pytest

from auditor.operations import CYCLE, base_path, operations, sample_value

OAS3 = {
    "openapi": "3.0.3",
    "info": {"title": "t", "version": "1"},
    "security": [{"bearer": []}],
    "paths": {
        "/books": {
            "get": {"operationId": "listBooks", "security": [{}, {"bearer": []}],
                    "parameters": [{"name": "limit", "in": "query", "schema": {"type": "integer", "maximum": 50}}],
                    "responses": {"200": {"$ref": "#/components/responses/BookList"}}},
            "post": {"requestBody": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Book"}}}},
                     "responses": {"201": {"description": "created"}}},
        },
        "/books/{book_id}": {
            "parameters": [{"$ref": "#/components/parameters/BookId"},
                           {"name": "verbose", "in": "query", "schema": {"type": "boolean"}}],
            "get": {"parameters": [{"name": "verbose", "in": "query", "required": True,
                                    "schema": {"type": "boolean"}, "example": False}],
                    "responses": {"200": {"description": "ok"}}},
            "delete": {"security": [], "responses": {"204": {"description": "gone"}}},
        },
    },
    "components": {
        "parameters": {"BookId": {"name": "book_id", "in": "path", "required": True,
                                  "schema": {"type": "integer", "minimum": 1}}},
        "responses": {"BookList": {"description": "books", "content": {"application/json": {
            "schema": {"type": "array", "items": {"$ref": "#/components/schemas/Book"}}}}}},
        "schemas": {"Book": {"type": "object", "required": ["title"], "properties": {
            "title": {"type": "string"}, "sequel": {"$ref": "#/components/schemas/Book"}}}},
    },
}


def test_operations_merge_path_parameters_and_resolve_refs() -> None:
    ops = {op.endpoint: op for op in operations(OAS3)}
    assert list(ops) == ["GET /books", "POST /books", "GET /books/{book_id}", "DELETE /books/{book_id}"]
    detail = ops["GET /books/{book_id}"]
    names = {(p.name, p.location): p for p in detail.parameters}
    assert set(names) == {("book_id", "path"), ("verbose", "query")}
    assert names[("book_id", "path")].schema == {"type": "integer", "minimum": 1}  # $ref resolved
    assert names[("verbose", "query")].required and names[("verbose", "query")].has_example  # op overrides path
    listed = ops["GET /books"].responses["200"]["content"]["application/json"]["schema"]
    assert listed["items"]["properties"]["title"] == {"type": "string"}


def test_cyclic_refs_are_cut_not_followed_forever() -> None:
    body = {op.endpoint: op for op in operations(OAS3)}["POST /books"].request_body
    book = body["content"]["application/json"]["schema"]
    assert book["properties"]["sequel"].get(CYCLE) is True


def test_effective_security() -> None:
    ops = {op.endpoint: op for op in operations(OAS3)}
    assert ops["GET /books/{book_id}"].secured            # global requirement applies
    assert not ops["GET /books"].secured                  # {} alternative: anonymous allowed
    assert not ops["DELETE /books/{book_id}"].secured     # security: [] switches it off
    assert ops["POST /books"].security == [{"bearer": []}]


def test_swagger2_body_and_inline_parameter_schemas() -> None:
    doc = {"swagger": "2.0", "basePath": "/api/v1/", "paths": {"/pets": {"post": {
        "parameters": [{"name": "body", "in": "body", "required": True, "schema": {"type": "object"}},
                       {"name": "dry", "in": "query", "type": "integer", "minimum": 3}],
        "responses": {"200": {"description": "ok"}}}}}}
    (op,) = operations(doc)
    assert op.request_body == {"required": True, "content": {"application/json": {"schema": {"type": "object"}}}}
    assert [(p.name, p.schema) for p in op.parameters] == [("dry", {"type": "integer", "minimum": 3})]
    assert base_path(doc) == "/api/v1"


@pytest.mark.parametrize(("servers", "source", "expected"), [
    ([{"url": "/api"}], None, "/api"),
    ([{"url": "https://example.com/v2/"}], None, "/v2"),
    ([{"url": "https://{host}/{base}", "variables": {"host": {"default": "x"}, "base": {"default": "b"}}}], None, "/b"),
    ([{"url": "v3"}], "http://127.0.0.1:8000/api/openapi.json", "/api/v3"),
    ([{"url": "/"}], None, ""),
    ([], None, ""),
])
def test_base_path(servers: list, source: str | None, expected: str) -> None:
    assert base_path({"openapi": "3.1.0", "servers": servers}, source) == expected


@pytest.mark.parametrize("schema", [
    {"type": "integer", "minimum": 10, "maximum": 20},
    {"type": "integer", "exclusiveMinimum": 5},
    {"type": "integer", "minimum": 5, "exclusiveMinimum": True},
    {"type": "number", "maximum": 0.5},
    {"type": "integer", "multipleOf": 7},
    {"type": "string", "format": "date"},
    {"type": "string", "format": "email", "maxLength": 40},
    {"type": "string", "minLength": 12},
    {"type": "string", "maxLength": 3},
    {"type": "string", "enum": ["asc", "desc"]},
    {"type": ["null", "integer"], "minimum": 2},
    {"type": "array", "items": {"type": "integer", "minimum": 4}, "minItems": 2},
    {"allOf": [{"type": "object", "required": ["a"], "properties": {"a": {"type": "integer"}}},
               {"required": ["b"], "properties": {"b": {"type": "boolean"}}}]},
    {"oneOf": [{"type": "null"}, {"type": "string", "format": "uuid"}]},
    {"type": "object", "required": ["n"], "properties": {"n": {"type": "integer", "maximum": -1}, "o": {}}},
])
def test_sample_values_are_valid(schema: dict) -> None:
    value = sample_value(schema, "name")
    # OpenAPI 3.0's boolean exclusiveMinimum is JSON Schema draft 4's.
    validator = jsonschema.Draft4Validator if schema.get("exclusiveMinimum") is True else jsonschema.Draft202012Validator
    validator(schema, format_checker=jsonschema.FormatChecker()).validate(value)
    assert sample_value(schema, "name") == value  # deterministic


def test_sample_value_prefers_documented_values() -> None:
    assert sample_value({"type": "integer", "example": 42}) == 42
    assert sample_value({"type": "integer", "default": 7, "minimum": 1}) == 7


@pytest.mark.parametrize("schema", [
    {"type": "array", "items": {"type": "integer"}, "minItems": 10**9},
    {"type": "string", "minLength": 10**9},
    {"type": "integer", "minimum": 1e999},
    {"type": "number", "maximum": -1e999, "multipleOf": 1e-999},
])
def test_hostile_bounds_give_a_small_value_not_a_crash(schema: dict) -> None:
    value = sample_value(schema, "x")
    assert len(json.dumps(value)) <= 10_000


def test_relative_servers_of_a_spec_file_are_not_joined_to_its_path() -> None:
    doc = {"openapi": "3.0.0", "servers": [{"url": "api/v1"}]}
    assert base_path(doc, "/home/u/specs/openapi.yaml") == "/api/v1"
