"""Run by the migrations check IN THE AUDITED REPO'S INTERPRETER (a subprocess), never imported by the
auditor: apply the Alembic migrations to the scratch database (a SQLite file, or a database the
sandbox created on a PostgreSQL or MariaDB server), compare the models with it (autogenerate), then
downgrade to base and upgrade again. Every engine the repo's env.py creates is forced onto the scratch
database, so no other database can be touched. Writes a JSON result file.

argv: ini_or_empty script_location result_json roundtrip(0/1) flask(0/1); the scratch database's URL in
the environment variable BACKEND_AUDITOR_SCRATCH_URL (not on the command line, where `ps` shows it).

With flask = 1 (a Flask-Migrate env.py, which reads the engine from ``current_app``), the application is
loaded the way ``flask db upgrade`` loads it (FLASK_APP, else app.py / wsgi.py and their create_app
factory) and every step runs inside its application context.

Each failed step says whether the error was raised inside a migration file (the repo's migration is at
fault) or before any migration ran (env.py, the app, its settings: the run's environment).
"""

import json
import os
import sys
import traceback


def main() -> None:
    ini, location, result_path, roundtrip = sys.argv[1:5]
    flask = sys.argv[5:6] == ["1"]
    url = os.environ["BACKEND_AUDITOR_SCRATCH_URL"]
    out = {"steps": [], "drift": None, "drift_error": None}
    versions = os.path.realpath(os.path.join(location, "versions"))

    def save() -> None:
        with open(result_path, "w", encoding="utf-8") as handle:
            json.dump(out, handle)

    import sqlalchemy
    import sqlalchemy.engine
    import sqlalchemy.engine.create as create_module

    original = create_module.create_engine

    def forced_engine(*args, **kwargs):
        # Driver-specific options (pool sizes, connect_args for another server) may not apply here.
        kept = {k: v for k, v in kwargs.items() if k in ("poolclass", "future")}
        return original(scratch_url(url, args[0] if args else kwargs.get("url"), asynchronous=False), **kept)

    create_module.create_engine = forced_engine
    sqlalchemy.create_engine = forced_engine
    sqlalchemy.engine.create_engine = forced_engine
    force_async_engines(url)

    from alembic import command
    from alembic.config import Config

    cfg = Config(ini) if ini else Config()
    cfg.set_main_option("script_location", location.replace("%", "%%"))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))

    def step(name, fn):
        try:
            fn()
            out["steps"].append({"step": name, "ok": True})
            return True
        except BaseException as exc:  # noqa: BLE001 — any failure of the repo's migrations is a result
            out["steps"].append({"step": name, "ok": False, "error": f"{type(exc).__name__}: {exc}"[:600],
                                 "trace": traceback.format_exc()[-1500:],
                                 "migration_file": migration_file(exc, versions)})
            return False
        finally:
            save()

    context = _null_context()
    if flask:
        loaded = {}

        def load_app():
            from flask.cli import ScriptInfo

            loaded["app"] = ScriptInfo(set_debug_flag=False).load_app()

        if not step("load the Flask app", load_app):
            return
        context = loaded["app"].app_context()
    with context:
        if not step("upgrade", lambda: command.upgrade(cfg, "heads")):
            return
        try:
            out["drift"] = compare(cfg)
        except BaseException as exc:  # noqa: BLE001
            out["drift_error"] = f"{type(exc).__name__}: {exc}"[:600]
        save()
        if roundtrip == "1" and step("downgrade", lambda: command.downgrade(cfg, "base")):
            step("upgrade again", lambda: command.upgrade(cfg, "heads"))


class _null_context:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def migration_file(exc, versions):
    """The migration file the exception was raised in (the innermost frame inside versions/), or None
    when it came from elsewhere: env.py, the app, its settings, a driver that cannot connect."""
    found = None
    tb = exc.__traceback__
    while tb is not None:
        name = os.path.realpath(tb.tb_frame.f_code.co_filename)
        if name.startswith(versions + os.sep):
            found = name
        tb = tb.tb_next
    return found


# Drivers to try, in order, when the repo's own URL names another backend (or none): the first one
# installed in this interpreter is used.
DRIVERS = {("postgresql", False): (("psycopg", "psycopg"), ("psycopg2", "psycopg2"), ("pg8000", "pg8000")),
           ("postgresql", True): (("asyncpg", "asyncpg"), ("psycopg", "psycopg")),
           ("mysql", False): (("pymysql", "pymysql"), ("MySQLdb", "mysqldb"), ("mysql.connector", "mysqlconnector")),
           ("mysql", True): (("aiomysql", "aiomysql"), ("asyncmy", "asyncmy")),
           ("sqlite", False): (("sqlite3", "pysqlite"),),
           ("sqlite", True): (("aiosqlite", "aiosqlite"),)}


def scratch_url(url, wanted, asynchronous):
    """The scratch URL with the driver the repo asked for when it is for the same backend (an env.py
    that builds a postgresql+asyncpg engine gets asyncpg on the scratch server), else the first
    installed driver of the backend."""
    import importlib.util

    from sqlalchemy.engine import make_url

    target = make_url(url)
    backend = target.get_backend_name()
    try:
        asked = make_url(wanted) if wanted is not None else None
    except Exception:  # noqa: BLE001 — an unparsable URL of the repo's: choose the driver here
        asked = None
    if asked is not None and asked.get_backend_name() == backend and "+" in asked.drivername:
        return target.set(drivername=asked.drivername)
    for module, driver in DRIVERS.get((backend, asynchronous), ()):
        try:
            if importlib.util.find_spec(module) is not None:
                return target.set(drivername=f"{backend}+{driver}")
        except (ImportError, ValueError):
            continue
    return target


def force_async_engines(url):
    """The same for asyncio env.py files: their engines go to the scratch database through an async
    driver (when none is installed the upgrade fails, which is reported, and still touches no other
    database)."""
    try:
        import sqlalchemy.ext.asyncio as asyncio_module
        import sqlalchemy.ext.asyncio.engine as async_engine_module
    except ImportError:
        return
    original = async_engine_module.create_async_engine

    def forced_async_engine(*args, **kwargs):
        kept = {k: v for k, v in kwargs.items() if k in ("poolclass", "future")}
        return original(scratch_url(url, args[0] if args else kwargs.get("url"), asynchronous=True), **kept)

    async_engine_module.create_async_engine = forced_async_engine
    asyncio_module.create_async_engine = forced_async_engine


def compare(cfg):
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.environment import EnvironmentContext
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(cfg)
    diffs = []

    def fn(_rev, context):
        metadata = context.opts.get("target_metadata")
        if metadata is None:
            raise RuntimeError("env.py gives no target_metadata, so the models cannot be compared")
        diffs.extend(compare_metadata(context, metadata))
        return []

    with EnvironmentContext(cfg, script, fn=fn):
        script.run_env()
    return [describe(d) for d in diffs]


def describe(diff) -> str:
    if isinstance(diff, list):
        return "; ".join(describe(d) for d in diff)
    parts = [str(diff[0])]
    for item in diff[1:]:
        name = getattr(item, "name", None)
        table = getattr(getattr(item, "table", None), "name", None)
        if isinstance(name, str):
            parts.append(f"{table}.{name}" if table else name)
        elif item is None or isinstance(item, (str, int, float, bool)):
            if item is not None:
                parts.append(str(item))
        elif isinstance(item, dict):
            continue
        else:
            parts.append(str(item)[:60])
    return " ".join(parts)[:300]


if __name__ == "__main__":
    main()
