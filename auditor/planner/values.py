"""Candidate values for one parameter, where each came from, and whether the parameter's schema accepts
it (type, format, enum, pattern, length): a live value of the wrong shape is no better than a guess."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from auditor.operations import Parameter

_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_INTEGER = re.compile(r"^-?\d{1,30}$")
_NUMBER = re.compile(r"^-?\d{1,30}(\.\d{1,30})?$")
MAX_PATTERN_LENGTH = 500


@dataclass(frozen=True)
class Candidate:
    value: Any
    source: str          # "live: author.username of GET /api/articles", "example", "default", "enum"
    live: bool
    hint: int = 0        # how many children the parent item says it has (representative choice)


def _types(schema: dict[str, Any]) -> set[str]:
    kind = schema.get("type")
    types = set(kind) if isinstance(kind, list) else {kind} if isinstance(kind, str) else set()
    for key in ("anyOf", "oneOf", "allOf"):
        for part in schema.get(key) or []:
            if isinstance(part, dict):
                types |= _types(part)
    return types - {"null"}


def _first(schema: dict[str, Any], key: str) -> Any:
    if key in schema:
        return schema[key]
    for combined in ("allOf", "anyOf", "oneOf"):
        for part in schema.get(combined) or []:
            if isinstance(part, dict) and key in part:
                return part[key]
    return None


def compatible(value: Any, schema: dict[str, Any] | None) -> bool:
    """Whether ``value`` (as it would be written into the URL) fits the parameter's schema."""
    if isinstance(value, bool) or value is None or isinstance(value, (dict, list)):
        return False
    text = str(value)
    if not text or len(text) > 200:
        return False
    schema = schema if isinstance(schema, dict) else {}
    types = _types(schema)
    if types and "string" not in types:
        if "integer" in types and not _INTEGER.match(text):
            return False
        if "integer" not in types and "number" in types and not _NUMBER.match(text):
            return False
        if "boolean" in types and types <= {"boolean"} and text not in ("true", "false"):
            return False
    enum = _first(schema, "enum")
    if isinstance(enum, list) and enum and text not in {str(v) for v in enum}:
        return False
    fmt = _first(schema, "format")
    if fmt == "uuid" and not _UUID.match(text):
        return False
    if fmt == "date" and not _DATE.match(text):
        return False
    pattern = _first(schema, "pattern")
    if isinstance(pattern, str) and len(pattern) <= MAX_PATTERN_LENGTH:
        try:
            if not re.search(pattern, text):
                return False
        except re.error:
            pass   # a pattern Python cannot read says nothing about the value
    low, high = _first(schema, "minLength"), _first(schema, "maxLength")
    if isinstance(low, int) and len(text) < low:
        return False
    if isinstance(high, int) and len(text) > high:
        return False
    return True


def documented(param: Parameter) -> Candidate | None:
    """The spec's own value for the parameter: its example, else its default, else its first enum value."""
    schema = param.schema if isinstance(param.schema, dict) else {}
    if param.has_example and not isinstance(param.example, (dict, list)) and param.example is not None:
        return Candidate(param.example, "example", live=False)
    default = _first(schema, "default")
    if default is not None and not isinstance(default, (dict, list)):
        return Candidate(default, "default", live=False)
    enum = _first(schema, "enum")
    if isinstance(enum, list):
        first = next((v for v in enum if v is not None and not isinstance(v, (dict, list))), None)
        if first is not None:
            return Candidate(first, "enum", live=False)
    return None
