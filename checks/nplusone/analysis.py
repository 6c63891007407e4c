"""What the statements of one request say: which shapes repeat, with different or with identical values,
and which groups of statements repeat together. Pure functions over ProfiledRequest records.

Thresholds follow the detectors people trust (see docs/checks/nplusone.md): the same shape with different
values >= 5 times is a potential N+1 (Sentry and Scout default to 5), 3-4 times is worth an info line
(django-silk flags at 3); the same shape with the same values twice is a duplicate; a group of 2-8
statements repeated >= 3 times in a row is Sentry's "MN+1"."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from checks.nplusone.fingerprint import cached_fingerprint, is_bookkeeping
from checks.nplusone.model import Statement

# A statement with placeholders but no logged values: we cannot tell its executions apart.
_PLACEHOLDER = re.compile(r"\$\d+|%s|%\(\w+\)s|\?|(?<![:\w]):[A-Za-z_]\w*")
# Keyset batching walks a table in pages: `WHERE id > ? ORDER BY id LIMIT ?`. Each run returns many
# rows, so repeating it is batching, not one query per item. Offset walks (LIMIT ? OFFSET ?) likewise.
_RANGE = re.compile(r"(?i)[\w.\"`]+ ?>=? ?\?|\?<=? ?[\w.\"`]+")
_LIMIT = re.compile(r"(?i)\b(?:LIMIT ?\?|FETCH (?:FIRST|NEXT)\b|TOP ?\(?\?)")
_ORDER = re.compile(r"(?i)\bORDER BY\b")
_OFFSET = re.compile(r"(?i)\bOFFSET ?\?")


@dataclass
class Repeat:
    """One statement shape that ran more than once in a request."""

    fingerprint: str
    count: int                        # executions
    distinct: int | None              # distinct values (None: values not logged)
    total_ms: float | None            # summed duration of the executions (None: durations not logged)
    example: Statement
    positions: list[int] = field(default_factory=list)   # indexes in the request's statement list
    batching: bool = False            # keyset / offset walk: not an N+1

    @property
    def duplicates(self) -> int:
        """Executions that repeated an earlier one with the same values."""
        return 0 if self.distinct is None else self.count - self.distinct


@dataclass
class Group:
    """A run of 2-8 statements (by shape) repeated back to back (MN+1)."""

    fingerprints: tuple[str, ...]
    repeats: int
    start: int
    total_ms: float | None
    examples: list[Statement]


def fingerprints_of(statements: list[Statement]) -> list[str]:
    return [cached_fingerprint(s.sql, s.backslash_escapes) for s in statements]


def data_statements(statements: list[Statement]) -> list[Statement]:
    """The statements that read or write data (transaction bookkeeping and SET/SHOW left out)."""
    return [s for s in statements if not is_bookkeeping(s.sql)]


def is_batching(fingerprint: str) -> bool:
    if not _LIMIT.search(fingerprint):
        return False
    return bool(_ORDER.search(fingerprint) and _RANGE.search(fingerprint)) or bool(_OFFSET.search(fingerprint))


def repeats(statements: list[Statement]) -> list[Repeat]:
    """Every shape that ran at least twice, most executions first."""
    by_shape: dict[str, Repeat] = {}
    identities: dict[str, set[str] | None] = {}
    for index, (statement, shape) in enumerate(zip(statements, fingerprints_of(statements), strict=True)):
        found = by_shape.get(shape)
        if found is None:
            found = by_shape[shape] = Repeat(fingerprint=shape, count=0, distinct=None, total_ms=0.0,
                                             example=statement, batching=is_batching(shape))
            identities[shape] = set()
        found.count += 1
        found.positions.append(index)
        if statement.duration_ms is None or found.total_ms is None:
            found.total_ms = None
        else:
            found.total_ms += statement.duration_ms
        seen = identities[shape]
        if seen is not None:
            if statement.parameters or not _PLACEHOLDER.search(statement.sql):
                seen.add(statement.identity)
            else:
                identities[shape] = None   # values unknown: distinct cannot be counted
    out = []
    for shape, found in by_shape.items():
        if found.count < 2:
            continue
        seen = identities[shape]
        found.distinct = len(seen) if seen is not None else None
        out.append(found)
    return sorted(out, key=lambda r: (-r.count, r.positions[0]))


def repeating_group(statements: list[Statement], *, min_repeats: int = 3, min_size: int = 2,
                    max_size: int = 8, limit: int = 5000) -> Group | None:
    """The longest stretch where a block of 2-8 statements (at least two different shapes) repeats back
    to back at least ``min_repeats`` times; None when there is none. Bounded: the first ``limit``
    statements only."""
    shapes = fingerprints_of(statements[:limit])
    best: tuple[int, int, int] | None = None   # (covered statements, size, start)
    best_repeats = 0
    n = len(shapes)
    for size in range(min_size, max_size + 1):
        start = 0
        while start + size * min_repeats <= n:
            block = shapes[start:start + size]
            if len(set(block)) < 2:
                start += 1
                continue
            count = 1
            while shapes[start + count * size:start + (count + 1) * size] == block:
                count += 1
            if count >= min_repeats and (best is None or count * size > best[0]):
                best, best_repeats = (count * size, size, start), count
            start += max(1, (count - 1) * size) if count >= min_repeats else 1
    if best is None:
        return None
    covered, size, start = best
    block_statements = statements[start:start + covered]
    durations = [s.duration_ms for s in block_statements]
    total = None if any(d is None for d in durations) else sum(d for d in durations if d is not None)
    return Group(fingerprints=tuple(shapes[start:start + size]), repeats=best_repeats, start=start,
                 total_ms=total, examples=statements[start:start + size])
