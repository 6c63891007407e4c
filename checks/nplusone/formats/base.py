"""The interface of a SQL log format: recognise a line, and turn a stream of lines into statements.

Parsers are stateful because statements span lines (SQLAlchemy's echo prints the SQL, then a parameters
line; PostgreSQL continues a statement on tab-indented lines and adds a DETAIL line with the values)."""

from __future__ import annotations

from abc import ABC, abstractmethod

from checks.nplusone.model import Statement


class LogFormat(ABC):
    name: str = ""
    description: str = ""

    def __init__(self) -> None:
        self.unparsed = 0   # lines that looked like this format but could not be read

    @classmethod
    @abstractmethod
    def recognises(cls, line: str) -> bool:
        """Whether this line is unmistakably of this format (used to detect a log's format)."""

    @abstractmethod
    def feed(self, line: str) -> list[Statement]:
        """Statements completed by this line (usually the previous one, or this one)."""

    def flush(self) -> list[Statement]:
        """The statement still pending at the end of the input."""
        return []
