"""The operations of an OpenAPI 3.0/3.1 or Swagger 2.0 document.

One spec walker for every check (openapi, latency, nplusone, security) and for the request planner
(auditor.planner): operations with local $refs resolved, path-level parameters merged and the effective
security applied; deterministic sample values valid for a schema.

Why hand-written rather than a library: schemathesis and hypothesis-jsonschema generate *random* valid
data (right for fuzzing, wrong for a latency or N+1 profile that must request the same thing every
run), and prance/openapi-core resolve refs by loading remote files, which an auditor pointed at an
untrusted document must not do. Only local refs ("#/...") are followed here; cycles are cut.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin, urlsplit

HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
MAX_REF_DEPTH = 64          # deeper nesting than this is treated as a cycle
CYCLE = "x-auditor-cycle"   # marks where a cyclic $ref was cut
# A hostile document must not make a sample value huge: bounds beyond these are clamped (the request
# then fails validation, which is a truthful answer, instead of the auditor running out of memory).
MAX_SAMPLE_ITEMS = 100
MAX_SAMPLE_LENGTH = 1000


@dataclass(frozen=True)
class Parameter:
    name: str
    location: str                  # path | query | header | cookie
    required: bool
    schema: dict[str, Any]
    description: str | None = None
    example: Any = None
    has_example: bool = False


@dataclass(frozen=True)
class Operation:
    method: str                    # upper case
    path: str                      # the template, as documented: /books/{book_id}
    operation_id: str | None
    summary: str | None
    description: str | None
    tags: tuple[str, ...]
    parameters: tuple[Parameter, ...]
    request_body: dict[str, Any] | None
    responses: dict[str, dict[str, Any]]
    security: list[dict[str, list[str]]]
    deprecated: bool
    raw: dict[str, Any] = field(repr=False, compare=False, hash=False)

    @property
    def endpoint(self) -> str:
        return f"{self.method} {self.path}"

    @property
    def safe(self) -> bool:
        return self.method in SAFE_METHODS

    @property
    def secured(self) -> bool:
        """True when every alternative requires a credential ({} in the list allows anonymous calls)."""
        return bool(self.security) and all(requirement for requirement in self.security)

    def params_in(self, location: str) -> list[Parameter]:
        return [p for p in self.parameters if p.location == location]


class _Resolver:
    """Local $ref resolution with memoisation (a 20 MB spec shares its components) and cycle cuts."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document
        self._memo: dict[str, Any] = {}

    def lookup(self, ref: str) -> Any:
        if not ref.startswith("#/"):
            return None  # external refs are not fetched (see module docstring)
        node: Any = self.document
        for token in ref[2:].split("/"):
            token = token.replace("~1", "/").replace("~0", "~")
            if isinstance(node, dict) and token in node:
                node = node[token]
            elif isinstance(node, list) and token.isdigit() and int(token) < len(node):
                node = node[int(token)]
            else:
                return None
        return node

    def resolve(self, node: Any, stack: tuple[str, ...] = ()) -> Any:
        if len(stack) > MAX_REF_DEPTH:
            return {CYCLE: True}
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str):
                if ref in stack:
                    return {CYCLE: True, "$ref": ref}
                if ref in self._memo:
                    return self._memo[ref]
                target = self.lookup(ref)
                if target is None:
                    return {"$ref": ref}  # unresolvable: left for the openapi check to report
                resolved = self.resolve(target, (*stack, ref))
                if not _contains_cycle(resolved):
                    self._memo[ref] = resolved
                return resolved
            return {key: self.resolve(value, stack) for key, value in node.items()}
        if isinstance(node, list):
            return [self.resolve(value, stack) for value in node]
        return node


def _contains_cycle(node: Any, depth: int = 0) -> bool:
    # A subtree holding a cycle cut depends on the path it was reached by: never memoised.
    if depth > MAX_REF_DEPTH:
        return True
    if isinstance(node, dict):
        return CYCLE in node or any(_contains_cycle(v, depth + 1) for v in node.values())
    if isinstance(node, list):
        return any(_contains_cycle(v, depth + 1) for v in node)
    return False


def is_swagger2(document: dict[str, Any]) -> bool:
    return str(document.get("swagger", "")).startswith("2")


