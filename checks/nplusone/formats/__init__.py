"""SQL log formats, one module each, and the detection of a log's format from its lines."""

from __future__ import annotations

from collections.abc import Iterable

from checks.nplusone.formats.base import LogFormat
from checks.nplusone.formats.django_backends import DjangoBackends
from checks.nplusone.formats.json_lines import JsonLines
from checks.nplusone.formats.postgres_stderr import PostgresStderr
from checks.nplusone.formats.sqlalchemy_echo import SqlAlchemyEcho
from checks.nplusone.model import Statement

FORMATS: tuple[type[LogFormat], ...] = (JsonLines, SqlAlchemyEcho, DjangoBackends, PostgresStderr)


def detect(lines: Iterable[str], sample: int = 5000) -> type[LogFormat] | None:
    """The format most lines of the sample are unmistakably written in; None when no line is."""
    counts = {fmt: 0 for fmt in FORMATS}
    for n, line in enumerate(lines):
        if n >= sample:
            break
        for fmt in FORMATS:
            if fmt.recognises(line):
                counts[fmt] += 1
                break
    best = max(counts, key=lambda f: counts[f])
    return best if counts[best] else None


def parse(lines: Iterable[str], fmt: type[LogFormat]) -> tuple[list[Statement], int]:
    """Every statement in the lines, and how many lines looked like the format but could not be read."""
    parser = fmt()
    out: list[Statement] = []
    for line in lines:
        out.extend(parser.feed(line))
    out.extend(parser.flush())
    return out, parser.unparsed


__all__ = ["FORMATS", "LogFormat", "detect", "parse"]
