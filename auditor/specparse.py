"""Reading an OpenAPI document from text: JSON or YAML, refused when it does not look like OpenAPI or
is too big to walk. Shared by spec discovery (auditor.discovery), --spec files and the openapi check's
baseline reader."""

from __future__ import annotations

import json
from typing import Any

import yaml

# A YAML alias bomb loads as a small graph that expands exponentially on every walk; a 20 MB JSON
# document has about a million nodes. Past this many nodes (or this depth: every walker recurses) the
# document is refused before any check walks it.
MAX_NODES = 3_000_000
MAX_DEPTH = 200


class SpecError(Exception):
    """The spec could not be read, found or parsed (one-line message)."""


# libyaml's loader where PyYAML was built with it: several times faster on large documents.
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def parse_spec(text: str, source: str) -> dict[str, Any]:
    """JSON or YAML into a dict that at least looks like OpenAPI/Swagger and is small enough to walk."""
    try:
        document = json.loads(text)
    except RecursionError:
        raise SpecError(f"spec {source} nests too deeply to parse") from None
    except ValueError:
        try:
            document = yaml.load(text, Loader=_YAML_LOADER)
        except RecursionError:
            raise SpecError(f"spec {source} nests too deeply to parse") from None
        except yaml.YAMLError as exc:
            raise SpecError(f"spec {source} is neither JSON nor YAML: {str(exc).splitlines()[0]}") from exc
    if not isinstance(document, dict) or not ({"openapi", "swagger"} & document.keys()):
        raise SpecError(f"spec {source} is not an OpenAPI or Swagger document")
    if count_nodes(document) > MAX_NODES:
        raise SpecError(f"spec {source} expands to more than {MAX_NODES:,} nodes or nests deeper than "
                        f"{MAX_DEPTH} levels (huge document or YAML alias bomb); refusing to analyse it")
    return document


def count_nodes(document: Any, limit: int = MAX_NODES) -> int:
    """Nodes of the document as every walker sees it (aliases counted each time), stopping past
    ``limit``; a document nested deeper than MAX_DEPTH counts as over the limit."""
    count = 0
    stack: list[tuple[Any, int]] = [(document, 0)]
    while stack:
        node, depth = stack.pop()
        count += 1
        if count > limit or depth > MAX_DEPTH:
            return limit + 1
        if isinstance(node, dict):
            stack.extend((value, depth + 1) for value in node.values())
        elif isinstance(node, list):
            stack.extend((value, depth + 1) for value in node)
    return count
