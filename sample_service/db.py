"""Engine, sessions and migrations (SQLAlchemy 2, Alembic run programmatically)."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, make_url, text
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

from sample_service.logging import log_fields

sql_log = logging.getLogger("sql")
PACKAGE_DIR = Path(__file__).resolve().parent


class Base(DeclarativeBase):
    pass


def _json_safe(value: Any) -> Any:
    """Parameters as JSON: scalars kept, containers walked, anything else as its repr."""
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    return repr(value)


def _install_sql_logging(engine: Engine) -> None:
    """One JSON line per statement; the auditor's N+1 check groups them by request_id."""

    @event.listens_for(engine, "before_cursor_execute")
    def _before(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        conn.info.setdefault("query_start", []).append(time.perf_counter())

    @event.listens_for(engine, "after_cursor_execute")
    def _after(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        started = conn.info["query_start"].pop()
        log_fields(sql_log, logging.INFO, {
            "statement": statement,
            "parameters": _json_safe(parameters),
            "duration_ms": round((time.perf_counter() - started) * 1000, 3),
        })


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    # SQLite ignores foreign keys unless told; WAL lets readers run while one request writes.
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA journal_mode=WAL")
    cur.close()


def make_engine(database_url: str, sql_echo: bool = False) -> Engine:
    url = make_url(database_url)
    kwargs: dict[str, Any] = {"pool_pre_ping": True}
    if url.get_backend_name() == "sqlite":
        if url.database and url.database != ":memory:":
            Path(url.database).parent.mkdir(parents=True, exist_ok=True)
        kwargs["connect_args"] = {"check_same_thread": False, "timeout": 15}
    engine = create_engine(url, **kwargs)
    if url.get_backend_name() == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    if sql_echo:
        _install_sql_logging(engine)
    return engine


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    # expire_on_commit=False: handlers serialise objects after committing.
    return sessionmaker(engine, expire_on_commit=False)


def ping(engine: Engine) -> None:
    """Readiness probe: raises if the database does not answer SELECT 1."""
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))


def alembic_config(database_url: str) -> Any:
    """An Alembic Config built in code, pointing at the package's own migrations (works installed)."""
    from alembic.config import Config

    cfg = Config(str(PACKAGE_DIR / "alembic.ini"))
    cfg.set_main_option("script_location", str(PACKAGE_DIR / "migrations"))
    # '%' is interpolation syntax in ini values; URLs with %-escaped passwords must survive.
    cfg.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return cfg


def migrate(database_url: str, revision: str = "head") -> None:
    """alembic upgrade head: the only way the schema is created (never create_all)."""
    from alembic import command

    url = make_url(database_url)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    command.upgrade(alembic_config(database_url), revision)
