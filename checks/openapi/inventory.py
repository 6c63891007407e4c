"""The endpoint inventory (report section 1) and its diff against --baseline: created, modified and
removed operations, and the breaking changes among them (OAS5xx). Pure functions over operations.

A baseline is either an older OpenAPI document (full diff: parameters, request and response schemas)
or a previous report.json, whose openapi metrics carry per operation its documented statuses, its
required parameters and a signature hash — enough for created/modified/removed, removed operations and
statuses and new required parameters, not for schema-level changes (the report says which kind it was).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from auditor.artifacts import MAX_NODES, SpecError, count_nodes, parse_spec
from auditor.interface import CheckError
from auditor.operations import Operation, operations

from checks.openapi.spec import strip_external_refs

MAX_BASELINE_BYTES = 50 * 1024 * 1024
MAX_SCHEMA_DEPTH = 8


def endpoint_row(op: Operation) -> dict[str, Any]:
    """One entry of metrics.endpoints: the contract's keys first, then what a later diff needs."""
    return {
        "method": op.method,
        "path": op.path,
        "operation_id": op.operation_id,
        "secured": op.secured,
        "summary": op.summary,
        "statuses": sorted(op.responses),
        "deprecated": op.deprecated,
        "required_params": sorted(f"{p.location}:{p.name}" for p in op.parameters if p.required),
        "signature": signature(op),
    }


