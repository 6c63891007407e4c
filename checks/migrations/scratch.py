"""Run the repo's migrations where they cannot hurt: a scratch SQLite database in the check's temp dir,
in a bounded subprocess of the repo's own interpreter (Alembic: upgrade, autogenerate compare, downgrade,
upgrade; Django: makemigrations --check --dry-run)."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from checks.coverage.gather import import_root
from checks.coverage.proc import clean_env, run_bounded

SCRIPT = Path(__file__).with_name("scratch_alembic_script.py")


@dataclass
class ScratchResult:
    steps: list[dict] = field(default_factory=list)    # {"step", "ok", "error"?}
    drift: list[str] | None = None                     # None: not compared
    drift_error: str | None = None
    error: str | None = None                           # the run itself failed (timeout, no alembic, crash)

    def failed(self, name: str) -> dict | None:
        return next((s for s in self.steps if s["step"] == name and not s["ok"]), None)

    def ok(self, name: str) -> bool:
        return any(s["step"] == name and s["ok"] for s in self.steps)


def _env(repo: Path, extra: dict[str, str], url: str) -> dict[str, str]:
    env = clean_env(extra)
    # The import root (the repo, or above it when the repo is a package dir): never inside a package,
    # where its modules would shadow the stdlib (a logging.py).
    env["PYTHONPATH"] = str(import_root(repo))
    # env.py files often read the URL from the environment: point every usual name at the scratch database.
    for name in ("DATABASE_URL", "SQLALCHEMY_DATABASE_URI", "SQLALCHEMY_DATABASE_URL", "DB_URL"):
        env[name] = url
    return env


def run_alembic(python: Path, repo: Path, ini: str | None, script_location: str, tmp: Path, *, roundtrip: bool,
                timeout_s: float, extra_env: dict[str, str], should_stop: Callable[[], bool]) -> ScratchResult:
    work = tmp / "scratch"
    work.mkdir(parents=True, exist_ok=True)
    # Run a copy from the temp dir: run from its package, the script's directory would come first on
    # sys.path and the auditor's module names (config, model...) could shadow the repo's.
    script = work / "audit_alembic_scratch.py"
    shutil.copyfile(SCRIPT, script)
    database = work / "scratch.sqlite"
    database.unlink(missing_ok=True)
    result_file = work / "result.json"
    result_file.unlink(missing_ok=True)
    ini_path = str((repo / ini).resolve()) if ini else ""
    cwd = Path(ini_path).parent if ini_path else repo
    run = run_bounded([str(python), str(script), str(database), ini_path, script_location, str(result_file),
                       "1" if roundtrip else "0"], cwd=cwd, env=_env(repo, extra_env, f"sqlite:///{database}"),
                      timeout_s=timeout_s, log_path=work / "scratch.log", should_stop=should_stop)
    result = ScratchResult()
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
        result.error = f"the scratch run failed (exit {run.returncode}): {run.last_line() or 'no output'}"[:400]
    return result


def run_django_check(python: Path, manage: Path, repo: Path, tmp: Path, *, timeout_s: float,
                     extra_env: dict[str, str], should_stop: Callable[[], bool]) -> tuple[bool | None, str]:
    """(drift?, output): makemigrations --check --dry-run exits 1 when models have changes without a
    migration; it writes nothing. None when it could not run."""
    database = tmp / "scratch" / "django.sqlite"
    database.parent.mkdir(parents=True, exist_ok=True)
    run = run_bounded([str(python), str(manage), "makemigrations", "--check", "--dry-run", "--no-input"],
                      cwd=manage.parent, env=_env(repo, extra_env, f"sqlite:///{database}"), timeout_s=timeout_s,
                      log_path=tmp / "scratch" / "makemigrations.log", should_stop=should_stop)
    if run.returncode == 0:
        return False, run.output
    if run.returncode == 1 and "Migrations for" in run.output:
        return True, run.output
    if run.timed_out:
        return None, f"makemigrations --check did not finish within {timeout_s:.0f} s"
    return None, f"makemigrations --check failed (exit {run.returncode}): {run.last_line()}"[:400]
