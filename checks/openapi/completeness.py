"""Documentation completeness: the OAS01x (document) and OAS02x-03x (per operation) rules, pure functions
over the document and its operations (auditor.operations walks it).

The rule set merges Spectral's oas ruleset, Redocly's recommended one, Spectral OWASP and 42Crunch
(see docs/checks/openapi.md); pagination and the "4xx only where the operation can refuse" refinement
are ours. A rule that does not apply to an operation (no 401 needed on a public one) is neither passed
nor failed, so completeness_percent = passed / applicable.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from auditor.operations import Operation, Parameter, is_swagger2

from checks.openapi.config import OpenApiConfig
from checks.openapi.spec import EXTERNAL_REF_NOTE

# Responses that carry no body by definition.
BODYLESS_STATUSES = frozenset({"204", "205", "304"})
# String formats whose values have a bounded length.
BOUNDED_FORMATS = frozenset({"date", "date-time", "time", "uuid", "ipv4", "ipv6", "int32", "int64"})
# Page-size parameters (compared lower-case without - and _).
PAGE_SIZE_NAMES = frozenset({"limit", "perpage", "pagesize", "size", "maxresults", "first", "last", "count",
                             "top", "take", "pagelimit"})
PAGE_POSITION_NAMES = frozenset({"offset", "page", "cursor", "after", "before", "skip", "start", "pagetoken",
                                 "next", "marker", "startingafter", "endingbefore", "continuationtoken"})
ENVELOPE_KEYS = ("items", "data", "results", "records", "content", "entries", "rows", "list")
# Paths conventionally exempt from rate limiting (orchestrator probes and scrapers must never get a 429).
PROBE_SEGMENTS = frozenset({"livez", "readyz", "healthz", "health", "healthcheck", "ready", "live", "liveness",
                            "readiness", "ping", "metrics", "prometheus"})
PROBE_TAGS = frozenset({"health", "healthcheck", "observability", "monitoring", "metrics", "probes"})
MAX_EXAMPLES_CHECKED = 2000  # example validations per document (each is a jsonschema run)


@dataclass
class RuleResult:
    rule_id: str
    passed: bool
    message: str = ""       # why it failed (empty when passed)
    evidence: str = ""


@dataclass
class Completeness:
    document: list[RuleResult] = field(default_factory=list)
    operations: dict[str, list[RuleResult]] = field(default_factory=dict)   # endpoint -> applicable rules
    rate_limited: bool = False

    @property
    def percent(self) -> float:
        results = self.document + [r for rs in self.operations.values() for r in rs]
        if not results:
            return 100.0
        return round(100.0 * sum(r.passed for r in results) / len(results), 1)

    def table(self) -> list[dict[str, Any]]:
        """One row per operation, worst first: the per-operation table of the report."""
        from checks.openapi.rules import COMPLETENESS_RULES

        scoped = [r.id for r in COMPLETENESS_RULES if r.scope == "operation"]
        rows = []
        for endpoint, results in self.operations.items():
            failed = [r.rule_id for r in results if not r.passed]
            judged = {r.rule_id for r in results}
            rows.append({"endpoint": endpoint, "applicable": len(results), "passed": len(results) - len(failed),
                         "failed": failed, "not_applicable": [rule for rule in scoped if rule not in judged]})
        rows.sort(key=lambda row: (-len(row["failed"]), row["passed"] / max(row["applicable"], 1), row["endpoint"]))
        return rows


def judge(document: dict[str, Any], ops: list[Operation], config: OpenApiConfig,
          anonymous_by_design: frozenset[str] = frozenset()) -> Completeness:
    """``anonymous_by_design``: secured operations the service answers anonymously on purpose (optional
    authentication, public reads: authmodes.py), for which a missing 401 (OAS027) is not a gap."""
    refs = list(_refs(document))
    result = Completeness()
    result.rate_limited = config.rate_limited if config.rate_limited is not None else any(
        "429" in op.responses for op in ops)
    result.document = [_info(document), _servers(document), _unresolved(document, refs),
                       _unused_components(document, refs), _unused_schemes(document, ops)]
    operation_ids = Counter(op.operation_id for op in ops if op.operation_id)
    tags = document.get("tags") if isinstance(document.get("tags"), list) else []
    global_tags = {t["name"] for t in tags if isinstance(t, dict) and isinstance(t.get("name"), str)}
    schemes = _security_schemes(document)
    validator = _ExampleValidator(document)
    for op in ops:
        limited = result.rate_limited and not _exempt(op, config)
        results = [
            _present("OAS020", op.summary, "has no summary"),
            _present("OAS021", op.description, "has no description"),
            _present("OAS022", op.operation_id, "has no operationId"),
        ]
        if op.operation_id:
            results.append(RuleResult("OAS023", operation_ids[op.operation_id] == 1,
                                      f"operationId {op.operation_id!r} is used by "
                                      f"{operation_ids[op.operation_id]} operations"))
        results.append(_tags(op, global_tags))
        results.append(RuleResult("OAS025", any(_is_class(s, "2") for s in op.responses),
                                  f"documents no 2xx response (documented: {_statuses(op)})"))
        if op.parameters or op.request_body or op.secured or limited:
            results.append(RuleResult("OAS026", any(_is_class(s, "4") for s in op.responses),
                                      f"takes input{', needs credentials' if op.secured else ''} but documents "
                                      f"no 4xx response (documented: {_statuses(op)})"))
        if op.secured and op.endpoint not in anonymous_by_design:
            results.append(RuleResult("OAS027", "401" in op.responses or "4XX" in op.responses,
                                      f"requires credentials but documents no 401 (documented: {_statuses(op)})"))
        if limited:
            results.append(RuleResult("OAS028", "429" in op.responses or "4XX" in op.responses,
                                      f"is rate limited but documents no 429 (documented: {_statuses(op)})"))
        results.append(_content_schemas(op))
        if op.parameters:
            results.append(_parameters_described(op))
            results.append(_parameters_bounded(op))
        examples = validator.judge(op)
        if examples is not None:
            results.append(examples)
        if op.security:
            results.append(_schemes_defined(op, schemes))
        if _is_list_operation(op):
            results.append(_pagination(op))
        if limited:
            results.append(_rate_limit_headers(op))
        result.operations[op.endpoint] = results
    return result


# --- document-wide ---------------------------------------------------------------------------------
def _info(document: dict[str, Any]) -> RuleResult:
    info = document.get("info") if isinstance(document.get("info"), dict) else {}
    missing = [name for name, ok in (("description", bool(info.get("description"))),
                                     ("contact", isinstance(info.get("contact"), dict) and bool(info["contact"])),
                                     ("license", isinstance(info.get("license"), dict)
                                      and bool(info["license"].get("name")))) if not ok]
    return RuleResult("OAS010", not missing, f"info has no {', '.join(missing)}" if missing else "")


def _servers(document: dict[str, Any]) -> RuleResult:
    if is_swagger2(document):
        ok = bool(document.get("basePath") or document.get("host"))
        return RuleResult("OAS011", ok, "" if ok else "neither host nor basePath is declared")
    servers = document.get("servers")
    ok = isinstance(servers, list) and any(isinstance(s, dict) and s.get("url") for s in servers)
    return RuleResult("OAS011", ok, "" if ok else "servers is missing or empty")


def _refs(node: Any) -> Iterator[str]:
    stack = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, dict):
            ref = current.get("$ref")
            if isinstance(ref, str):
                yield ref
            external = current.get(EXTERNAL_REF_NOTE)
            if isinstance(external, str):
                yield external
            stack.extend(current.values())
        elif isinstance(current, list):
            stack.extend(current)


def _lookup(document: dict[str, Any], ref: str) -> bool:
    if not ref.startswith("#"):
        return False
    node: Any = document
    for token in ref[1:].lstrip("/").split("/") if ref != "#" else []:
        token = token.replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict) and token in node:
            node = node[token]
        elif isinstance(node, list) and token.isdigit() and int(token) < len(node):
            node = node[int(token)]
        else:
            return False
    return True


def _unresolved(document: dict[str, Any], refs: list[str]) -> RuleResult:
    bad = sorted({ref for ref in refs if not _lookup(document, ref)})
    external = [ref for ref in bad if not ref.startswith("#")]
    message = ""
    if bad:
        message = f"{len(bad)} $ref{'s' if len(bad) != 1 else ''} do not resolve: {', '.join(bad[:5])}"
        if external:
            message += " (external references are not followed by the auditor: bundle the document)"
    return RuleResult("OAS012", not bad, message)


_COMPONENT_KINDS = ("schemas", "responses", "parameters", "examples", "requestBodies", "headers", "links",
                    "callbacks", "pathItems")
_SWAGGER2_KINDS = {"definitions": "#/definitions/", "parameters": "#/parameters/", "responses": "#/responses/"}


def _unused_components(document: dict[str, Any], refs: list[str]) -> RuleResult:
    used = set(refs)
    # A component used only by another unused component still counts as used: simple and never wrong
    # about a used one, which matters more than catching every dead chain.
    declared: list[str] = []
    if is_swagger2(document):
        for kind, prefix in _SWAGGER2_KINDS.items():
            for name in document.get(kind) or {}:
                declared.append(prefix + _escape(name))
    else:
        components = document.get("components") if isinstance(document.get("components"), dict) else {}
        for kind in _COMPONENT_KINDS:
            for name in components.get(kind) or {} if isinstance(components.get(kind), dict) else {}:
                declared.append(f"#/components/{kind}/{_escape(name)}")
    unused = [ref for ref in declared if ref not in used]
    return RuleResult("OAS013", not unused,
                      f"{len(unused)} unused: {', '.join(r.split('/', 2)[-1] for r in unused[:8])}"
                      f"{' …' if len(unused) > 8 else ''}" if unused else "")


def _escape(name: str) -> str:
    return str(name).replace("~", "~0").replace("/", "~1")


def _security_schemes(document: dict[str, Any]) -> set[str]:
    if is_swagger2(document):
        found = document.get("securityDefinitions")
    else:
        components = document.get("components") if isinstance(document.get("components"), dict) else {}
        found = components.get("securitySchemes")
    return set(found) if isinstance(found, dict) else set()


def _unused_schemes(document: dict[str, Any], ops: list[Operation]) -> RuleResult:
    applied = {name for op in ops for requirement in op.security for name in requirement}
    for requirement in document.get("security") or []:
        if isinstance(requirement, dict):
            applied.update(requirement)
    unused = sorted(_security_schemes(document) - applied)
    return RuleResult("OAS014", not unused, f"security scheme{'s' if len(unused) != 1 else ''} "
                      f"{', '.join(unused)} applied to no operation" if unused else "")


# --- per operation ---------------------------------------------------------------------------------
def _present(rule_id: str, value: str | None, message: str) -> RuleResult:
    return RuleResult(rule_id, bool(value and value.strip()), message)


def _statuses(op: Operation) -> str:
    return ", ".join(sorted(op.responses)) or "none"


def _is_class(status: str, digit: str) -> bool:
    return status.startswith(digit) and (status[1:].isdigit() or status[1:].upper() == "XX")


def _tags(op: Operation, global_tags: set[Any]) -> RuleResult:
    if not op.tags:
        return RuleResult("OAS024", False, "has no tag")
    undefined = [t for t in op.tags if t not in global_tags]
    return RuleResult("OAS024", not undefined, f"tag{'s' if len(undefined) != 1 else ''} "
                      f"{', '.join(undefined)} not declared in the top-level tags" if undefined else "")


def _content_schemas(op: Operation) -> RuleResult:
    missing = []
    for status, response in op.responses.items():
        if status in BODYLESS_STATUSES or status.startswith(("1", "3")) or op.method == "HEAD":
            continue
        if "schema" in response:  # Swagger 2.0: the schema sits on the response
            continue
        content = response.get("content")
        if not isinstance(content, dict) or not content:
            missing.append(f"{status} has no content")
            continue
        bare = [media for media, body in content.items() if not (isinstance(body, dict) and "schema" in body)]
        empty = [media for media, body in content.items()
                 if isinstance(body, dict) and "schema" in body and not body["schema"]]
        if bare:
            missing.append(f"{status} {', '.join(bare)} has no schema")
        if empty:
            missing.append(f"{status} {', '.join(empty)} has an empty schema ({{}}: any value, it describes nothing)")
    return RuleResult("OAS029", not missing, "; ".join(missing))


def _parameters_described(op: Operation) -> RuleResult:
    missing = []
    for p in op.parameters:
        lacks = [word for word, ok in (("schema", bool(p.schema)), ("description", bool(p.description))) if not ok]
        if lacks:
            missing.append(f"{p.name} ({p.location}): no {' or '.join(lacks)}")
    return RuleResult("OAS030", not missing, "; ".join(missing))


def bounded(schema: Any, depth: int = 0) -> bool:
    """True when the schema caps the size of the values it accepts."""
    if not isinstance(schema, dict) or depth > 8:
        return False
    if "enum" in schema or "const" in schema:
        return True
    for key in ("anyOf", "oneOf"):
        options = schema.get(key)
        if isinstance(options, list) and options:
            return all(o.get("type") == "null" or bounded(o, depth + 1) for o in options if isinstance(o, dict))
    if isinstance(schema.get("allOf"), list):
        return any(bounded(part, depth + 1) for part in schema["allOf"])
    kind = schema.get("type")
    kinds = [k for k in (kind if isinstance(kind, list) else [kind]) if k != "null"]
    if not kinds or kinds == [None]:
        return False
    for k in kinds:
        if k == "boolean":
            continue
        if k == "string" and not ("maxLength" in schema or schema.get("format") in BOUNDED_FORMATS):
            return False
        if k in ("integer", "number") and not ("maximum" in schema or "exclusiveMaximum" in schema):
            return False
        if k == "array" and not ("maxItems" in schema and bounded(schema.get("items"), depth + 1)):
            return False
        if k == "object":
            return False  # a structured query parameter: rare, and not boundable by one keyword
    return True


def _parameters_bounded(op: Operation) -> RuleResult:
    loose = [f"{p.name} ({p.location})" for p in op.parameters if p.schema and not bounded(p.schema)]
    return RuleResult("OAS031", not loose, f"unbounded: {', '.join(loose)}" if loose else "")


def _schemes_defined(op: Operation, schemes: set[str]) -> RuleResult:
    undefined = sorted({name for requirement in op.security for name in requirement if name not in schemes})
    return RuleResult("OAS033", not undefined, f"security names undefined scheme{'s' if len(undefined) != 1 else ''}"
                      f" {', '.join(undefined)}" if undefined else "")


def _json_schema(container: dict[str, Any]) -> Any:
    if "schema" in container:
        return container["schema"]
    content = container.get("content")
    if isinstance(content, dict):
        for media, body in content.items():
            if "json" in media and isinstance(body, dict):
                return body.get("schema")
    return None


def _success_schema(op: Operation) -> Any:
    for status in sorted(op.responses):
        if _is_class(status, "2"):
            schema = _json_schema(op.responses[status])
            if schema is not None:
                return schema
    return None


def _is_list_operation(op: Operation) -> bool:
    if op.method != "GET":
        return False
    schema = _success_schema(op)
    if not isinstance(schema, dict):
        return False
    if schema.get("type") == "array" or (isinstance(schema.get("type"), list) and "array" in schema["type"]):
        return True
    # An envelope ({"items": [...], "total": ...}) on a collection path; a single resource whose body
    # happens to hold an array (an order's "items" at /orders/{id}) is not a list.
    properties = schema.get("properties")
    if isinstance(properties, dict) and not op.path.rstrip("/").endswith("}"):
        return any(isinstance(properties.get(key), dict) and properties[key].get("type") == "array"
                   for key in ENVELOPE_KEYS)
    return False


def _norm(name: str) -> str:
    return re.sub(r"[-_\s]", "", name.lower())


def _pagination(op: Operation) -> RuleResult:
    query = op.params_in("query")
    sizes = [p for p in query if _norm(p.name) in PAGE_SIZE_NAMES or _norm(p.name).endswith("pagesize")]
    capped = [p for p in sizes if _capped(p)]
    if capped:
        return RuleResult("OAS034", True)
    if sizes:
        return RuleResult("OAS034", False, f"page-size parameter {sizes[0].name} has no maximum")
    positions = [p.name for p in query if _norm(p.name) in PAGE_POSITION_NAMES]
    return RuleResult("OAS034", False, "returns a list but has no page-size parameter with a maximum"
                      + (f" (only {', '.join(positions)})" if positions else ""))


def _capped(param: Parameter) -> bool:
    schema = param.schema
    return isinstance(schema, dict) and ("maximum" in schema or "exclusiveMaximum" in schema or "enum" in schema)


def _header_names(response: dict[str, Any]) -> set[str]:
    headers = response.get("headers")
    return {str(name).lower() for name in headers} if isinstance(headers, dict) else set()


def _rate_limit_headers(op: Operation) -> RuleResult:
    problems = []
    success = [s for s in op.responses if _is_class(s, "2")]
    for status in success:
        names = _header_names(op.responses[status])
        if not any(n.startswith(("x-ratelimit", "ratelimit", "x-rate-limit")) for n in names):
            problems.append(f"{status} documents no rate-limit header")
    if "429" in op.responses:
        names = _header_names(op.responses["429"])
        if "retry-after" not in names and not any(n.startswith(("x-ratelimit", "ratelimit")) for n in names):
            problems.append("429 documents no Retry-After")
    return RuleResult("OAS035", not problems, "; ".join(problems))


def _exempt(op: Operation, config: OpenApiConfig) -> bool:
    if op.endpoint in config.rate_limit_exempt or op.path in config.rate_limit_exempt:
        return True
    last = op.path.rstrip("/").rsplit("/", 1)[-1].lower()
    return last in PROBE_SEGMENTS or any(t.lower() in PROBE_TAGS for t in op.tags)


# --- examples --------------------------------------------------------------------------------------
class _ExampleValidator:
    """Validates documented examples against their own schemas with openapi-schema-validator (the
    OpenAPI dialects of JSON Schema: 3.0's nullable, 3.1's full 2020-12), formats included."""

    def __init__(self, document: dict[str, Any]) -> None:
        from openapi_schema_validator import (OAS30Validator, OAS31Validator, oas30_format_checker,
                                              oas31_format_checker)

        is31 = str(document.get("openapi", "")).startswith("3.1")
        self._cls = OAS31Validator if is31 else OAS30Validator
        self._formats = oas31_format_checker if is31 else oas30_format_checker
        self._budget = MAX_EXAMPLES_CHECKED

    def judge(self, op: Operation) -> RuleResult | None:
        pairs = list(self._pairs(op))
        if not pairs:
            return None
        bad = []
        for where, schema, example in pairs:
            if self._budget <= 0:
                break
            self._budget -= 1
            problem = self._check(schema, example)
            if problem:
                bad.append(f"{where}: {problem}")
        return RuleResult("OAS032", not bad, "; ".join(bad[:3]) + (f" (+{len(bad) - 3} more)" if len(bad) > 3 else ""))

    def _check(self, schema: Any, example: Any) -> str | None:
        if not isinstance(schema, dict):
            return None
        schema = {k: v for k, v in schema.items() if k not in ("example", "examples")}
        try:
            error = next(iter(self._cls(schema, format_checker=self._formats).iter_errors(example)), None)
        except Exception:  # noqa: BLE001 — an unresolvable $ref inside: OAS012 reports it, not this rule
            return None
        if error is None:
            return None
        at = "/".join(str(p) for p in error.absolute_path)
        return f"{error.message[:150]}{f' (at {at})' if at else ''}"

    def _pairs(self, op: Operation) -> Iterator[tuple[str, Any, Any]]:
        for param in op.parameters:
            if param.has_example:
                yield f"parameter {param.name}", param.schema, param.example
            yield from _schema_examples(f"parameter {param.name}", param.schema)
        containers: list[tuple[str, Any]] = []
        if isinstance(op.request_body, dict):
            containers.append(("request body", op.request_body))
        containers += [(f"response {status}", response) for status, response in op.responses.items()]
        for where, container in containers:
            content = container.get("content") if isinstance(container, dict) else None
            if not isinstance(content, dict):
                continue
            for media, body in content.items():
                if not isinstance(body, dict):
                    continue
                schema = body.get("schema")
                if "example" in body:
                    yield f"{where} {media} example", schema, body["example"]
                examples = body.get("examples")
                if isinstance(examples, dict):
                    for name, example in examples.items():
                        if isinstance(example, dict) and "value" in example:
                            yield f"{where} {media} example {name}", schema, example["value"]
                yield from _schema_examples(f"{where} {media}", schema)


def _schema_examples(where: str, schema: Any, depth: int = 0, path: str = "") -> Iterator[tuple[str, Any, Any]]:
    """Examples written on a schema or on its properties/items (bounded depth: resolved schemas nest)."""
    if not isinstance(schema, dict) or depth > 6:
        return
    label = f"{where} schema{(' ' + path) if path else ''}"
    if "example" in schema:
        yield label, schema, schema["example"]
    if isinstance(schema.get("examples"), list):
        for example in schema["examples"][:5]:
            yield label, schema, example
    properties = schema.get("properties")
    if isinstance(properties, dict):
        for name, sub in properties.items():
            yield from _schema_examples(where, sub, depth + 1, f"{path}.{name}" if path else str(name))
    if isinstance(schema.get("items"), dict):
        yield from _schema_examples(where, schema["items"], depth + 1, f"{path}[]")
