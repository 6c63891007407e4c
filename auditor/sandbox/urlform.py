"""The URL form the repo uses for its database, so a scratch database is handed over the way its
settings expect: ``postgresql+asyncpg://`` for an asyncpg app, ``postgres://`` for dj-database-url,
``mysql+pymysql://`` ... A settings class that validates the scheme would refuse any other.

Evidence, strongest first: the scheme of the variable the user exported (its value is never used), the
schemes written in the repo's env templates and config files (and in the compose files and env templates
up to its git root), then the ORM or driver it depends on (Tortoise takes postgres://, not SQLAlchemy's
postgresql+asyncpg://).
"""

from __future__ import annotations

import os
import re
from collections import Counter
from collections.abc import Mapping
from pathlib import Path

from auditor.repo_scope import RepoScope
from auditor.repofiles import VENDORED_DIRS

_SCHEME = re.compile(r"\b((?:postgres(?:ql)?|mysql|mariadb)(?:\+[a-z0-9_]+)?)://", re.I)
_TEXT_SUFFIXES = (".py", ".ini", ".cfg", ".toml", ".env", ".yml", ".yaml", ".json", ".example", ".sample",
                  ".template", ".txt", ".conf")
MAX_FILES = 3000
MAX_BYTES = 256 * 1024
# Driver packages in the repo's dependency files -> the SQLAlchemy scheme they imply.
_DRIVERS = {"postgresql": (("asyncpg", "postgresql+asyncpg"), ("psycopg2", "postgresql"),
                           ("psycopg", "postgresql+psycopg")),
            "mysql": (("aiomysql", "mysql+aiomysql"), ("asyncmy", "mysql+asyncmy"), ("pymysql", "mysql+pymysql"),
                      ("mysqlclient", "mysql+mysqldb"), ("mysql-connector", "mysql+mysqlconnector"))}
# ORMs whose URLs are not SQLAlchemy's: Tortoise takes postgres:// (asyncpg underneath) and mysql://.
_ORMS = {"postgresql": (("tortoise-orm", "postgres"), ("peewee", "postgresql")), "mysql": (("tortoise-orm", "mysql"),)}
# Files above --repo (up to the git root) that show how the service is configured.
_ABOVE = ("docker-compose.yml", "docker-compose.yaml", "compose.yml", "compose.yaml", ".env.example", ".env.sample",
          "docker-compose.dev.yml", "docker-compose.override.yml", "alembic.ini", "settings.py")
_DEPENDENCY_FILES = ("requirements.txt", "requirements-dev.txt", "requirements/base.txt", "pyproject.toml",
                     "setup.cfg", "setup.py", "Pipfile")


def _engine(scheme: str) -> str:
    base = scheme.split("+", 1)[0].lower()
    return "postgresql" if base.startswith("postgres") else "mysql"


def detect_scheme(repo: Path | None, engine: str, environ: Mapping[str, str]) -> tuple[str, str]:
    """(scheme, why) for a database of ``engine`` ("postgresql" | "mysql")."""
    for name in ("DATABASE_URL", "SQLALCHEMY_DATABASE_URI", "DB_URL"):
        match = _SCHEME.match(environ.get(name, "").strip())
        if match and _engine(match.group(1)) == engine:
            return match.group(1).lower(), f"the scheme of the exported {name}"
    if repo is not None:
        scope = RepoScope.of(repo)
        schemes = _schemes_in(repo) + [s for path in scope.find_above(_ABOVE) for s in _schemes_of(path)]
        counts = Counter(s.lower() for s in schemes if _engine(s) == engine)
        if counts:
            # A driver-qualified form is what the app itself uses (alembic.ini often has the plain one).
            with_driver = [s for s, _ in counts.most_common() if "+" in s]
            chosen = with_driver[0] if with_driver else counts.most_common(1)[0][0]
            return chosen, "the form written in the repo's config"
        text = _dependency_text(repo)
        for package, scheme in _ORMS.get(engine, ()):   # an ORM with its own URL dialect wins over its driver
            if re.search(rf"(?<![\w-]){re.escape(package)}(?![\w-])", text, re.I):
                return scheme, f"the repo depends on {package}"
        for package, scheme in _DRIVERS[engine]:
            if re.search(rf"(?<![\w-]){re.escape(package)}(?![\w-])", text, re.I):
                return scheme, f"the repo depends on {package}"
    return ("postgresql" if engine == "postgresql" else "mysql+pymysql"), "the default form"


def _schemes_in(repo: Path) -> list[str]:
    found: list[str] = []
    seen = 0
    for root, dirs, files in os.walk(repo):
        dirs[:] = sorted(d for d in dirs if d not in VENDORED_DIRS and not d.endswith(".egg-info")
                         and d not in ("node_modules", "dist", "build"))
        for name in sorted(files):
            if not (name.startswith(".env") or name.endswith(_TEXT_SUFFIXES)):
                continue
            seen += 1
            if seen > MAX_FILES:
                return found
            found += _schemes_of(Path(root) / name)
    return found


def _schemes_of(path: Path) -> list[str]:
    try:
        if path.is_symlink() or not path.is_file() or path.stat().st_size > MAX_BYTES:
            return []
        return _SCHEME.findall(path.read_text(encoding="utf-8", errors="replace"))
    except OSError:
        return []


def _dependency_text(repo: Path) -> str:
    parts = []
    for name in _DEPENDENCY_FILES:
        path = repo / name
        try:
            if path.is_file() and path.stat().st_size <= MAX_BYTES:
                parts.append(path.read_text(encoding="utf-8", errors="replace"))
        except OSError:
            continue
    return "\n".join(parts)
