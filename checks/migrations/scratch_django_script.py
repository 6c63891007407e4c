"""Run by the migrations check IN THE AUDITED REPO'S INTERPRETER (a subprocess), never imported by the
auditor: load the Django project's settings, point EVERY database alias at the scratch database (a
SQLite file, or a database the sandbox created on a PostgreSQL or MariaDB server), then `migrate`,
`makemigrations --check --dry-run` (model drift), and, with roundtrip, every app of the repo back to
zero and `migrate` again. No other database can be touched: the settings' DATABASES are replaced before
Django opens any connection. Writes a JSON result file in the alembic script's format.

argv: manage_py settings_module_or_empty result_json roundtrip(0/1) app_labels(comma-separated); the
scratch database's URL in BACKEND_AUDITOR_SCRATCH_URL (not on the command line, where `ps` shows it).
"""

import io
import json
import os
import sys
import traceback
from urllib.parse import unquote, urlsplit

ENGINES = {"postgresql": "django.db.backends.postgresql", "postgres": "django.db.backends.postgresql",
           "mysql": "django.db.backends.mysql", "mariadb": "django.db.backends.mysql",
           "sqlite": "django.db.backends.sqlite3"}


def scratch_settings(url):
    parts = urlsplit(url)
    backend = parts.scheme.split("+", 1)[0].lower()
    if backend == "sqlite":
        return {"ENGINE": ENGINES["sqlite"], "NAME": unquote(url.split(":///", 1)[1])}
    if backend in ("mysql", "mariadb"):
        try:
            import MySQLdb  # noqa: F401
        except ImportError:
            try:
                import pymysql

                pymysql.install_as_MySQLdb()
            except ImportError:
                pass
    return {"ENGINE": ENGINES[backend], "NAME": unquote(parts.path.lstrip("/")), "USER": unquote(parts.username or ""),
            "PASSWORD": unquote(parts.password or ""), "HOST": parts.hostname or "", "PORT": str(parts.port or ""),
            "TEST": {"NAME": unquote(parts.path.lstrip("/")) + "_test"}}


def main() -> None:
    manage, settings_module, result_path, roundtrip, labels = sys.argv[1:6]
    url = os.environ["BACKEND_AUDITOR_SCRATCH_URL"]
    out = {"steps": [], "drift": None, "drift_error": None}
    base = os.path.dirname(os.path.abspath(manage))
    sys.path.insert(0, base)
    if settings_module:
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", settings_module)

    def save():
        with open(result_path, "w", encoding="utf-8") as handle:
            json.dump(out, handle)

    def step(name, fn):
        try:
            fn()
            out["steps"].append({"step": name, "ok": True})
            return True
        except BaseException as exc:  # noqa: BLE001 — any failure of the repo's migrations is a result
            out["steps"].append({"step": name, "ok": False, "error": f"{type(exc).__name__}: {exc}"[:600],
                                 "trace": traceback.format_exc()[-1500:], "migration_file": migration_file(exc, base)})
            return False
        finally:
            save()

    def setup():
        import django
        from django.conf import settings

        forced = scratch_settings(url)
        configured = settings.DATABASES  # loads the project's settings module
        settings.DATABASES = {alias: dict(forced) for alias in (configured or {"default": {}})}
        django.setup()

    if not step("load the Django settings", setup):
        return
    from django.core.management import call_command

    progress = io.StringIO()

    def migrate():
        call_command("migrate", interactive=False, verbosity=1, stdout=progress)

    if not step("upgrade", migrate):
        # Django's operations are declarative (the failing frame is Django's, not the repo's file): the
        # migration being applied is the last "Applying app.0002_x..." line without its OK.
        applying = [line.split("Applying", 1)[1].strip().rstrip(".") for line in progress.getvalue().splitlines()
                    if "Applying " in line and not line.rstrip().endswith("OK")]
        if applying:
            out["steps"][-1]["migration_file"] = applying[-1]
            save()
        return
    try:
        buffer = io.StringIO()
        call_command("makemigrations", "--check", "--dry-run", interactive=False, stdout=buffer, verbosity=1)
        out["drift"] = []
    except SystemExit as exc:
        if exc.code == 1:
            lines = [line.strip() for line in buffer.getvalue().splitlines() if line.strip()]
            # One entry per model change ("- Add field price to item"; Django 5.1+ marks them with +, ~, -).
            changes = [line.lstrip("-+~ ") for line in lines if line[:1] in "-+~"]
            out["drift"] = (changes or lines)[:30] or ["makemigrations --check found changes"]
        else:
            out["drift_error"] = f"makemigrations --check exited with {exc.code}"
    except BaseException as exc:  # noqa: BLE001
        out["drift_error"] = f"{type(exc).__name__}: {exc}"[:600]
    save()
    apps = [label for label in labels.split(",") if label]
    if roundtrip == "1" and apps:
        def down():
            for app in reversed(apps):
                call_command("migrate", app, "zero", interactive=False, verbosity=0)

        if step("downgrade", down):
            step("upgrade again", lambda: call_command("migrate", interactive=False, verbosity=0))


def migration_file(exc, base):
    """The repo's migration file the exception came from (innermost frame in a migrations/ directory
    under the project), or None: settings, drivers, Django itself."""
    found = None
    tb = exc.__traceback__
    while tb is not None:
        name = os.path.realpath(tb.tb_frame.f_code.co_filename)
        if name.startswith(base + os.sep) and f"{os.sep}migrations{os.sep}" in name:
            found = name
        tb = tb.tb_next
    return found


if __name__ == "__main__":
    main()
