"""What a JSON response holds for the planner: its list items, how many there are, every scalar field
with the path it sits at (``items[].owner.id``), and the links to the service it names."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import urlsplit

# Keys that usually hold the items of a list response envelope, most common first.
ENVELOPE_KEYS = ("items", "data", "results", "records", "content", "entries", "rows")
# A hostile or huge body must not make the walk expensive: past these it stops.
MAX_WALK_NODES = 20_000
MAX_WALK_DEPTH = 8
MAX_VALUE_LENGTH = 200      # longer strings are text, not identifiers
MAX_LINK_LENGTH = 300
_LINK_HEADER = re.compile(r"<([^>]{1,300})>")


def parse_json(text: str) -> Any:
    """The body as JSON, or None when it is not JSON."""
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        return None


def list_items(body: Any) -> list[dict[str, Any]]:
    """The dict items of a list response: a top-level array or the array in its envelope."""
    if isinstance(body, dict):
        for key in ENVELOPE_KEYS:
            if isinstance(body.get(key), list):
                body = body[key]
                break
        else:
            body = next((v for v in body.values() if isinstance(v, list)), [])
    return [item for item in body if isinstance(item, dict)] if isinstance(body, list) else []


def count_items(body: Any) -> int | None:
    """How many items a list response holds (every element of a top-level array, or of the array in its
    envelope); None when the response is not a list — apart from 0, "an empty page"."""
    if isinstance(body, list):
        return len(body)
    if isinstance(body, dict):
        for key in ENVELOPE_KEYS:
            if isinstance(body.get(key), list):
                return len(body[key])
        lists = [v for v in body.values() if isinstance(v, list) and v and all(isinstance(i, dict) for i in v)]
        if len(lists) == 1:
            return len(lists[0])
    return None


def scalar_fields(body: Any) -> Iterator[tuple[tuple[str, ...], Any]]:
    """(key path, value) of every identifier-like scalar: strings up to MAX_VALUE_LENGTH and integers.
    List levels appear as "[]" in the path: ("items", "[]", "owner", "id")."""
    stack: list[tuple[Any, tuple[str, ...], int]] = [(body, (), 0)]
    seen = 0
    while stack and seen < MAX_WALK_NODES:
        node, path, depth = stack.pop(0)
        seen += 1
        if isinstance(node, Mapping):
            if depth < MAX_WALK_DEPTH:
                stack.extend((value, (*path, str(key)), depth + 1) for key, value in node.items())
        elif isinstance(node, list):
            if depth < MAX_WALK_DEPTH:
                stack.extend((value, (*path, "[]"), depth + 1) for value in node)
        elif isinstance(node, bool) or node is None or isinstance(node, float):
            continue
        elif isinstance(node, int) or (isinstance(node, str) and 0 < len(node) <= MAX_VALUE_LENGTH):
            if path and path[-1] != "[]":
                yield path, node


def dotted(path: tuple[str, ...]) -> str:
    """("items", "[]", "owner", "id") → "items[].owner.id"."""
    text = ""
    for key in path:
        text += "[]" if key == "[]" else (f".{key}" if text else key)
    return text


def link_paths(body: Any, headers: Mapping[str, str], base_url: str) -> set[str]:
    """Paths on the service that the response links to: Location, Content-Location and Link headers, and
    string fields holding a path ("/articles/how-to") or a URL on the service."""
    found: set[str] = set()
    raw = [headers.get("location", ""), headers.get("content-location", "")]
    raw += _LINK_HEADER.findall(headers.get("link", ""))
    raw += [value for _, value in scalar_fields(body) if isinstance(value, str)]
    origin = urlsplit(base_url)
    for value in raw:
        if not value or len(value) > MAX_LINK_LENGTH or any(c.isspace() for c in value):
            continue
        if value.startswith(("http://", "https://")):
            parts = urlsplit(value)
            if (parts.scheme, parts.netloc) != (origin.scheme, origin.netloc):
                continue
            value = parts.path or "/"
        elif not value.startswith("/") or value.startswith("//"):
            continue
        found.add(value.split("?")[0].split("#")[0])
    return found
