"""Run the repo's migrations where they cannot hurt, in the core's sandbox (the repo's interpreter, an
allow-listed environment): on the scratch database the sandbox creates when a server is known
(PostgreSQL, MariaDB/MySQL), else on a scratch SQLite file in the check's temp dir. Alembic: upgrade,
autogenerate compare, downgrade, upgrade (Flask-Migrate layouts inside the app's context); Django: migrate,
makemigrations --check --dry-run, every app to zero, migrate again."""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from auditor.sandbox import Sandbox, import_root

SCRIPT = Path(__file__).with_name("scratch_alembic_script.py")
DJANGO_SCRIPT = Path(__file__).with_name("scratch_django_script.py")
# Names env.py files and settings modules read the URL from, set to the SQLite scratch file when there
# is no server (with one, the sandbox exports the scratch database under these and more).
SQLITE_URL_NAMES = ("DATABASE_URL", "SQLALCHEMY_DATABASE_URI", "SQLALCHEMY_DATABASE_URL", "DB_URL")


@dataclass
class ScratchResult:
    steps: list[dict] = field(default_factory=list)    # {"step", "ok", "error"?}
    drift: list[str] | None = None                     # None: not compared
    drift_error: str | None = None
    error: str | None = None                           # the run itself failed (timeout, no alembic, crash)
    engine: str = "sqlite"                             # where it ran: sqlite | postgresql | mysql
    output: str = ""                                   # the tail of the run's output (for the root cause)

    def failed(self, name: str) -> dict | None:
        return next((s for s in self.steps if s["step"] == name and not s["ok"]), None)

    def ok(self, name: str) -> bool:
        return any(s["step"] == name and s["ok"] for s in self.steps)


def scratch_target(sandbox: Sandbox, work: Path, file_name: str) -> tuple[str, str, dict[str, str]]:
    """(URL the migrations run on, engine, extra environment): the sandbox's scratch database when it has
    a server, else a fresh SQLite file in ``work``."""
    database = sandbox.scratch_database()
    extra = {"PYTHONPATH": str(import_root(sandbox.repo))}
    if database is not None:
        return database.server.address.url(database.server.base_scheme, database.name), database.server.engine, extra
    path = work / file_name
    path.unlink(missing_ok=True)
    url = f"sqlite:///{path}"
    return url, "sqlite", {**extra, **{name: url for name in SQLITE_URL_NAMES}}


def run_alembic(sandbox: Sandbox, ini: str | None, script_location: str, *, roundtrip: bool,
                timeout_s: float, flask: bool = False, extra_env: dict[str, str] | None = None) -> ScratchResult:
    repo = sandbox.repo
    work = sandbox.tmp_dir / "scratch"
    work.mkdir(parents=True, exist_ok=True)
    # Run a copy from the temp dir: run from its package, the script's directory would come first on
    # sys.path and the auditor's module names (config, model...) could shadow the repo's.
    script = work / "audit_alembic_scratch.py"
    shutil.copyfile(SCRIPT, script)
    url, engine, extra = scratch_target(sandbox, work, "scratch.sqlite")
    ini_path = str((repo / ini).resolve()) if ini else ""
    # A Flask app is found from the project's top (app.py, wsgi.py), as `flask db upgrade` finds it.
    cwd = import_root(repo) if flask else Path(ini_path).parent if ini_path else repo
    return _run(sandbox, [str(script), ini_path, script_location, "{result}", "1" if roundtrip else "0",
                          "1" if flask else "0"], cwd, url, engine, {**extra, **(extra_env or {})}, timeout_s)


def run_django(sandbox: Sandbox, manage: Path, settings_module: str | None, apps: list[str], *, roundtrip: bool,
               timeout_s: float) -> ScratchResult:
    """migrate, makemigrations --check --dry-run, each app to zero and migrate again, with every database
    alias of the project's settings forced onto the scratch database."""
    work = sandbox.tmp_dir / "scratch"
    work.mkdir(parents=True, exist_ok=True)
    script = work / "audit_django_scratch.py"
    shutil.copyfile(DJANGO_SCRIPT, script)
    url, engine, extra = scratch_target(sandbox, work, "django.sqlite")
    extra["PYTHONPATH"] = str(manage.parent)
    return _run(sandbox, [str(script), str(manage), settings_module or "", "{result}", "1" if roundtrip else "0",
                          ",".join(apps)], manage.parent, url, engine, extra, timeout_s)


def _run(sandbox: Sandbox, args: list[str], cwd: Path, url: str, engine: str, extra: dict[str, str],
         timeout_s: float) -> ScratchResult:
    work = sandbox.tmp_dir / "scratch"
    result_file = work / "result.json"
    result_file.unlink(missing_ok=True)
    args = [str(result_file) if a == "{result}" else a for a in args]
    run = sandbox.run([str(sandbox.python), *args], cwd=cwd, timeout_s=timeout_s, log_name="scratch/scratch.log",
                      extra_env={**extra, "BACKEND_AUDITOR_SCRATCH_URL": url})
    result = ScratchResult(engine=engine, output=run.output)
    if result_file.is_file():
        try:
            data = json.loads(result_file.read_text(encoding="utf-8"))
            result.steps, result.drift, result.drift_error = data["steps"], data["drift"], data["drift_error"]
        except (ValueError, KeyError, TypeError):
            result.error = "the scratch run wrote an unreadable result"
    if run.timed_out:
        result.error = f"the scratch run did not finish within {timeout_s:.0f} s"
    elif run.stopped:
        result.error = "stopped"
    elif run.returncode != 0 and not result.steps:
        result.error = f"the scratch run failed (exit {run.returncode}): {sandbox.cause(run.output)}"[:400]
    return result
