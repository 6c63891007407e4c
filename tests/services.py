"""The services some tests need (PostgreSQL, Redis, Chromium), and what a missing one means.

Outside CI a test whose service is *unreachable* skips with the reason. CI declares what it provides in
``AUDIT_CI_PROVIDES`` (.ci/run sets ``postgres,redis,chromium``); there a test that would skip fails
instead (``unavailable``), and tests/conftest.py turns every other skip into a failure too: a green CI
run means every test ran. Only "cannot connect" / "not installed" is unavailability: any other error
(a failed query, an import error, a browser that crashes at launch) is a test failure everywhere.

A skip for a service is worded ``needs <service>: <reason>`` so that the conftest hook knows which
service it was for (a CI that does not declare that service may skip it).
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path
from typing import NoReturn

import pytest

CI_PROVIDES = "AUDIT_CI_PROVIDES"
SERVICES = ("postgres", "mariadb", "redis", "chromium")
NEEDS = re.compile(r"^(?:Skipped: )?needs (\w+): ")

PG_URL = os.environ.get("AUDIT_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
MARIADB_URL = os.environ.get("AUDIT_TEST_MARIADB_URL", "mysql+pymysql://root@127.0.0.1:3306/test")
CHROMIUM_NAMES = ("chromium", "chromium-browser")


def ci_provides() -> frozenset[str] | None:
    """The services CI declares, or None when this is not a CI run (the variable is unset)."""
    raw = os.environ.get(CI_PROVIDES)
    if raw is None:
        return None
    names = frozenset(name.strip() for name in raw.split(",") if name.strip())
    unknown = names - set(SERVICES)
    if unknown:
        raise pytest.UsageError(f"{CI_PROVIDES}: unknown service {sorted(unknown)[0]!r} "
                                f"(known: {', '.join(SERVICES)})")
    return names


def unavailable(service: str, reason: str) -> NoReturn:
    """``service`` cannot be reached: skip with the reason, or fail where CI says it provides it."""
    assert service in SERVICES, service
    provided = ci_provides()
    if provided is not None and service in provided:
        pytest.fail(f"needs {service}: {reason} (and {CI_PROVIDES}={os.environ[CI_PROVIDES]} says CI "
                    f"provides it)", pytrace=False)
    pytest.skip(f"needs {service}: {reason}")


def skip_allowed_in_ci(reason: str) -> bool:
    """A skip CI may keep: one for a service CI does not declare."""
    provided = ci_provides() or frozenset()
    match = NEEDS.match(reason)
    return bool(match) and match.group(1) not in provided


def first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


# ------------------------------------------------------------------------------------------------------
def postgres_unreachable(url: str = PG_URL) -> str | None:
    """Why PostgreSQL at ``url`` cannot be connected to, or None. Only a failed connection counts: psycopg
    missing (it is in the demo extra) or a query that fails are errors of the test, not a skip."""
    import psycopg

    try:
        conn = psycopg.connect(url, connect_timeout=3)
    except psycopg.OperationalError as exc:
        return f"PostgreSQL at {url} unreachable: {first_line(exc)}"
    with conn:
        conn.execute("SELECT 1")
    return None


def require_postgres(url: str = PG_URL) -> None:
    reason = postgres_unreachable(url)
    if reason:
        unavailable("postgres", reason)


def mariadb_unreachable(url: str = MARIADB_URL) -> str | None:
    """Why MariaDB/MySQL at ``url`` cannot be connected to, or None (connection failures only)."""
    from urllib.parse import unquote, urlsplit

    import pymysql

    parts = urlsplit(url)
    try:
        conn = pymysql.connect(host=parts.hostname or "127.0.0.1", port=parts.port or 3306,
                               user=unquote(parts.username or "root"), password=unquote(parts.password or ""),
                               connect_timeout=3)
    except pymysql.err.OperationalError as exc:
        return f"MariaDB at {parts.hostname}:{parts.port or 3306} unreachable: {first_line(exc)}"
    with conn, conn.cursor() as cur:
        cur.execute("SELECT 1")
    return None


def require_mariadb(url: str = MARIADB_URL) -> None:
    reason = mariadb_unreachable(url)
    if reason:
        unavailable("mariadb", reason)


def find_chromium() -> str | None:
    """$AUDIT_TEST_CHROMIUM if set (None when it is not a file), else Debian's chromium on PATH."""
    explicit = os.environ.get("AUDIT_TEST_CHROMIUM")
    if explicit:
        return explicit if Path(explicit).is_file() else None
    return next((found for name in CHROMIUM_NAMES if (found := shutil.which(name))), None)


def require_chromium() -> str:
    """The chromium executable; not installed is the only reason to skip."""
    executable = find_chromium()
    if executable is None:
        explicit = os.environ.get("AUDIT_TEST_CHROMIUM")
        unavailable("chromium", f"AUDIT_TEST_CHROMIUM={explicit} is not a file" if explicit
                    else "chromium not installed: apt-get install chromium")
    return executable
