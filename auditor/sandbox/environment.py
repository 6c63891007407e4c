"""The environment the audited repo's code gets: an allow-list, never the user's shell.

A developer who just ran the service has DATABASE_URL, POSTGRES_*, REDIS_URL, cloud credentials and the
like exported; a test suite that deletes every row of "its" database would empty whatever those name.
So the child gets a small fixed set (locale, PATH, HOME, TZ, TERM, CI), what the user configured for the
check (``env = {...}``), and the sandbox's scratch resources; nothing else is inherited. What was
withheld is reported by name, never by value.

``inherit_env = true`` is the explicit opt-out (the whole environment, minus the auditor's own AUDIT_*
settings); the scratch resources still override what they name.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

# Inherited as they are: what a test run needs to find programs, read text and format dates.
ALLOWED = frozenset({"PATH", "HOME", "LANG", "LANGUAGE", "TZ", "TERM", "CI", "USER", "LOGNAME",
                     "PYTHONIOENCODING", "PYTHONUTF8", "NO_COLOR", "FORCE_COLOR", "COLUMNS"})
ALLOWED_PREFIXES = ("LC_",)
# Names that name or hold a connection or a credential: never inherited, and listed in the report.
CONNECTION_NAME = re.compile(
    r"DATABASE|(?:^|_)DBS?(?:_|$)|DSN|_URLS?$|_URIS?$|^URL$|POSTGRES|(?:^|_)PG|MYSQL|MARIADB|REDIS|MONGO|AMQP|"
    r"RABBIT|BROKER|CELERY|KAFKA|NATS|ELASTIC|MEMCACHE|SMTP|_HOST$|_HOSTS$|_SERVER$|PASSW|SECRET|TOKEN|"
    r"CREDENTIAL|API_?KEY|PRIVATE_KEY|ACCESS_KEY|^AWS_|^AZURE_|^GOOGLE_|^GCP_|^GCLOUD|^SENTRY|^S3_|^MINIO",
    re.IGNORECASE)
# A value with a URL scheme and a host: a connection whatever its name ("APP_STORE=redis://cache:6379").
CONNECTION_VALUE = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://[^/\s]*[A-Za-z0-9\]]", re.ASCII)
VALID_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# Client libraries also read credentials from files under HOME (~/.pgpass, ~/.aws/credentials): point
# those at a file that does not exist, unless the user configured them.
DECOY_FILES = ("PGPASSFILE", "PGSERVICEFILE", "AWS_SHARED_CREDENTIALS_FILE", "AWS_CONFIG_FILE")
# A client given no host uses the local server's default socket (libpq: /var/run/postgresql, as the
# current user, trust auth on many developer machines; libmysqlclient: /run/mysqld/mysqld.sock) — the
# developer's real databases. Without a scratch server, those defaults point at a directory that does not
# exist, so such a connection fails with this name in its message (failure.py turns it into a hint).
NO_SERVER_DIR = "no-database-server-in-the-sandbox"


def is_connection_like(name: str, value: str) -> bool:
    return bool(CONNECTION_NAME.search(name) or CONNECTION_VALUE.match(value.strip()))


def invalid_names(names: Mapping[str, str] | list[str]) -> list[str]:
    """The keys that cannot be environment variable names (config validation)."""
    return [name for name in names if not VALID_NAME.match(name)]


@dataclass
class ChildEnvironment:
    env: dict[str, str]
    inherited: str                                            # "allow-list" or "everything (inherit_env)"
    withheld: list[str] = field(default_factory=list)         # connection-like names withheld (sorted)
    withheld_other: int = 0                                   # other names not on the allow-list
    configured: list[str] = field(default_factory=list)       # names from the check's env = {...}
    scratch: list[str] = field(default_factory=list)          # names the scratch resources set
    local_env: list[str] = field(default_factory=list)        # "NAME (file)": the repo's .env settings made inert

    def describe(self) -> dict[str, object]:
        return {"inherited": self.inherited, "withheld": self.withheld, "withheld_other": self.withheld_other,
                "configured": self.configured, "scratch": self.scratch, "local_env_decoys": self.local_env}

    def sentence(self) -> str:
        if self.inherited != "allow-list":
            return ("the repo's code ran with the user's whole environment (inherit_env = true; AUDIT_* settings "
                    "excepted)")
        text = "the repo's code ran with an allow-listed environment"
        if self.withheld:
            shown = ", ".join(self.withheld[:12]) + (f" and {len(self.withheld) - 12} more" if len(self.withheld) > 12
                                                     else "")
            text += f"; withheld connection and credential variables: {shown}"
        else:
            text += "; no connection or credential variable was set in the auditor's environment"
        if self.withheld_other:
            text += f" (and {self.withheld_other} other variable{'s' if self.withheld_other != 1 else ''} not on " \
                    "the allow-list)"
        if self.local_env:
            shown = ", ".join(self.local_env[:6]) + (f" and {len(self.local_env) - 6} more"
                                                     if len(self.local_env) > 6 else "")
            text += f"; the repo's .env settings that name a server pointed at a host that does not exist: {shown}"
        return text


def build(*, environ: Mapping[str, str], configured: Mapping[str, str], scratch: Mapping[str, str],
          inherit: bool, python: Path, tmp_dir: Path,
          local_env: Mapping[str, tuple[str, str]] | None = None) -> ChildEnvironment:
    """The child's environment: allow-list (or everything, with inherit), then the inert values for the
    repo's .env connection settings (``local_env``: name -> (value, file), see dotenv_guard), then scratch
    resources, then the user's configured values (they know their settings best), then what the sandbox
    always sets."""
    if inherit:
        base = {k: v for k, v in environ.items() if not k.startswith("AUDIT_")}
        withheld = sorted(k for k in environ if k.startswith("AUDIT_"))
        child = ChildEnvironment(env=base, inherited="everything (inherit_env)", withheld=withheld)
    else:
        base, withheld, other = {}, [], 0
        for name, value in environ.items():
            if name in ALLOWED or name.startswith(ALLOWED_PREFIXES):
                base[name] = value
            elif is_connection_like(name, value):
                withheld.append(name)
            else:
                other += 1
        child = ChildEnvironment(env=base, inherited="allow-list", withheld=sorted(withheld), withheld_other=other)
    env = child.env
    # The repo's own interpreter first on PATH, its venv announced: a test that runs `alembic` or
    # `python` as a program gets the repo's, not the auditor's.
    bindir = python.parent
    env["PATH"] = os.pathsep.join([str(bindir), *[p for p in env.get("PATH", os.defpath).split(os.pathsep)
                                                   if p and p != str(bindir)]])
    venv = bindir.parent
    if (venv / "pyvenv.cfg").is_file():
        env["VIRTUAL_ENV"] = str(venv)
    else:
        env.pop("VIRTUAL_ENV", None)
    for name in ("PYTHONHOME", "PYTHONPATH", "PYTHONSTARTUP", "COVERAGE_PROCESS_START", "COVERAGE_FILE"):
        env.pop(name, None)  # these would load code or data that is not the repo's
    tmp_dir.mkdir(parents=True, exist_ok=True)
    if not inherit:
        for name in DECOY_FILES:
            env[name] = str(tmp_dir / "no-such-credentials-file")
        # libpq reads a host starting with "/" as a socket directory; the scratch exports override both.
        env["PGHOST"] = str(tmp_dir / NO_SERVER_DIR)
        env["MYSQL_UNIX_PORT"] = str(tmp_dir / NO_SERVER_DIR / "mysqld.sock")
        for name, (value, file) in sorted((local_env or {}).items()):
            if name not in scratch and name not in configured:
                env[name] = value
                child.local_env.append(f"{name} ({file})")
    env["TMPDIR"] = str(tmp_dir)
    env.update(scratch)
    child.scratch = sorted(scratch)
    env.update(configured)
    child.configured = sorted(configured)
    # No __pycache__ or .pyc files left in the audited repo.
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return child
