"""Django's ``django.db.backends`` logger at DEBUG (settings.DEBUG = True): one line per query,
``(0.001) SELECT ...; args=(5,); alias=default`` (Django 4+; older versions have no alias), the time in
seconds. The SQL has the values interpolated; ``args`` carries them separately."""

from __future__ import annotations

import re

from checks.nplusone.formats.base import LogFormat
from checks.nplusone.model import Statement

_LINE = re.compile(r"\((?P<seconds>\d+\.\d+)\) (?P<sql>.+?); args=(?P<args>.*?)(?:; alias=(?P<alias>[\w-]+))?\s*$",
                   re.DOTALL)


class DjangoBackends(LogFormat):
    name = "django"
    description = "Django django.db.backends debug lines"

    @classmethod
    def recognises(cls, line: str) -> bool:
        return _LINE.search(line) is not None

    def feed(self, line: str) -> list[Statement]:
        match = _LINE.search(line)
        if match is None:
            if "args=" in line and "django.db.backends" in line:
                self.unparsed += 1
            return []
        args = match.group("args").strip()
        return [Statement(sql=match.group("sql"), parameters="" if args in ("()", "None", "[]") else args,
                          duration_ms=float(match.group("seconds")) * 1000, source=self.name)]
