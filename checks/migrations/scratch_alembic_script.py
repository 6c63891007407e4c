"""Run by the migrations check IN THE AUDITED REPO'S INTERPRETER (a subprocess), never imported by the
auditor: apply the Alembic migrations to a scratch SQLite database, compare the models with it
(autogenerate), then downgrade to base and upgrade again. Every engine the repo's env.py creates is
forced onto the scratch database, so no other database can be touched. Writes a JSON result file.

argv: scratch_db ini_or_empty script_location result_json roundtrip(0/1)
"""

import json
import sys
import traceback


def main() -> None:
    scratch, ini, location, result_path, roundtrip = sys.argv[1:6]
    url = "sqlite:///" + scratch
    out = {"steps": [], "drift": None, "drift_error": None}

    def save() -> None:
        with open(result_path, "w", encoding="utf-8") as handle:
            json.dump(out, handle)

    import sqlalchemy
    import sqlalchemy.engine
    import sqlalchemy.engine.create as create_module

    original = create_module.create_engine

    def forced_engine(*_args, **kwargs):
        # Driver-specific options (pool sizes, connect_args for PostgreSQL) do not apply to SQLite.
        kept = {k: v for k, v in kwargs.items() if k in ("poolclass", "future")}
        return original(url, **kept)

    create_module.create_engine = forced_engine
    sqlalchemy.create_engine = forced_engine
    sqlalchemy.engine.create_engine = forced_engine
    force_async_engines(scratch)

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
                                 "trace": traceback.format_exc()[-1500:]})
            return False
        finally:
            save()

    if not step("upgrade", lambda: command.upgrade(cfg, "heads")):
        return
    try:
        out["drift"] = compare(cfg)
    except BaseException as exc:  # noqa: BLE001
        out["drift_error"] = f"{type(exc).__name__}: {exc}"[:600]
    save()
    if roundtrip == "1" and step("downgrade", lambda: command.downgrade(cfg, "base")):
        step("upgrade again", lambda: command.upgrade(cfg, "heads"))


def force_async_engines(scratch):
    """The same for asyncio env.py files: their engines go to the scratch file through aiosqlite (when
    aiosqlite is missing the upgrade fails, which is reported, and still touches no other database)."""
    try:
        import sqlalchemy.ext.asyncio as asyncio_module
        import sqlalchemy.ext.asyncio.engine as async_engine_module
    except ImportError:
        return
    original = async_engine_module.create_async_engine

    def forced_async_engine(*_args, **kwargs):
        kept = {k: v for k, v in kwargs.items() if k in ("poolclass", "future")}
        return original("sqlite+aiosqlite:///" + scratch, **kept)

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
