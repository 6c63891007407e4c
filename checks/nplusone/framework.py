"""Which data-access framework the service uses, so a finding's fix can be written in its terms: from the
log format (SQLAlchemy echo, Django's logger), the statements' style, or the repo's dependency files."""

from __future__ import annotations

import re
from pathlib import Path

from checks.nplusone.model import Statement

DEPENDENCY_FILES = ("pyproject.toml", "requirements.txt", "requirements.in", "setup.cfg", "setup.py", "Pipfile",
                    "poetry.lock")
MAX_BYTES = 512 * 1024
_DJANGO_SQL = re.compile(r'"\w+_\w+"\."\w+"')                 # "app_model"."field"
_SQLALCHEMY_SQL = re.compile(r"%\(\w+_\d+\)s|:\w+_\d+\b|\bAS anon_\d+|__\[POSTCOMPILE")


def detect(statements: list[Statement], repo: Path | None) -> str | None:
    for statement in statements[:200]:
        if statement.source in ("sqlalchemy", "django"):
            return statement.source
    names = _from_repo(repo) if repo else set()
    if len(names) == 1:
        return names.pop()
    for statement in statements[:200]:
        if _SQLALCHEMY_SQL.search(statement.sql):
            return "sqlalchemy"
        if _DJANGO_SQL.search(statement.sql):
            return "django"
    return None


def _from_repo(repo: Path) -> set[str]:
    found: set[str] = set()
    for name in DEPENDENCY_FILES:
        path = Path(repo) / name
        try:
            if not path.is_file():
                continue
            with path.open("rb") as handle:
                text = handle.read(MAX_BYTES).decode("utf-8", "replace").lower()
        except OSError:
            continue
        if re.search(r"(?m)^\s*[\"']?sqlalchemy\b|\bsqlalchemy\s*[=<>~!]", text) or "sqlmodel" in text:
            found.add("sqlalchemy")
        if re.search(r"(?m)^\s*[\"']?django\b|\bdjango\s*[=<>~!]", text):
            found.add("django")
    return found
