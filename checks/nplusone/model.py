"""The records the check gathers and judges: statements captured from a SQL source, and the profile of one
request (what was sent, what came back, which statements ran for it)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Statement:
    sql: str
    parameters: str = ""            # the bound values as logged (text), "" when none or unknown
    duration_ms: float | None = None
    request_id: str | None = None   # from the log line, when the service logs one
    session: str = ""               # PostgreSQL: session id / pid; "" when unknown
    application: str = ""           # PostgreSQL: application_name
    database: str = ""              # PostgreSQL: database name
    source: str = ""                # which parser read it ("json", "sqlalchemy", "django", "postgres")
    # Whether '\\'' escapes a quote in '...': False for PostgreSQL server logs (standard_conforming_strings),
    # None (decide per statement) where the dialect is not known.
    backslash_escapes: bool | None = None

    @property
    def identity(self) -> str:
        """Text and values: two statements with the same identity did the same work twice."""
        return f"{self.sql}\x00{self.parameters}"


@dataclass
class StatementStats:
    """pg_stat_statements' view of one normalised statement during one request (before/after delta)."""

    query: str
    calls: int
    rows: int


@dataclass
class ProfiledRequest:
    """One GET sent by the auditor and the statements attributed to it."""

    endpoint: str                   # "GET /books" (the spec's template)
    path: str                       # the concrete path sent, "/books?limit=20"
    request_id: str
    status: int | None = None
    items: int | None = None        # how many items the response listed (None: not a list)
    statements: list[Statement] = field(default_factory=list)
    exact: bool = False             # attributed by request id (True) or by bracketing (False)
    page_size: int | None = None    # the page-size value sent, when the operation takes one
    role: str = "main"              # "main", or "small"/"large" for the two page sizes of the scaling proof
    error: str | None = None        # no response: why
    stats: list[StatementStats] = field(default_factory=list)   # pg_stat_statements deltas, where loaded

    def describe(self) -> str:
        """One evidence line: what was sent, what came back, how many statements ran."""
        if self.status is None:
            return f"GET {self.path} → no response ({self.error})"
        items = f", {self.items} items" if self.items is not None else ""
        return f"GET {self.path} → {self.status}{items}, {len(self.statements)} statements"

    def row(self) -> dict[str, Any]:
        return {"endpoint": self.endpoint, "path": self.path, "status": self.status, "items": self.items,
                "queries": len(self.statements), "role": self.role}
