"""SQL sources, one module each: OpenTelemetry traces (traces.py: --otlp, or a --serve'd service the auditor
instrumented), a log file the service writes (logfile.py: the --serve'd output or --sql-log), PostgreSQL
server-side capture (postgres_live.py: --db-url postgresql://...) and MariaDB/MySQL
server-side capture (mariadb_live.py: --db-url mysql://...). choose_source picks one."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from auditor.interface import AuditContext, CheckSkipped

from checks.nplusone.sources.interface import Capture, SourceUnavailable, SqlSource
from checks.nplusone.sources.logfile import LogFileSource

if TYPE_CHECKING:
    from checks.nplusone.config import NPlusOneConfig

HOW_TO = ("give --db-url postgresql://... or mysql://... (server-side capture, superuser), --sql-log FILE (the log "
          "the service writes its SQL to: SQLAlchemy echo, Django db.backends, PostgreSQL or JSON lines), or "
          "--serve the service with its SQL logging on")


def choose_source(ctx: AuditContext, config: NPlusOneConfig) -> SqlSource:
    """Traces first (exact per request), then --db-url (PostgreSQL or MariaDB/MySQL), then --sql-log, then the
    --serve'd service's output."""
    traces = ctx.traces
    if config.source in ("auto", "traces") and traces is not None and traces.instrumented:
        from checks.nplusone.sources.fallback import FallbackSource
        from checks.nplusone.sources.traces import TraceSource

        primary = TraceSource(traces.store, how=traces.how, settle_s=config.settle_s, should_stop=ctx.should_stop)
        if config.source == "traces":
            return primary
        try:
            # Where a trace holds no SQL (a database library no instrumentation covers), the next source.
            return FallbackSource(primary, _other_source(ctx, config))
        except CheckSkipped:
            return primary
    if config.source == "traces":
        raise CheckSkipped("[tool.auditor.nplusone] source = \"traces\": no trace arrived (give --otlp PORT and start "
                           "the service with OTEL_EXPORTER_OTLP_ENDPOINT, or --serve a Python service with "
                           "instrument = true)")
    return _other_source(ctx, config)


def _other_source(ctx: AuditContext, config: NPlusOneConfig) -> SqlSource:
    """--db-url (PostgreSQL or MariaDB/MySQL), then --sql-log, then the --serve'd service's output."""
    settings = ctx.settings
    db_url = settings.get("db_url") or ctx.target.db_url
    sql_log = settings.get("sql_log")
    service_log = ctx.artifacts.service_log
    if config.source in ("auto", "postgres", "mariadb") and db_url:
        if str(db_url).startswith(("postgresql://", "postgres://", "postgresql+")):
            from checks.nplusone.sources.postgres_live import PostgresLiveSource

            return PostgresLiveSource(str(db_url), db_log=settings.get("db_log"), settle_s=config.settle_s,
                                      should_stop=ctx.should_stop)
        if str(db_url).startswith(("mysql://", "mysql+", "mariadb://", "mariadb+")):
            from checks.nplusone.sources.mariadb_live import MariaDbLiveSource

            return MariaDbLiveSource(str(db_url), settle_s=config.settle_s, should_stop=ctx.should_stop)
        if not (sql_log or service_log):
            raise CheckSkipped(f"--db-url: only PostgreSQL and MariaDB/MySQL can be captured server-side; {HOW_TO}")
    if config.source in ("postgres", "mariadb"):
        raise CheckSkipped(f"[tool.auditor.nplusone] source = \"{config.source}\" needs --db-url; {HOW_TO}")
    if sql_log:
        return LogFileSource(Path(sql_log), "--sql-log", settle_s=config.settle_s, should_stop=ctx.should_stop)
    if service_log:
        return LogFileSource(Path(service_log), "the --serve'd service's output", settle_s=config.settle_s,
                             should_stop=ctx.should_stop)
    raise CheckSkipped(f"no SQL source: {HOW_TO}")


__all__ = ["Capture", "SourceUnavailable", "SqlSource", "choose_source"]
