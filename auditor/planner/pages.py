"""Page-size parameters: which query parameter sets how many items a list answers, and the largest size
the document allows for it (profiles and load use the largest, the representative worst case)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from auditor.operations import Operation, Parameter

# Query parameters that set how many items a list answers, as APIs commonly name them.
PAGE_SIZE_NAMES = ("limit", "page_size", "pagesize", "per_page", "perpage", "size", "page[size]", "count",
                   "take", "first", "top", "max_results", "maxresults", "$top", "n")
MAX_PAGE_SIZE = 500   # even when the document allows more: a planned request stays a single page


@dataclass(frozen=True)
class PageParameter:
    parameter: Parameter
    minimum: int            # the smallest size allowed (1 when not documented)
    maximum: int | None     # the largest size allowed; None when the document sets no bound


def page_parameter(operation: Operation) -> PageParameter | None:
    """The operation's integer page-size query parameter and its documented bounds, or None."""
    by_name = {p.name.lower(): p for p in operation.parameters if p.location == "query"}
    param = next((by_name[n] for n in PAGE_SIZE_NAMES if n in by_name), None)
    if param is None:
        return None
    schema = param.schema or {}
    types = schema.get("type")
    types = types if isinstance(types, list) else [types]
    if not ({"integer", "number"} & set(types)):
        return None
    low = bound(schema, "minimum", "exclusiveMinimum", +1)
    high = bound(schema, "maximum", "exclusiveMaximum", -1)
    return PageParameter(param, low if low is not None else 1, high)


def largest(page: PageParameter) -> int | None:
    """The page size a representative request uses: the documented maximum, capped; None without one."""
    if page.maximum is None or page.maximum < max(1, page.minimum):
        return None
    return min(page.maximum, MAX_PAGE_SIZE)


def bound(schema: dict[str, Any], inclusive: str, exclusive: str, step: int) -> int | None:
    value = schema.get(inclusive)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return int(value) + (step if schema.get(exclusive) is True else 0)   # OAS 3.0's boolean form
    value = schema.get(exclusive)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return int(value) + step
    return None
