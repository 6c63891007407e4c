"""Traces first, another source where a request's trace holds no SQL.

A traced service whose database library no instrumentation covers (Tortoise, Peewee, raw asyncpg under
the auditor's shim; a library outside an OpenTelemetry instrumentor's range) sends server spans without a
single statement. Its SQL is then read from the next source the audit has — the live PostgreSQL or
MariaDB capture (--db-url), --sql-log, the --serve'd output — request by request: both sources bracket
every request, and a request is judged by the traces when its trace has statements, else by the other.
The report says how many requests each one judged.
"""

from __future__ import annotations

from collections import Counter

from checks.nplusone.sources.interface import Capture, SqlSource


class FallbackSource(SqlSource):
    def __init__(self, primary: SqlSource, secondary: SqlSource) -> None:
        super().__init__()
        self.primary, self.secondary = primary, secondary
        self.judged: Counter[str] = Counter()
        self.format_name = primary.format_name

    @property
    def name(self) -> str:  # type: ignore[override]
        used = [s.name for s in (self.primary, self.secondary) if self.judged[s.name]]
        return "+".join(used) or self.primary.name

    @property
    def description(self) -> str:
        if not self.judged[self.secondary.name]:
            return self.primary.description
        parts = [f"{self.judged[s.name]} request{'s' if self.judged[s.name] != 1 else ''} from {s.description}"
                 for s in (self.primary, self.secondary) if self.judged[s.name]]
        return "; ".join(parts) + " (the traces held no SQL for the others)"

    @property
    def detected(self) -> bool:
        return True

    @property
    def unparsed_lines(self) -> int:  # type: ignore[override]
        return self.secondary.unparsed_lines

    @unparsed_lines.setter
    def unparsed_lines(self, value: int) -> None:
        pass  # the parts count their own

    def open(self) -> None:
        self.primary.open()
        self.secondary.open()

    def close(self) -> None:
        try:
            self.primary.close()
        finally:
            self.secondary.close()

    def concurrent(self) -> SqlSource | None:
        fast = self.primary.concurrent()
        return _PrimaryAlone(self, fast) if fast is not None else None

    def request_headers(self, request_id: str) -> dict[str, str]:
        return {**self.secondary.request_headers(request_id), **self.primary.request_headers(request_id)}

    def begin(self, request_id: str) -> None:
        self.primary.begin(request_id)
        self.secondary.begin(request_id)

    def end(self, request_id: str) -> Capture:
        first = self.primary.end(request_id)
        second = self.secondary.end(request_id)   # always: its bracket must close
        chosen, source = (first, self.primary) if first.statements or not second.statements else (second, self.secondary)
        self.judged[source.name] += 1
        return chosen

    @property
    def problems(self) -> list[str]:  # type: ignore[override]
        # A trace without SQL is no problem when the other source had it.
        secondary_problems = self.secondary.problems if self.judged[self.secondary.name] else []
        primary = [p for p in self.primary.problems if not p.startswith("no server span")] \
            if self.judged[self.secondary.name] else self.primary.problems
        return primary + secondary_problems

    @problems.setter
    def problems(self, value: list[str]) -> None:
        pass


class _PrimaryAlone(SqlSource):
    """The traces alone, for requests sent concurrently (the other source brackets: it cannot attribute
    while other requests are outstanding). A request whose trace held no SQL is profiled again, alone,
    through the whole FallbackSource (the check does that, and drops its first attempt's problems)."""

    def __init__(self, whole: FallbackSource, primary: SqlSource) -> None:
        super().__init__()
        self.whole, self.primary = whole, primary
        self.name = primary.name
        self.format_name = primary.format_name

    @property
    def description(self) -> str:
        return self.primary.description

    def request_headers(self, request_id: str) -> dict[str, str]:
        return self.whole.request_headers(request_id)

    def begin(self, request_id: str) -> None:
        self.primary.begin(request_id)

    def end(self, request_id: str) -> Capture:
        capture = self.primary.end(request_id)
        if capture.statements:
            self.whole.judged[self.primary.name] += 1
        return capture

    @property
    def problems(self) -> list[str]:  # type: ignore[override]
        return self.primary.problems

    @problems.setter
    def problems(self, value: list[str]) -> None:
        pass  # the traces keep their own
