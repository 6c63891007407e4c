"""SQLAlchemy's engine log (``echo=True`` or the ``sqlalchemy.engine`` logger at INFO): the SQL on one or
more lines, then a line with the parameters ("[generated in 0.0001s] (5,)", "[cached since 2s ago]
{'id_1': 5}"; SQLAlchemy 1.3 prints the bare tuple/dict)."""

from __future__ import annotations

import re

from checks.nplusone.formats.base import LogFormat
from checks.nplusone.model import Statement

_LINE = re.compile(r"\bsqlalchemy\.engine(?:\.base)?(?:\.Engine|\.Connection)?(?:\s*:\s*|\s+)(?P<msg>.*)$")
_PARAMS = re.compile(r"^\[(?:generated in|cached since|raw sql|no key|dialect|insertmanyvalues)[^\]]*\]\s*(?P<p>.*)$")
# echo="debug" also logs result columns and rows: not statements.
_RESULT_ROW = re.compile(r"^(?:Row|Col) [(\[{]")
# A line that starts a new log record of any kind ends a multi-line statement.
_NEW_RECORD = re.compile(r"^(?:\{|\d{4}-\d\d-\d\d|\[?\d\d:\d\d|(?:DEBUG|INFO|WARNING|ERROR|CRITICAL)\b)")


class SqlAlchemyEcho(LogFormat):
    name = "sqlalchemy"
    description = "SQLAlchemy engine echo lines"

    def __init__(self) -> None:
        super().__init__()
        self._pending: list[str] | None = None   # SQL lines of a statement awaiting its parameters

    @classmethod
    def recognises(cls, line: str) -> bool:
        return _LINE.search(line) is not None

    def feed(self, line: str) -> list[Statement]:
        match = _LINE.search(line)
        if match is None:
            if self._pending is not None and line.strip() and not _NEW_RECORD.match(line):
                self._pending.append(line.rstrip("\n"))   # the SQL continues on this line
                return []
            return self.flush() if self._pending is not None and line.strip() else []
        message = match.group("msg").rstrip()
        params = _PARAMS.match(message)
        if params is not None or (self._pending is not None and message[:1] in "({" and message[-1:] in ")}"):
            if self._pending is None:
                self.unparsed += 1   # parameters without a statement
                return []
            sql = "\n".join(self._pending)
            self._pending = None
            value = params.group("p") if params else message
            return [Statement(sql=sql, parameters="" if value in ("()", "{}") else value, source=self.name)]
        done = self.flush()
        if message and not _RESULT_ROW.match(message):
            self._pending = [message]
        return done

    def flush(self) -> list[Statement]:
        if self._pending is None:
            return []
        sql = "\n".join(self._pending)
        self._pending = None
        return [Statement(sql=sql, source=self.name)]
