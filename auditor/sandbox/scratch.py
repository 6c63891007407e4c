"""Scratch databases created for one audit and dropped after it, whatever happens.

The sandbox that creates one drops it when it is done; the audit-wide registry drops whatever is left
when the audit ends (a check that crashed, timed out or was interrupted before it could), so no run
leaves a database behind unless the process itself is killed.
"""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass

from auditor.sandbox.scratchdb.interface import ScratchError, ScratchServer

PREFIX = "audit_scratch_"


@dataclass
class ScratchDatabase:
    server: ScratchServer
    name: str
    scheme: str                 # the URL form handed to the repo's code
    scheme_reason: str
    create_s: float = 0.0
    drop_s: float | None = None
    dropped: list[str] | None = None
    existing: set[str] | None = None          # the server's databases when this one was created
    left_behind: list[str] | None = None      # databases the run created besides its family (not dropped)

    @property
    def url(self) -> str:
        return self.server.address.url(self.scheme, self.name)

    def describe(self) -> dict[str, object]:
        """For the report: engine, server, name and timings; never the password."""
        return {"engine": self.server.engine, "server": self.server.where, "name": self.name,
                "url_form": f"{self.scheme}:// ({self.scheme_reason})", "create_s": round(self.create_s, 3),
                "drop_s": round(self.drop_s, 3) if self.drop_s is not None else None,
                "dropped": self.dropped, "left_behind": self.left_behind}


class ScratchRegistry:
    """The audit's live scratch databases (thread-safe: checks run in worker threads)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._live: dict[str, ScratchDatabase] = {}

    def create(self, server: ScratchServer, scheme: str, reason: str) -> ScratchDatabase:
        name = PREFIX + secrets.token_hex(6)
        began = time.monotonic()
        with self._lock:
            existing = _databases(server)
            server.create(name)
            database = ScratchDatabase(server, name, scheme, reason, create_s=time.monotonic() - began,
                                       existing=existing)
            self._live[name] = database
        return database

    def drop(self, database: ScratchDatabase) -> None:
        with self._lock:
            if self._live.pop(database.name, None) is None:
                return
            began = time.monotonic()
            try:
                now = _databases(database.server)
                database.dropped = database.server.drop_family(database.name)
            finally:
                database.drop_s = time.monotonic() - began
            if database.existing is not None and now is not None:
                # What the repo's code made on the server besides its scratch database (a conftest that
                # creates test_db_gw0 itself). Reported, never dropped: the auditor drops only what it made,
                # and another client may have created one meanwhile. Other audits' scratch names excepted.
                database.left_behind = sorted(n for n in now - database.existing
                                              if PREFIX not in n and n not in (database.dropped or []))

    def close(self) -> list[str]:
        """Drop every database still live; the problems, one line each (never raises)."""
        problems = []
        for database in list(self._live.values()):
            try:
                self.drop(database)
            except ScratchError as exc:
                problems.append(str(exc))
        return problems

    @property
    def live(self) -> list[str]:
        with self._lock:
            return sorted(self._live)


def _databases(server: ScratchServer) -> set[str] | None:
    """The server's database names, or None when they cannot be listed (then nothing is reported)."""
    try:
        return server.databases()
    except ScratchError:
        return None
