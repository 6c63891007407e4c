"""The interface of a SQL source: where the statements a request caused can be read from.

The check sends one request at a time; around each it calls ``begin(request_id)`` and ``end(request_id)``,
and gets the statements the source saw in between (bracketing), narrowed to the request's own statements
when the source can see the request id the auditor sent in X-Request-ID (exact correlation). A source
whose attribution needs no bracketing (traces) offers ``concurrent()``: the check then sends several
requests at a time through it."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field

from checks.nplusone.model import Statement, StatementStats


class SourceUnavailable(Exception):
    """This source cannot be used here (nothing to read, no privilege); the message says why, in one line."""


@dataclass
class Capture:
    statements: list[Statement]
    exact: bool                       # narrowed by the request id the auditor sent
    problems: list[str] = field(default_factory=list)
    stats: list[StatementStats] = field(default_factory=list)   # pg_stat_statements deltas, where loaded


class SqlSource(ABC):
    name: str = ""

    def __init__(self) -> None:
        self.problems: list[str] = []   # things that made the capture incomplete (NPQ010)
        self.unparsed_lines = 0
        self.format_name: str | None = None

    @property
    @abstractmethod
    def description(self) -> str:
        """One sentence for the report: what is read and how."""

    @property
    def detected(self) -> bool:
        """Whether SQL was recognised at all (a log whose format was never detected holds no SQL we can read)."""
        return True

    def open(self) -> None:
        """Start capturing (may change server settings; close() restores them)."""

    def close(self) -> None:
        """Stop capturing and restore whatever open() changed. Idempotent; also called on error and stop."""

    def request_headers(self, request_id: str) -> dict[str, str]:
        """Headers the request must carry for this source to attribute its statements (a trace source:
        ``traceparent``); none by default."""
        return {}

    def concurrent(self) -> SqlSource | None:
        """The source to profile requests with while others are outstanding: one whose attribution stays
        exact whatever else runs at the same time (a request's own trace), or None (bracketing, a shared log:
        one request at a time)."""
        return None

    @abstractmethod
    def begin(self, request_id: str) -> None:
        """Called just before the request is sent."""

    @abstractmethod
    def end(self, request_id: str) -> Capture:
        """Called once the response is in: the statements of the request."""

    def __enter__(self) -> SqlSource:
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
