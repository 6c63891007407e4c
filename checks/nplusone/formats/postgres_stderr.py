"""PostgreSQL server log, stderr format (log_destination = 'stderr'), any log_line_prefix.

With log_min_duration_statement = 0 every statement is logged when it ends:
  simple protocol:    ``<prefix>LOG:  duration: 0.120 ms  statement: SELECT ...``
  extended protocol:  ``parse <unnamed>: ...``, ``bind <unnamed>: ...``, ``execute <unnamed>: ...`` (or a
                      prepared statement's name, psycopg 3's ``_pg3_0``), each with its own duration, the
                      values on a following ``DETAIL:  parameters: $1 = '5'`` line.
Only ``statement:`` and ``execute`` lines are statements (parse and bind are steps of the same one).
A message continues on lines that start with a tab. log_statement = 'all' lines (``LOG:  statement: ...``,
no duration) are read too.

The prefix is searched for the fields the live capture puts there (session=, app=, db=) and for the
common ones: [pid] and user@database (Debian's default '%m [%p] %q%u@%d ')."""

from __future__ import annotations

import re

from checks.nplusone.formats.base import LogFormat
from checks.nplusone.model import Statement

_LINE = re.compile(r"^(?P<prefix>.*?)\b(?P<level>LOG|DETAIL|STATEMENT|ERROR|WARNING|NOTICE|HINT|CONTEXT|FATAL|"
                   r"PANIC|INFO|DEBUG\d?):  (?P<msg>.*)$")
_STATEMENT = re.compile(r"^(?:duration: (?P<ms>\d+(?:\.\d+)?) ms  )?(?P<kind>statement|execute|parse|bind)"
                        r"(?: (?P<name>[^:]*))?: ?(?P<sql>.*)$", re.DOTALL)
_PARAMETERS = re.compile(r"^parameters: (?P<p>.*)$", re.DOTALL)
_SESSION = re.compile(r"\bsession=(?P<v>\S+)")
_APP = re.compile(r"\bapp=(?P<v>.*?) db=")
_DB = re.compile(r"\bdb=(?P<v>\S*)")
_PID = re.compile(r"\[(?P<v>\d+)\]")
_USER_DB = re.compile(r"(?P<user>[\w.-]+)@(?P<db>[\w.-]+)\s*$")


class PostgresStderr(LogFormat):
    name = "postgres"
    description = "PostgreSQL server log lines (stderr, log_line_prefix)"

    def __init__(self) -> None:
        super().__init__()
        self._last: tuple[str, str, list[str]] | None = None   # (prefix, level, message lines)
        self._pending: Statement | None = None                   # last statement, may still get a DETAIL

    @classmethod
    def recognises(cls, line: str) -> bool:
        match = _LINE.match(line)
        return match is not None and (_STATEMENT.match(match.group("msg")) is not None
                                      or match.group("msg").startswith("parameters: "))

    def feed(self, line: str) -> list[Statement]:
        line = line.rstrip("\n")
        if line.startswith("\t") and self._last is not None:
            self._last[2].append(line[1:])
            return []
        match = _LINE.match(line)
        done = self._finish_last()
        if match is None:
            return done
        self._last = (match.group("prefix"), match.group("level"), [match.group("msg")])
        return done

    def flush(self) -> list[Statement]:
        done = self._finish_last()
        if self._pending is not None:
            done.append(self._pending)
            self._pending = None
        return done

    def _finish_last(self) -> list[Statement]:
        """Turn the message read so far into a statement (or a DETAIL for the pending one)."""
        if self._last is None:
            return []
        prefix, level, lines = self._last
        self._last = None
        message = "\n".join(lines)
        if level == "DETAIL":
            params = _PARAMETERS.match(message)
            if params and self._pending is not None and _same_session(self._pending, prefix):
                self._pending.parameters = params.group("p")
            return []
        if level != "LOG":
            return []
        match = _STATEMENT.match(message)
        # Any other LOG line ends the pending statement: a DETAIL after a bind line is the bind's.
        done = [self._pending] if self._pending is not None else []
        self._pending = None
        if match is None or match.group("kind") in ("parse", "bind"):
            return done
        ms = match.group("ms")
        self._pending = Statement(sql=match.group("sql"), duration_ms=float(ms) if ms else None,
                                  source=self.name, backslash_escapes=False, **_prefix_fields(prefix))
        return done


def _prefix_fields(prefix: str) -> dict[str, str]:
    fields = {"session": "", "application": "", "database": ""}
    if m := _SESSION.search(prefix):
        fields["session"] = m.group("v")
    elif m := _PID.search(prefix):
        fields["session"] = m.group("v")
    if m := _APP.search(prefix):
        fields["application"] = m.group("v")
    if m := _DB.search(prefix):
        fields["database"] = m.group("v")
    elif m := _USER_DB.search(prefix):
        fields["database"] = m.group("db")
    return fields


def _same_session(statement: Statement, prefix: str) -> bool:
    session = _prefix_fields(prefix)["session"]
    return not session or not statement.session or session == statement.session
