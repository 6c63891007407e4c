"""backend-auditor: tracing of a service it started (auditor/otlp/instrument/__init__.py explains).

Runs in the AUDITED SERVICE's interpreter at start-up, never in the auditor. Standard library only; it
must never break the service: every failure is swallowed and reported in the status file.
"""

import os
import sys


def _status(text):
    path = os.environ.get("BACKEND_AUDITOR_OTEL_STATUS")
    if not path:
        return
    try:
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(f"{text} pid={os.getpid()}\n")
    except OSError:
        pass


# OpenTelemetry instrumentors that record SQL statements (by library or driver): when none of them is
# active after the SDK started, the shim's statement hooks record the SQL under the SDK's spans.
SQL_INSTRUMENTORS = (("sqlalchemy", "SQLAlchemyInstrumentor"), ("psycopg", "PsycopgInstrumentor"),
                     ("psycopg2", "Psycopg2Instrumentor"), ("asyncpg", "AsyncPGInstrumentor"),
                     ("sqlite3", "SQLite3Instrumentor"), ("pymysql", "PyMySQLInstrumentor"),
                     ("mysqlclient", "MySQLClientInstrumentor"), ("mysql", "MySQLInstrumentor"),
                     ("aiopg", "AiopgInstrumentor"))


def _sql_instrumented():
    import importlib

    for package, name in SQL_INSTRUMENTORS:
        try:
            module = importlib.import_module(f"opentelemetry.instrumentation.{package}")
            if getattr(module, name)().is_instrumented_by_opentelemetry:
                return True
        except Exception:  # noqa: BLE001 — not installed, or it refused the installed library version
            continue
    return False


def _opentelemetry():
    """OpenTelemetry's own auto-instrumentation, when this interpreter has all it takes."""
    import importlib.util

    needed = ("opentelemetry.instrumentation.auto_instrumentation", "opentelemetry.sdk.trace",
              "opentelemetry.exporter.otlp.proto.http.trace_exporter", "opentelemetry.distro")
    try:
        if any(importlib.util.find_spec(name) is None for name in needed):
            return False
    except (ImportError, ValueError):
        return False
    from opentelemetry.instrumentation.auto_instrumentation import initialize

    initialize()
    return True


def _chain():
    """The app's own sitecustomize, which ours shadows on sys.path."""
    import importlib.machinery
    import importlib.util

    here = os.path.dirname(os.path.abspath(__file__))
    paths = [p for p in sys.path if os.path.abspath(p or os.curdir) != here]
    spec = importlib.machinery.PathFinder.find_spec("sitecustomize", paths)
    if spec is None or spec.loader is None:
        return
    module = importlib.util.module_from_spec(spec)
    sys.modules["sitecustomize"] = module
    spec.loader.exec_module(module)


def _main():
    if os.environ.get("BACKEND_AUDITOR_OTLP"):
        try:
            if _opentelemetry():
                if _sql_instrumented():
                    _status("opentelemetry")
                else:
                    import backend_auditor_shim  # it sits next to this file

                    backend_auditor_shim.install("sql-only")
                    _status("opentelemetry+shim-sql")
            else:
                import backend_auditor_shim

                backend_auditor_shim.install("full")
                _status("shim")
        except Exception as exc:  # noqa: BLE001 — never break the audited service
            _status(f"failed {type(exc).__name__}: {exc}")
    try:
        _chain()
    except Exception as exc:  # noqa: BLE001
        _status(f"app-sitecustomize-failed {type(exc).__name__}: {exc}")


_main()