def operations(document: dict[str, Any]) -> list[Operation]:
    """Every operation of the document, in document order."""
    resolver = _Resolver(document)
    swagger = is_swagger2(document)
    global_security = document.get("security")
    found: list[Operation] = []
    paths = document.get("paths")
    if not isinstance(paths, dict):
        return found
    for path, item in paths.items():
        item = resolver.resolve(item)
        if not isinstance(item, dict):
            continue
        shared = _list(item.get("parameters"))
        for method in HTTP_METHODS:
            op = item.get(method)
            if not isinstance(op, dict):
                continue
            params, body = _parameters(shared, _list(op.get("parameters")), swagger)
            if not swagger and isinstance(op.get("requestBody"), dict):
                body = op["requestBody"]
            security = op.get("security", global_security)
            found.append(Operation(
                method=method.upper(), path=str(path), operation_id=_str(op.get("operationId")),
                summary=_str(op.get("summary")), description=_str(op.get("description")),
                tags=tuple(str(t) for t in _list(op.get("tags"))), parameters=params, request_body=body,
                responses={str(k): v if isinstance(v, dict) else {} for k, v in
                           (op.get("responses") or {}).items()} if isinstance(op.get("responses"), dict) else {},
                security=[r for r in _list(security) if isinstance(r, dict)],
                deprecated=bool(op.get("deprecated")), raw=op))
    return found


def _parameters(shared: list[Any], own: list[Any], swagger: bool
                ) -> tuple[tuple[Parameter, ...], dict[str, Any] | None]:
    merged: dict[tuple[str, str], dict[str, Any]] = {}
    for raw in [*shared, *own]:  # operation-level parameters override path-level ones
        if isinstance(raw, dict) and isinstance(raw.get("name"), str) and isinstance(raw.get("in"), str):
            merged[(raw["name"], raw["in"])] = raw
    params: list[Parameter] = []
    body: dict[str, Any] | None = None
    form: dict[str, Any] = {}
    for (name, location), raw in merged.items():
        if swagger and location == "body":
            body = {"required": bool(raw.get("required")),
                    "content": {"application/json": {"schema": raw.get("schema") or {}}}}
            continue
        if swagger and location == "formData":
            form[name] = _swagger2_schema(raw)
            continue
        schema = raw.get("schema") if isinstance(raw.get("schema"), dict) else (
            _swagger2_schema(raw) if swagger else {})
        example, has_example = _parameter_example(raw, schema)
        params.append(Parameter(name=name, location=location, required=bool(raw.get("required")) or location == "path",
                                schema=schema, description=_str(raw.get("description")), example=example,
                                has_example=has_example))
    if form and body is None:
        body = {"content": {"application/x-www-form-urlencoded": {
            "schema": {"type": "object", "properties": form}}}}
    return tuple(params), body


_SWAGGER2_SCHEMA_KEYS = ("type", "format", "items", "enum", "default", "minimum", "maximum", "exclusiveMinimum",
                         "exclusiveMaximum", "minLength", "maxLength", "pattern", "minItems", "maxItems",
                         "multipleOf", "uniqueItems")


def _swagger2_schema(raw: dict[str, Any]) -> dict[str, Any]:
    """Swagger 2.0 puts a non-body parameter's schema keywords on the parameter itself."""
    return {key: raw[key] for key in _SWAGGER2_SCHEMA_KEYS if key in raw}


def _parameter_example(raw: dict[str, Any], schema: dict[str, Any]) -> tuple[Any, bool]:
    if "example" in raw:
        return raw["example"], True
    examples = raw.get("examples")
    if isinstance(examples, dict):
        for example in examples.values():
            if isinstance(example, dict) and "value" in example:
                return example["value"], True
    if isinstance(schema, dict) and "example" in schema:
        return schema["example"], True
    if isinstance(schema, dict) and isinstance(schema.get("examples"), list) and schema["examples"]:
        return schema["examples"][0], True
    return None, False


def base_path(document: dict[str, Any], source_url: str | None = None) -> str:
    """The path prefix every operation path is served under: "/api", or "" for none."""
    if is_swagger2(document):
        prefix = str(document.get("basePath") or "")
    else:
        servers = _list(document.get("servers"))
        first = servers[0] if servers and isinstance(servers[0], dict) else {}
        url = str(first.get("url") or "")
        for name, variable in (first.get("variables") or {}).items():
            if isinstance(variable, dict) and "default" in variable:
                url = url.replace("{" + str(name) + "}", str(variable["default"]))
        if url and source_url and source_url.startswith(("http://", "https://")) \
                and not url.startswith(("/", "http://", "https://")):
            url = urljoin(source_url, url)  # relative to where the document was served (OAS 3 rule)
        prefix = urlsplit(url).path if url else ""
    prefix = "/" + prefix.strip("/") if prefix.strip("/") else ""
    return prefix


# --- sample values ---------------------------------------------------------------------------------
_FORMAT_SAMPLES: dict[str, Any] = {
    "date": "2024-01-15",
    "date-time": "2024-01-15T12:00:00Z",
    "time": "12:00:00",
    "email": "user@example.com",
    "idn-email": "user@example.com",
    "uuid": "3fa85f64-5717-4562-b3fc-2c963f66afa6",
    "uri": "https://example.com/",
    "url": "https://example.com/",
    "hostname": "example.com",
    "ipv4": "192.0.2.1",
    "ipv6": "2001:db8::1",
    "byte": "YQ==",
    "password": "example-Passw0rd",
}


