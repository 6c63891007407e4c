"""The scaling proof, which only an auditor that sends its own requests can get: request a list at two
page sizes and see whether a repeated statement grows with the items returned (an N+1 does; a fixed
number of lookups does not)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from auditor.operations import ENVELOPE_KEYS, Operation, Parameter

from checks.nplusone.analysis import fingerprints_of
from checks.nplusone.model import ProfiledRequest

# Query parameters that set how many items a list answers, as APIs commonly name them.
PAGE_SIZE_NAMES = ("limit", "page_size", "pagesize", "per_page", "perpage", "size", "page[size]", "count",
                   "take", "first", "top", "max_results", "maxresults", "$top", "n")


@dataclass(frozen=True)
class PageSize:
    name: str
    small: int
    large: int


def page_size_parameter(operation: Operation, small: int, large: int) -> PageSize | None:
    """The operation's page-size query parameter and the two sizes to request, within its bounds; None when
    it has none or its bounds leave no room for two clearly different sizes."""
    by_name = {p.name.lower(): p for p in operation.parameters if p.location == "query"}
    param: Parameter | None = next((by_name[n] for n in PAGE_SIZE_NAMES if n in by_name), None)
    if param is None:
        return None
    schema = param.schema or {}
    types = schema.get("type")
    types = types if isinstance(types, list) else [types]
    if not ({"integer", "number"} & set(types)):
        return None
    low = _bound(schema, "minimum", "exclusiveMinimum", 1, +1)
    high = _bound(schema, "maximum", "exclusiveMaximum", None, -1)
    small = max(small, low)
    large = large if high is None else min(large, high)
    if large < small * 2:
        return None
    return PageSize(param.name, small, large)


def _bound(schema: dict[str, Any], inclusive: str, exclusive: str, default: int | None, step: int) -> int | None:
    value = schema.get(inclusive)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return int(value)
    value = schema.get(exclusive)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return int(value) + step
    return default


def with_query(url_path: str, name: str, value: int) -> str:
    """The planned URL with one query parameter set (replaced if present)."""
    parts = urlsplit(url_path)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != name]
    query.append((name, str(value)))
    return urlunsplit(("", "", parts.path, urlencode(query), ""))


def count_items(body: str) -> int | None:
    """How many items a JSON list response holds: a top-level array, or the array in its envelope
    (items, data, results, ...); None when the response is not a list.

    Not auditor.operations._list_items, though both unwrap the same ENVELOPE_KEYS: that one collects the
    dict items a follow-up request can take ids from ([] for anything else), while the growth proof needs
    the count the response answered — every element of a top-level array, and None ("not a list", so no
    verdict) apart from 0 ("an empty page"), and no guess among several arrays of an object."""
    try:
        data = json.loads(body)
    except ValueError:
        return None
    if isinstance(data, list):
        return len(data)
    if isinstance(data, dict):
        for key in ENVELOPE_KEYS:
            if isinstance(data.get(key), list):
                return len(data[key])
        lists = [v for v in data.values() if isinstance(v, list) and v and all(isinstance(i, dict) for i in v)]
        if len(lists) == 1:
            return len(lists[0])
    return None


@dataclass
class Growth:
    small_items: int | None
    large_items: int | None
    small_count: int
    large_count: int
    verdict: str      # "grows", "constant", "unclear"

    def describe(self) -> str:
        if self.verdict == "unclear":
            return (f"page-size check inconclusive ({_items(self.small_items)} → {self.small_count} runs, "
                    f"{_items(self.large_items)} → {self.large_count} runs)")
        head = "grows with the page" if self.verdict == "grows" else "does not grow with the page"
        return (f"{head}: {_items(self.small_items)} → {self.small_count} runs, "
                f"{_items(self.large_items)} → {self.large_count} runs")


def _items(n: int | None) -> str:
    return "? items" if n is None else f"{n} item{'s' if n != 1 else ''}"


def growth(shape: str, small: ProfiledRequest, large: ProfiledRequest) -> Growth:
    """Whether the runs of ``shape`` follow the items returned. "grows": more items gave at least half as
    many more runs (one query per item, or per few items); "constant": more items, no more runs."""
    small_count = fingerprints_of(small.statements).count(shape)
    large_count = fingerprints_of(large.statements).count(shape)
    verdict = "unclear"
    if small.items is not None and large.items is not None and large.items > small.items:
        added = large.items - small.items
        if large_count - small_count >= max(1, added / 2):
            verdict = "grows"
        elif large_count <= small_count:
            verdict = "constant"
    return Growth(small.items, large.items, small_count, large_count, verdict)
