"""Every live value the planner has seen, by the names it answers to and by the links it came in."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote

from auditor.planner.bodies import dotted, link_paths, scalar_fields
from auditor.planner.names import GENERIC, field_names, normal
from auditor.planner.values import Candidate

MAX_VALUES_PER_NAME = 50
MAX_LINKS = 2000


class ValueIndex:
    def __init__(self, base_url: str) -> None:
        self._base_url = base_url
        self._by_name: dict[str, list[Candidate]] = {}
        self._links: dict[str, str] = {}          # path on the service -> where it was seen

    def add(self, source: str, body: Any, headers: Mapping[str, str]) -> None:
        """Index one answered body (``source``: "GET /api/articles")."""
        for path, value in scalar_fields(body):
            where = f"live: {dotted(path)} of {source}"
            for name in field_names(path):
                bucket = self._by_name.setdefault(name, [])
                if len(bucket) < MAX_VALUES_PER_NAME and all(c.value != value for c in bucket):
                    bucket.append(Candidate(value, where, live=True))
        for link in link_paths(body, headers, self._base_url):
            if len(self._links) < MAX_LINKS:
                self._links.setdefault(link, f"live: link in {source}")

    def by_name(self, param: str) -> list[Candidate]:
        """Values of fields named like ``param`` anywhere (``username`` ← ``author.username``); none for
        generic names such as ``id``, which only the parameter's own parent list may answer."""
        key = normal(param)
        if not key or key in GENERIC:
            return []
        return list(self._by_name.get(key, []))

    def by_link(self, template: str, param: str) -> list[Candidate]:
        """Values of ``param`` in links that match ``template`` (a concrete prefix with ``{param}`` as its
        last segment, e.g. "/api/articles/{slug}"): a link to /api/articles/how-to gives "how-to"."""
        head, _, tail = template.partition("{" + param + "}")
        if "{" in head or "{" in tail.split("/", 1)[0]:
            return []
        pattern = re.compile("^" + re.escape(head) + r"([^/]{1,200})" + re.escape(tail) + "(?:/|$)")
        found: list[Candidate] = []
        for link, where in self._links.items():
            match = pattern.match(link)
            if match and "{" not in match.group(1):
                value = unquote(match.group(1))
                if all(c.value != value for c in found):
                    found.append(Candidate(value, where, live=True))
        return found
