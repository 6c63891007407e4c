"""The scaling proof, which only an auditor that sends its own requests can get: request a list at two
page sizes and see whether a repeated statement grows with the items returned (an N+1 does; a fixed
number of lookups does not)."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from auditor.operations import Operation
from auditor.planner import count_items as planner_count
from auditor.planner import page_parameter
from auditor.planner.bodies import parse_json

from checks.nplusone.analysis import fingerprints_of
from checks.nplusone.model import ProfiledRequest

@dataclass(frozen=True)
class PageSize:
    name: str
    small: int
    large: int


def page_size_parameter(operation: Operation, small: int, large: int) -> PageSize | None:
    """The operation's page-size query parameter (auditor.planner finds it) and the two sizes to request,
    within its bounds; None when it has none or its bounds leave no room for two clearly different sizes."""
    page = page_parameter(operation)
    if page is None:
        return None
    small = max(small, page.minimum)
    large = large if page.maximum is None else min(large, page.maximum)
    if large < small * 2:
        return None
    return PageSize(page.parameter.name, small, large)


def with_query(url_path: str, name: str, value: int) -> str:
    """The planned URL with one query parameter set (replaced if present)."""
    parts = urlsplit(url_path)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != name]
    query.append((name, str(value)))
    return urlunsplit(("", "", parts.path, urlencode(query), ""))


def count_items(body: str) -> int | None:
    """How many items a JSON list response holds (auditor.planner's count: a top-level array, or the
    array in its envelope); None when the response is not a list, apart from 0, "an empty page"."""
    return planner_count(parse_json(body))


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
