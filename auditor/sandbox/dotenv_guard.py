"""The repo's own .env files, which the allow-list cannot withhold.

Settings libraries (pydantic-settings, python-dotenv, django-environ, decouple) read a ``.env`` next to the
code when a variable is not in the environment. The sandbox withholds the user's exported variables, so a
developer's local, gitignored ``.env`` — ``DATABASE__HOSTNAME=db.internal``, ``DATABASE_URL=postgres://...``
— would fill exactly the gap: the tests would reach the database it names. Every one of those libraries
lets the environment win over the file, so for each connection setting a .env file of the repo's scope
assigns (a URL with a host, a host name, a cloud credential), the child gets a value that reaches nothing:
a host under ``.invalid`` (RFC 6761: never resolves). The scratch database's exports and the check's own
``env`` still win over these.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from auditor.repo_scope import RepoScope
from auditor.repofiles import env_assignments, is_env_file
from auditor.sandbox.environment import NO_SERVER_DIR

NOWHERE_HOST = f"{NO_SERVER_DIR}.invalid"   # failure.no_server_hint recognises it in an error
WITHHELD_VALUE = "withheld-by-the-auditor"
MAX_ENV_BYTES = 256 * 1024
# Names that say the value is where a server lives.
_HOST_NAME = re.compile(r"(?:HOST|HOSTNAME|HOSTS|SERVER|ADDR|ADDRESS|ENDPOINT)$", re.IGNORECASE)
# Cloud credentials: with them a test reaches a real account, whatever host it names.
_CLOUD_CREDENTIAL = re.compile(r"^(?:AWS_(?:ACCESS_KEY_ID|SECRET_ACCESS_KEY|SESSION_TOKEN)|GOOGLE_APPLICATION_"
                               r"CREDENTIALS|AZURE_(?:CLIENT_SECRET|STORAGE_CONNECTION_STRING|STORAGE_KEY))$",
                               re.IGNORECASE)
_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")


@dataclass(frozen=True)
class Decoy:
    name: str
    file: str        # where it was assigned, relative to the scope's root
    value: str       # what the child gets instead (no secret: a host that does not exist)


def decoy_value(name: str, value: str) -> str | None:
    """What the child gets instead of ``value``, or None when the setting reaches nothing by itself
    (a port, a database name, a user: harmless without a host)."""
    value = value.strip()
    if not value:
        return None
    if _CLOUD_CREDENTIAL.match(name):
        return WITHHELD_VALUE
    if _URL.match(value):
        parts = urlsplit(value)
        if not parts.netloc:
            return None   # sqlite:///app.db, file:///...: a local file, not a server
        return f"{parts.scheme}://{NOWHERE_HOST}{parts.path}"
    if _HOST_NAME.search(name):
        return NOWHERE_HOST
    return None


def decoys(scope: RepoScope) -> list[Decoy]:
    """The decoys for the .env files in the repo and the directories above it up to the git root (the
    nearest file wins for a name, as a settings library reading the nearest .env would)."""
    found: dict[str, Decoy] = {}
    for directory in scope.dirs():
        try:
            files = sorted(p for p in directory.iterdir() if p.is_file() and is_env_file(p.name))
        except OSError:
            continue
        for path in files:
            for name, value in _assignments(path):
                replacement = decoy_value(name, value)
                if replacement is not None and name not in found:
                    found[name] = Decoy(name, _rel(path, scope.root), replacement)
    return sorted(found.values(), key=lambda d: d.name)


def _assignments(path: Path) -> list[tuple[str, str]]:
    try:
        if path.stat().st_size > MAX_ENV_BYTES:
            return []
        return env_assignments(path.read_text(encoding="utf-8", errors="replace"))
    except OSError:
        return []


def _rel(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return path.name