def sample_value(schema: Any, name: str = "", _depth: int = 0) -> Any:
    """A deterministic value that the schema accepts (best effort for pattern-constrained strings)."""
    if not isinstance(schema, dict) or _depth > 8:
        return "example"
    for key in ("example", "default", "const"):
        if key in schema:
            return schema[key]
    if isinstance(schema.get("examples"), list) and schema["examples"]:
        return schema["examples"][0]
    if isinstance(schema.get("enum"), list) and schema["enum"]:
        non_null = [v for v in schema["enum"] if v is not None]
        return non_null[0] if non_null else None
    if isinstance(schema.get("allOf"), list):
        merged: dict[str, Any] = {}
        for part in schema["allOf"]:
            if isinstance(part, dict):
                merged = _merge_schemas(merged, part)
        return sample_value({**merged, **{k: v for k, v in schema.items() if k != "allOf"}}, name, _depth + 1)
    for key in ("oneOf", "anyOf"):
        if isinstance(schema.get(key), list) and schema[key]:
            options = [s for s in schema[key] if isinstance(s, dict) and s.get("type") != "null"]
            return sample_value(options[0] if options else schema[key][0], name, _depth + 1)
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), None)
    if kind is None:
        kind = "object" if "properties" in schema else "array" if "items" in schema else "string"
    if kind == "integer":
        number = _number(schema, 1)
        return int(number) if math.isfinite(number) else 1
    if kind == "number":
        number = float(_number(schema, 1))
        return number if math.isfinite(number) else 1.0
    if kind == "boolean":
        return True
    if kind == "null":
        return None
    if kind == "array":
        min_items = schema.get("minItems")
        count = min(MAX_SAMPLE_ITEMS, max(1, min_items if isinstance(min_items, int) else 0))
        return [sample_value(schema.get("items") or {}, name, _depth + 1) for _ in range(count)]
    if kind == "object":
        properties = schema.get("properties") if isinstance(schema.get("properties"), dict) else {}
        required = [r for r in _list(schema.get("required")) if r in properties]
        return {key: sample_value(properties[key], key, _depth + 1) for key in required}
    return _string(schema, name)


def _number(schema: dict[str, Any], preferred: float) -> float:
    low = schema.get("minimum")
    high = schema.get("maximum")
    ex_low, ex_high = schema.get("exclusiveMinimum"), schema.get("exclusiveMaximum")
    step = 1
    if isinstance(ex_low, (int, float)) and not isinstance(ex_low, bool):
        low = ex_low + step           # OAS 3.1 / JSON Schema: the bound itself
    elif ex_low is True and isinstance(low, (int, float)):
        low = low + step              # OAS 3.0: a boolean beside minimum
    if isinstance(ex_high, (int, float)) and not isinstance(ex_high, bool):
        high = ex_high - step
    elif ex_high is True and isinstance(high, (int, float)):
        high = high - step
    value = preferred
    if isinstance(low, (int, float)) and value < low:
        value = low
    if isinstance(high, (int, float)) and value > high:
        value = high
    multiple = schema.get("multipleOf")
    if not math.isfinite(value):
        return preferred  # bounds like 1e999: no finite value to pick, the request will be judged as is
    if isinstance(multiple, (int, float)) and 0 < multiple < math.inf and value % multiple:
        value = multiple * max(1, round(value / multiple))
    return value


def _string(schema: dict[str, Any], name: str) -> str:
    fmt = schema.get("format")
    value = _FORMAT_SAMPLES.get(fmt, "") if isinstance(fmt, str) else ""
    if not value:
        value = re.sub(r"[^a-z0-9]", "", name.lower()) or "example"
    minimum = min(MAX_SAMPLE_LENGTH, schema["minLength"]) if isinstance(schema.get("minLength"), int) else 0
    maximum = schema.get("maxLength") if isinstance(schema.get("maxLength"), int) else None
    if len(value) < minimum:
        value = value + "x" * (minimum - len(value))
    if maximum is not None and len(value) > maximum:
        value = value[:maximum] or ""
    return value


def _merge_schemas(left: dict[str, Any], right: dict[str, Any]) -> dict[str, Any]:
    merged = {**left, **right}
    if isinstance(left.get("properties"), dict) and isinstance(right.get("properties"), dict):
        merged["properties"] = {**left["properties"], **right["properties"]}
    if isinstance(left.get("required"), list) and isinstance(right.get("required"), list):
        merged["required"] = [*left["required"], *[r for r in right["required"] if r not in left["required"]]]
    return merged


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None