def signature(op: Operation) -> str:
    """A hash of what the operation promises (parameters, bodies, responses, security), not of its prose."""
    shape = {"parameters": sorted(([p.name, p.location, p.required, p.schema] for p in op.parameters), key=str),
             "request_body": op.request_body, "responses": op.responses, "security": op.security}
    text = json.dumps(_strip_prose(shape), sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


_PROSE = frozenset({"description", "summary", "title", "example", "examples", "externalDocs"})


def _strip_prose(node: Any, depth: int = 0) -> Any:
    if depth > 40:
        return None
    if isinstance(node, dict):
        # keys as strings: YAML allows int keys, and sort_keys cannot order 200 against "default"
        return {str(k): _strip_prose(v, depth + 1) for k, v in node.items() if k not in _PROSE}
    if isinstance(node, list):
        return [_strip_prose(v, depth + 1) for v in node]
    return node


@dataclass
class Baseline:
    kind: str                                   # "spec" or "report"
    source: str
    rows: dict[str, dict[str, Any]]             # endpoint -> endpoint_row
    ops: dict[str, Operation] = field(default_factory=dict)  # only for a spec baseline


def load_baseline(path: Path | str) -> Baseline:
    """Read --baseline: a report.json (with openapi metrics) or an OpenAPI document. CheckError otherwise."""
    path = Path(path)
    try:
        if path.stat().st_size > MAX_BASELINE_BYTES:
            raise CheckError(f"--baseline {path}: larger than {MAX_BASELINE_BYTES // (1024 * 1024)} MB")
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CheckError(f"--baseline {path}: cannot read it ({getattr(exc, 'strerror', None) or exc})") from None
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    if isinstance(data, dict) and "schema_version" in data and isinstance(data.get("checks"), list):
        check = next((c for c in data["checks"] if isinstance(c, dict) and c.get("id") == "openapi"), None)
        endpoints = (check or {}).get("metrics", {}).get("endpoints") if isinstance(check, dict) else None
        if not isinstance(endpoints, list):
            raise CheckError(f"--baseline {path}: the report has no openapi endpoint inventory "
                             "(the openapi check did not run in it)")
        rows = {}
        for row in endpoints:
            if isinstance(row, dict) and isinstance(row.get("method"), str) and isinstance(row.get("path"), str):
                rows[f"{row['method'].upper()} {row['path']}"] = row
        return Baseline("report", str(path), rows)
    try:
        document = parse_spec(text, str(path))
    except SpecError as exc:
        raise CheckError(f"--baseline: {exc} (expected a report.json or an OpenAPI document)") from None
    if count_nodes(document) > MAX_NODES:
        raise CheckError(f"--baseline {path}: document too large (more than {MAX_NODES:,} nodes)")
    document, _external = strip_external_refs(document)
    ops = {op.endpoint: op for op in operations(document)}
    return Baseline("spec", str(path), {e: endpoint_row(op) for e, op in ops.items()}, ops)


@dataclass
class Change:
    rule_id: str
    endpoint: str
    message: str
    key: str = ""           # discriminator for the fingerprint (the field or parameter concerned)
    success_status: bool = True


@dataclass
class Diff:
    created: list[dict[str, Any]]
    removed: list[dict[str, Any]]
    modified: list[dict[str, Any]]
    breaking: list[Change]

    def metrics(self, baseline: Baseline) -> dict[str, Any]:
        return {"baseline": baseline.source, "baseline_kind": baseline.kind, "created": self.created,
                "modified": self.modified, "removed": self.removed, "breaking_changes": len(self.breaking)}


def _brief(row: dict[str, Any]) -> dict[str, Any]:
    return {"method": row.get("method"), "path": row.get("path"), "operation_id": row.get("operation_id")}


def diff(baseline: Baseline, current: list[Operation]) -> Diff:
    now = {op.endpoint: op for op in current}
    created = [_brief(endpoint_row(now[e])) for e in now if e not in baseline.rows]
    removed = [_brief(baseline.rows[e]) for e in baseline.rows if e not in now]
    breaking = [Change("OAS501", e, f"{e} was in the baseline and is gone") for e in baseline.rows if e not in now]
    modified = []
    for endpoint, op in now.items():
        old_row = baseline.rows.get(endpoint)
        if old_row is None:
            continue
        changes: list[Change] = []
        old_op = baseline.ops.get(endpoint)
        if old_op is not None:
            changes = operation_changes(old_op, op)
        else:
            changes = _row_changes(old_row, endpoint_row(op))
        breaking += changes
        row = endpoint_row(op)
        # A report baseline written without signatures can still show changed statuses or parameters.
        old_signature = old_row.get("signature")
        shape_changed = old_signature != row["signature"] if old_signature else any(
            old_row.get(key) != row[key] for key in ("statuses", "required_params", "secured") if key in old_row)
        if shape_changed or changes:
            modified.append({**_brief(row), "changes": _what_changed(old_row, row, old_op, op),
                             "breaking": len(changes)})
    return Diff(created, removed, modified, breaking)


def _what_changed(old_row: dict[str, Any], new_row: dict[str, Any], old_op: Operation | None,
                  new_op: Operation) -> list[str]:
    parts = []
    if old_row.get("statuses") != new_row["statuses"]:
        parts.append("responses")
    if old_row.get("required_params") != new_row["required_params"]:
        parts.append("required parameters")
    if old_row.get("secured") != new_row["secured"]:
        parts.append("security")
    if old_op is not None:
        if _strip_prose([(p.name, p.location, p.schema) for p in old_op.parameters]) != _strip_prose(
                [(p.name, p.location, p.schema) for p in new_op.parameters]):
            parts.append("parameters")
        if _strip_prose(old_op.request_body) != _strip_prose(new_op.request_body):
            parts.append("request body")
        if _strip_prose(old_op.responses) != _strip_prose(new_op.responses) and "responses" not in parts:
            parts.append("responses")
    return parts or ["schema details"]


def _row_changes(old: dict[str, Any], new: dict[str, Any]) -> list[Change]:
    endpoint = f"{new['method']} {new['path']}"
    changes = []
    for status in old.get("statuses") or []:
        if status not in new["statuses"]:
            changes.append(Change("OAS507", endpoint, f"{endpoint} no longer documents {status}", status,
                                  success_status=str(status).startswith("2")))
    old_required = set(old.get("required_params") or [])
    for param in new["required_params"]:
        if param not in old_required:
            changes.append(Change("OAS502", endpoint, f"{endpoint} now requires parameter {param}", param))
    return changes


def operation_changes(old: Operation, new: Operation) -> list[Change]:
    """Breaking changes between two versions of one operation (both from documents)."""
    endpoint = new.endpoint
    changes: list[Change] = []
    old_params = {(p.location, p.name): p for p in old.parameters}
    for param in new.parameters:
        previous = old_params.get((param.location, param.name))
        label = f"{param.location} parameter {param.name}"
        if param.required and (previous is None or not previous.required):
            changes.append(Change("OAS502", endpoint, f"{endpoint} now requires {label}", label))
        if previous is not None:
            changes += _narrowed(endpoint, label, previous.schema, param.schema, request=True)
    # request body
    old_body, new_body = _body_schema(old.request_body), _body_schema(new.request_body)
    if isinstance(new.request_body, dict) and new.request_body.get("required") and not (
            isinstance(old.request_body, dict) and old.request_body.get("required")):
        changes.append(Change("OAS503", endpoint, f"{endpoint} now requires a request body", "body"))
    if isinstance(new_body, dict) and isinstance(old_body, dict):
        changes += _request_fields(endpoint, old_body, new_body, "body")
    # responses
    for status, response in old.responses.items():
        if status not in new.responses:
            changes.append(Change("OAS507", endpoint, f"{endpoint} no longer documents {status}", status,
                                  success_status=status.startswith("2")))
            continue
        if status.startswith("2"):
            changes += _response_fields(endpoint, status, _body_schema(response), _body_schema(new.responses[status]),
                                        "")
    return changes


def _body_schema(container: Any) -> Any:
    if not isinstance(container, dict):
        return None
    if "schema" in container:
        return container["schema"]
    content = container.get("content")
    if isinstance(content, dict):
        for media, body in content.items():
            if isinstance(body, dict) and ("json" in media or len(content) == 1):
                return body.get("schema")
    return None


def _types(schema: Any) -> set[str] | None:
    if not isinstance(schema, dict):
        return None
    kind = schema.get("type")
    kinds = {k for k in (kind if isinstance(kind, list) else [kind]) if isinstance(k, str)}
    if not kinds:
        return None  # untyped (or nonsense, which the validator reports): anything
    if schema.get("nullable") is True:
        kinds.add("null")
    if "number" in kinds:
        kinds.add("integer")  # a number accepts integers
    return kinds


def _narrowed(endpoint: str, label: str, old: Any, new: Any, *, request: bool) -> list[Change]:
    """Input side: a type or enum value the old schema accepted that the new one refuses."""
    changes: list[Change] = []
    if not (isinstance(old, dict) and isinstance(new, dict)):
        return changes
    old_types, new_types = _types(old), _types(new)
    if new_types is not None and (old_types is None or not old_types <= new_types):
        lost = sorted((old_types or {"any"}) - new_types)
        changes.append(Change("OAS505", endpoint, f"{endpoint}: {label} no longer accepts {', '.join(lost)} "
                              f"(type {_fmt(old.get('type'))} → {_fmt(new.get('type'))})", label))
    old_enum, new_enum = old.get("enum"), new.get("enum")
    if isinstance(new_enum, list):
        dropped = [v for v in old_enum if v not in new_enum] if isinstance(old_enum, list) else ["(any value)"]
        if dropped:
            changes.append(Change("OAS506", endpoint, f"{endpoint}: {label} no longer accepts "
                                  f"{', '.join(map(_fmt, dropped[:5]))}", f"{label} enum"))
    for key, tighter in (("maximum", lambda o, n: n < o), ("maxLength", lambda o, n: n < o),
                         ("maxItems", lambda o, n: n < o), ("minimum", lambda o, n: n > o),
                         ("minLength", lambda o, n: n > o)):
        o, n = old.get(key), new.get(key)
        if _num(n) and (o is None and key.startswith("max") or _num(o) and tighter(o, n)):
            changes.append(Change("OAS505", endpoint, f"{endpoint}: {label} {key} narrowed from "
                                  f"{_fmt(o) if o is not None else 'unbounded'} to {_fmt(n)}", f"{label} {key}"))
    return changes


def _num(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _fmt(value: Any) -> str:
    return json.dumps(value, default=str) if not isinstance(value, str) else repr(value)


def _request_fields(endpoint: str, old: dict[str, Any] | None, new: dict[str, Any], path: str,
                    depth: int = 0) -> list[Change]:
    if depth > MAX_SCHEMA_DEPTH:
        return []
    changes: list[Change] = []
    old_required = set(old.get("required") or []) if old else set()
    old_props = old.get("properties") if old and isinstance(old.get("properties"), dict) else {}
    new_props = new.get("properties") if isinstance(new.get("properties"), dict) else {}
    for name in new.get("required") or []:
        if isinstance(name, str) and name not in old_required:
            changes.append(Change("OAS503", endpoint, f"{endpoint}: request field {path}.{name} is now required",
                                  f"{path}.{name}"))
    if old is not None:
        changes += _narrowed(endpoint, f"request field {path}", old, new, request=True) if depth else []
    for name, sub in new_props.items():
        if isinstance(sub, dict) and isinstance(old_props.get(name), dict):
            sub_changes = _request_fields(endpoint, old_props[name], sub, f"{path}.{name}", depth + 1)
            changes += sub_changes
    return changes


def _response_fields(endpoint: str, status: str, old: Any, new: Any, path: str, depth: int = 0) -> list[Change]:
    """Output side: a field clients read that is gone, or whose type changed."""
    if depth > MAX_SCHEMA_DEPTH or not (isinstance(old, dict) and isinstance(new, dict)):
        return []
    changes: list[Change] = []
    label = f"response {status} field {path or '(body)'}"
    old_types, new_types = _types(old), _types(new)
    if old_types is not None and new_types is not None and not new_types <= old_types:
        changes.append(Change("OAS505", endpoint, f"{endpoint}: {label} changed type "
                              f"{_fmt(old.get('type'))} → {_fmt(new.get('type'))}", label))
    old_props = old.get("properties") if isinstance(old.get("properties"), dict) else {}
    new_props = new.get("properties") if isinstance(new.get("properties"), dict) else {}
    for name, sub in old_props.items():
        child = f"{path}.{name}" if path else name
        if name not in new_props:
            changes.append(Change("OAS504", endpoint, f"{endpoint}: response {status} field {child} was removed",
                                  f"{status} {child}"))
        else:
            changes += _response_fields(endpoint, status, sub, new_props[name], child, depth + 1)
    if isinstance(old.get("items"), dict) and isinstance(new.get("items"), dict):
        changes += _response_fields(endpoint, status, old["items"], new["items"], f"{path}[]", depth + 1)
    return changes
