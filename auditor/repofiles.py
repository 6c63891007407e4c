"""Facts about the audited repository's files that several checks share: which trees are vendored (never
the project's own code), which files are environment files, and the keys such a file assigns."""

from __future__ import annotations

import re
from pathlib import PurePosixPath

# Trees that are never the project's own code.
VENDORED_DIRS = frozenset({".git", ".hg", ".svn", ".venv", "venv", ".tox", ".nox", "node_modules", "__pycache__",
                           "site-packages", ".mypy_cache", ".pytest_cache", ".ruff_cache", ".eggs", ".hypothesis"})
# Suffixes of committed environment-file templates (.env.example): documentation, not configuration.
ENV_TEMPLATES = (".example", ".sample", ".template", ".dist", ".defaults", ".tmpl", ".tpl")
ENV_LINE = re.compile(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_.]*)\s*=\s*(.*?)\s*$")


def is_env_file(rel: str) -> bool:
    """.env, .env.production.local, prod.env ... but not the templates (.env.example)."""
    name = PurePosixPath(rel).name.lower()
    if not (name == ".env" or name.startswith(".env.") or name.endswith(".env")):
        return False
    return not name.endswith(ENV_TEMPLATES)


def env_assignments(text: str) -> list[tuple[str, str]]:
    """(key, value) for every assignment of a .env file, in order; quotes and trailing comments removed."""
    out = []
    for line in text.splitlines():
        match = ENV_LINE.match(line)
        if match and not line.lstrip().startswith("#"):
            out.append((match.group(1), match.group(2).split(" #")[0].strip().strip("'\"")))
    return out


def env_keys(text: str) -> list[tuple[str, bool]]:
    """(key, has a non-empty value) for every assignment of a .env file, in order."""
    return [(key, bool(value)) for key, value in env_assignments(text)]
