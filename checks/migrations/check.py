"""The migrations check: read the migrations with ``ast`` (alembic_repo.py, django_repo.py), build the
graph (graph.py), judge the operations (judge.py, pure), and run them in the core's sandbox on a scratch
database (scratch.py: the server's when one is known, else SQLite) for model drift and reversibility."""

from __future__ import annotations

import contextlib
import re
from pathlib import Path
from typing import Any, ClassVar

from auditor.interface import AuditContext, CheckError, CheckSkipped, Safety
from auditor.model import Finding, Outcome, Section, Severity, Status
from auditor.projectkind import detect as detect_kind
from auditor.redact import redact
from auditor.sandbox import Sandbox, SandboxError, one_line
from auditor.sandbox.failure import missing_module

from auditor.git import GitError, git, merge_base
from checks.migrations import alembic_repo, django_repo, scratch
from checks.migrations.config import MigrationsConfig
from checks.migrations.graph import Graph, build
from checks.migrations.judge import judge_history
from checks.migrations.model import History, Migration
from checks.migrations.rules import make_finding

_PG_HINT = re.compile(r"postgres|psycopg|asyncpg|dialects\.postgresql", re.I)
_MYSQL_HINT = re.compile(r"mysql|mariadb|pymysql|aiomysql|asyncmy|dialects\.mysql", re.I)
_SQLITE_HINT = re.compile(r"sqlite", re.I)
# What SQLite cannot do that server databases can: such a failure says nothing about the migration.
_SQLITE_LIMIT = re.compile(r'near "(?:ALTER|TYPE|USING|CONSTRAINT|DROP|EXTENSION|SEQUENCE|SCHEMA|CONCURRENTLY)"|'
                           r"No support for ALTER of constraints in SQLite|SQLite does not support|"
                           r"Cannot add a (?:NOT NULL|UNIQUE|PRIMARY KEY) column|sqlite3?\.OperationalError: near|"
                           r"unknown database|no such function|syntax error", re.I)
_SETTINGS_SQLITE = re.compile(r"sqlite", re.I)
_SETTINGS_PG = re.compile(r"postgres|mysql|scheme", re.I)
MAX_OPS_TEXT = 200
_ENGINE_NAMES = {"sqlite": "SQLite", "postgresql": "PostgreSQL", "mysql": "MariaDB/MySQL"}


class MigrationsCheck:
    id: ClassVar[str] = "migrations"
    title: ClassVar[str] = "Database migrations"
    section: ClassVar[Section] = Section.MIGRATIONS
    needs: ClassVar[frozenset[str]] = frozenset({"repo"})
    safety: ClassVar[Safety] = Safety.PASSIVE
    config_model: ClassVar[type[MigrationsConfig]] = MigrationsConfig

    def run(self, ctx: AuditContext) -> Outcome:
        config = ctx.config if isinstance(ctx.config, MigrationsConfig) else MigrationsConfig.model_validate(
            ctx.config.model_dump())
        if ctx.target.repo is None:
            raise CheckError("no repository to read")
        repo = Path(ctx.target.repo).resolve()
        histories = [alembic_repo.load(repo, *found) for found in alembic_repo.discover(repo)]
        django_dirs = django_repo.discover(repo)
        if django_dirs:
            histories.append(django_repo.load(repo, django_dirs))
        if not histories:
            kind = detect_kind(repo)
            found = "" if kind.is_python else f" ({kind.describe()})"
            raise CheckSkipped(f"no Alembic or Django migrations found in the repo{found}")
        findings: list[Finding] = []
        metrics: dict[str, Any] = {"method": _method(config), "frameworks": sorted({h.framework for h in histories})}
        history_rows: list[dict[str, Any]] = []
        scratch_rows: list[dict[str, Any]] = []
        heads: list[str] = []
        dialect = _dialect(config, ctx, repo, histories)
        postgresql = dialect == "postgresql"
        self.dialect = dialect
        try:
            with ctx.sandbox(config) if config.scratch else contextlib.nullcontext() as sandbox:
                for history in histories:
                    graph = build(history.migrations)
                    findings += judge_history(history, graph, dialect=dialect)
                    history_rows += _history_rows(history, graph)
                    heads += [h for branch in graph.heads.values() for h in branch]
                    if sandbox is not None and not ctx.should_stop():
                        findings += self._scratch(ctx, config, sandbox, repo, history, graph, scratch_rows)
        except SandboxError as exc:
            raise CheckError(str(exc)) from None
        if sandbox is not None and scratch_rows:
            # Described after the sandbox closed: the scratch database's drop is part of the record.
            metrics["sandbox"] = sandbox.describe()
            metrics["method"] += " Sandbox: " + sandbox.sentence()
        metrics.update(migrations=len(history_rows), heads=heads, postgresql=postgresql, dialect=dialect or "unknown",
                       history=history_rows)
        status = None
        if scratch_rows:
            metrics["scratch"] = scratch_rows
            attempted = [r for r in scratch_rows if "verified" in r]
            unverified = [r for r in attempted if not r["verified"] and r["result"].startswith("not verified")]
            if unverified:
                # Shown apart from findings (not a failure), each with the action that would verify it.
                metrics["not_verified"] = [
                    {"what": f"{r['framework']} migrations ({r['location']}) {r['result'].split(':', 1)[0]}",
                     "action": ("give --db-url (a PostgreSQL or MariaDB server for a scratch database)"
                                if "on SQLite" in r["result"] else one_line(r["result"].split("; ", 1)[-1], 160))}
                    for r in unverified]
            if attempted and not any(r["verified"] for r in attempted):
                # Nothing was applied anywhere: drift and rollback unverified. Never a quiet pass, and a run
                # of this check alone is never READY (auditor.gate.verified).
                metrics["verified"] = False
                status = Status.WARN
        base_ref = ctx.settings.get("base_ref")
        if base_ref:
            try:
                metrics["changes_since_base"] = _changes(repo, str(base_ref), histories)
            except GitError as exc:
                raise CheckError(f"--base-ref: {exc}") from None
            metrics["base_ref"] = str(base_ref)
            _settle_merged(findings, metrics["changes_since_base"], str(base_ref))
        return Outcome(summary=_summary(histories, heads, findings, scratch_rows, metrics), metrics=metrics,
                       findings=findings, status=status)

    def _scratch(self, ctx: AuditContext, config: MigrationsConfig, sandbox: Sandbox, repo: Path, history: History,
                 graph: Graph, rows: list[dict[str, Any]]) -> list[Finding]:
        if history.problems or graph.duplicates or graph.missing_parents or graph.cycle or not history.migrations:
            rows.append({"framework": history.framework, "location": history.location,
                         "result": "not run: the migration chain is broken or empty"})
            return []
        timeout = max(1.0, min(config.timeout, ctx.remaining() - 5))
        location = {"file": history.ini or history.location}
        if history.framework == "alembic":
            ctx.progress(f"applying {history.location} to a scratch database")
            extra = _flask_env(repo, config) if history.flask else {}
            result = scratch.run_alembic(sandbox, history.ini, history.script_location or "",
                                         roundtrip=config.roundtrip, timeout_s=timeout, flask=history.flask,
                                         extra_env=extra)
            return judge_scratch(result, history, location, rows, sandbox, self.dialect)
        manage = next((p for p in (repo / "manage.py", *repo.glob("*/manage.py")) if p.is_file()), None)
        if manage is None:
            rows.append({"framework": "django", "location": history.location, "result": "not run: no manage.py"})
            return []
        ctx.progress("migrate and makemigrations --check on a scratch database")
        apps = sorted({m.app for m in history.migrations if m.app})
        result = scratch.run_django(sandbox, manage, _settings_module(manage), apps, roundtrip=config.roundtrip,
                                    timeout_s=timeout)
        return judge_scratch(result, history, location, rows, sandbox, self.dialect)


def _settings_module(manage: Path) -> str | None:
    try:
        match = re.search(r"DJANGO_SETTINGS_MODULE[\"']?\s*,\s*[\"']([\w.]+)[\"']",
                          manage.read_text(encoding="utf-8", errors="replace"))
    except OSError:
        return None
    return match.group(1) if match else None


def _flask_env(repo: Path, config: MigrationsConfig) -> dict[str, str]:
    """FLASK_APP from the repo's .flaskenv (as the flask command reads it), unless configured: the
    sandbox's environment does not inherit the user's."""
    if "FLASK_APP" in config.env:
        return {}
    try:
        text = (repo / ".flaskenv").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return {}
    match = re.search(r"^\s*(?:export\s+)?FLASK_APP\s*=\s*[\"']?([^\"'\s#]+)", text, re.M)
    return {"FLASK_APP": match.group(1)} if match else {}


def judge_scratch(result: scratch.ScratchResult, history: History, location: dict[str, Any],
                  rows: list[dict[str, Any]], sandbox: Sandbox, dialect: str) -> list[Finding]:
    """Findings and the report row of one scratch run. Only a failure the repo's migrations caused on an
    engine that can run them is a finding: a failure before any migration ran (the app, its settings, a
    missing package) or SQLite's own limits leave the migrations "not verified", said with the reason."""
    engine = _ENGINE_NAMES[result.engine]
    tool = "alembic" if history.framework == "alembic" else "manage.py migrate"
    row: dict[str, Any] = {"framework": history.framework, "location": history.location, "engine": result.engine}
    failed = next((s for s in result.steps if not s["ok"]), None)
    if result.error and not result.steps:
        if "did not finish" in result.error:
            row.update(verified=False, result=f"upgrade timed out on {engine}", error=result.error)
            rows.append(row)
            return [make_finding("MIG008", f"Applying the migrations to a scratch {engine} database {result.error}.",
                                 location)]
        row.update(verified=False, result=one_line(f"not verified: {result.error}", 200), error=result.error)
        rows.append(row)
        return []
    if failed is not None and failed["step"] in ("upgrade", "load the Flask app", "load the Django settings"):
        error = failed.get("error", "")
        module = missing_module(error + "\n" + failed.get("trace", ""))
        # A missing package is the cause whatever wraps it (Flask's NoAppException quotes the ImportError).
        cause = sandbox.cause(f"ModuleNotFoundError: No module named '{module}'") if module else one_line(error)
        in_migration = failed.get("migration_file")
        row["error"] = redact(error)
        row["verified"] = False
        if result.engine == "sqlite" and _sqlite_says_nothing(error, bool(in_migration), dialect):
            row["result"] = one_line(f"not verified on SQLite: give --db-url ({cause})", 220)
            rows.append(row)
            return []
        if not in_migration:
            hint = ("give the settings' variables with [tool.auditor.migrations] env"
                    + (", FLASK_APP for a Flask app" if history.flask else "")
                    + ("" if result.engine != "sqlite" else ", or --db-url for a PostgreSQL/MariaDB scratch database"))
            row["result"] = one_line(f"not verified: {failed['step']} failed before any migration ran ({cause}); "
                                     f"{hint}", 260)
            rows.append(row)
            return []
        where = _rel_file(in_migration, sandbox.repo)
        row["result"] = one_line(f"upgrade failed on {engine} in {where}: {cause}", 220)
        rows.append(row)
        file_location = {"file": where} if "/" in where or where.endswith(".py") else location
        return [make_finding("MIG008", one_line(f"`{tool}` on a scratch {engine} database failed in {where}: "
                                                f"{redact(error)}", 500), file_location,
                             evidence=_tail(failed.get("trace", "")))]
    findings: list[Finding] = []
    row["verified"] = True
    parts = ["upgrade ok"]
    if result.drift:
        parts.append(f"{len(result.drift)} difference(s) between models and migrations")
        findings.append(make_finding("MIG005", f"{'Autogenerate' if history.framework == 'alembic' else 'makemigrations --check'}"
                                     f" found {len(result.drift)} difference(s) between the models and the schema "
                                     "the migrations create.", location, evidence="\n".join(result.drift[:15])))
    elif result.drift == []:
        parts.append("models match")
    elif result.drift_error:
        parts.append(one_line(f"models not compared: {redact(result.drift_error)}", 160))
    for step in ("downgrade", "upgrade again"):
        failed_step = result.failed(step)
        stopped_at = _known_irreversible(failed_step.get("error", ""), history) if failed_step else None
        if step == "downgrade" and stopped_at:
            # Django refuses to unapply a migration without reverse code: that is MIG003 on its file,
            # already reported; a MIG007 for it would be the same problem twice.
            parts.append(f"downgrade stops at {stopped_at} (irreversible, MIG003)")
            break
        if failed_step:
            parts.append(f"{step} failed")
            what = (f"alembic {'downgrade base' if step == 'downgrade' else 'upgrade heads'}"
                    if history.framework == "alembic" else
                    ("manage.py migrate <app> zero" if step == "downgrade" else "manage.py migrate"))
            findings.append(make_finding("MIG007", one_line(f"`{what}` after upgrading failed on the scratch {engine} "
                                                            f"database: {redact(failed_step['error'])}", 500),
                                         location, evidence=_tail(failed_step.get("trace", "")), key=step))
            break
        if result.ok(step):
            parts.append(f"{step} ok")
    row["result"] = "; ".join(parts)
    row["drift"] = result.drift or []
    rows.append(row)
    return findings


_IRREVERSIBLE = re.compile(r"IrreversibleError: Operation .* in ([\w.]+) is not reversible")


def _known_irreversible(error: str, history: History) -> str | None:
    """The migration a Django downgrade stopped at with IrreversibleError, when the static reading found
    it irreversible too (MIG003), else None."""
    match = _IRREVERSIBLE.search(error or "")
    if not match:
        return None
    return next((m.id for m in history.migrations if m.id == match.group(1) and m.irreversible_reason), None)


def _sqlite_says_nothing(error: str, in_migration: bool, dialect: str) -> bool:
    """A failure on the SQLite fallback that is SQLite's limit, not the migrations' fault: the repo targets
    a server database, or the error is one SQLite gives for what servers support, or the settings refuse a
    sqlite URL."""
    if not in_migration:
        # Before any migration ran: only a settings class refusing the sqlite URL is SQLite's doing; a
        # missing package or an app that cannot load is the environment's, whatever the engine.
        return bool(_SETTINGS_SQLITE.search(error) and _SETTINGS_PG.search(error)) and not missing_module(error)
    return dialect in ("postgresql", "mysql") or bool(_SQLITE_LIMIT.search(error))


def _rel_file(path: str, repo: Path) -> str:
    try:
        return Path(path).resolve().relative_to(repo.resolve()).as_posix()
    except (ValueError, OSError):
        return path


def _dialect(config: MigrationsConfig, ctx: AuditContext, repo: Path, histories: list[History]) -> str:
    """The database the migrations target: configured, else the strongest hint among --db-url, alembic.ini's
    URL, the migrations' own PostgreSQL/MySQL imports, and the repo's dependency files; "" when unknown."""
    if config.dialect != "auto":
        return "" if config.dialect == "other" else config.dialect
    server = str(ctx.settings.get("scratch_db_url") or ctx.settings.get("db_url") or "")
    for text in [server] + [h.url_hint for h in histories]:
        for name, pattern in (("postgresql", _PG_HINT), ("mysql", _MYSQL_HINT), ("sqlite", _SQLITE_HINT)):
            if text and pattern.search(text.split("://", 1)[0]):
                return name
    sources = [op.source for h in histories for m in h.migrations for op in m.upgrade]
    if any("postgresql" in src for src in sources):
        return "postgresql"
    if any("mysql" in src for src in sources):
        return "mysql"
    hints = []
    # requirements/base.txt and the like too: a root requirements.txt is often just "-r requirements/base.txt".
    names = ["requirements.txt", "pyproject.toml", "setup.cfg", "Pipfile",
             *sorted(p.relative_to(repo).as_posix() for p in repo.glob("requirements/*.txt"))[:10]]
    for name in names:
        path = repo / name
        if path.is_file():
            try:
                hints.append(path.read_text(encoding="utf-8", errors="replace")[:200_000])
            except OSError:
                pass
    text = "\n".join(hints)
    if _PG_HINT.search(text):
        return "postgresql"
    if re.search(r"pymysql|mysqlclient|aiomysql|asyncmy|mysql-connector", text, re.I):
        return "mysql"
    return ""


def _ops_text(m: Migration) -> str:
    text = ", ".join(op.describe() for op in m.upgrade) or "no operations"
    return text if len(text) <= MAX_OPS_TEXT else text[: MAX_OPS_TEXT - 1] + "…"


def _history_rows(history: History, graph: Graph) -> list[dict[str, Any]]:
    head_ids = {h for branch in graph.heads.values() for h in branch}
    return [{"order": index + 1, "id": m.id, "parents": ", ".join(m.parents) or "(base)", "message": m.message,
             "file": m.file, "created": m.create_date, "operations": _ops_text(m),
             "reversible": m.irreversible_reason is None, "head": m.id in head_ids}
            for index, m in enumerate(graph.ordered)]


def _changes(repo: Path, ref: str, histories: list[History]) -> list[dict[str, Any]]:
    """Migration files added, modified or deleted since the merge base of ref and HEAD (and untracked ones)."""
    base = merge_base(repo, ref)
    by_file = {m.file: m for h in histories for m in h.migrations}
    dirs = sorted({str(Path(m.file).parent) for m in by_file.values()})
    if not dirs:
        return []
    prefix = git(repo, "rev-parse", "--show-prefix").strip()
    rows: list[dict[str, Any]] = []
    out = git(repo, "diff", "--name-status", "--no-renames", "--relative", base, "--", *dirs)
    untracked = git(repo, "ls-files", "--others", "--exclude-standard", "--", *dirs)
    entries = [line.split("\t", 1) for line in out.splitlines() if "\t" in line]
    entries += [["A", name] for name in untracked.splitlines()]
    words = {"A": "added", "M": "modified", "D": "deleted"}
    for status, name in entries:
        name = name.removeprefix(prefix)
        if not name.endswith(".py") or name.endswith("__init__.py"):
            continue
        m = by_file.get(name)
        rows.append({"change": words.get(status[:1], status), "file": name, "id": m.id if m else "",
                     "message": m.message if m else "", "operations": _ops_text(m) if m else ""})
    return rows


# Rules about what one migration file does: with --base-ref, a file merged before it is history (applied
# wherever the base runs), not a change under review.
_PER_FILE_RULES = frozenset({"MIG001", "MIG002", "MIG003", "MIG006"})


def _settle_merged(findings: list[Finding], changes: list[dict[str, Any]], base_ref: str) -> None:
    """Per-file findings on migrations unchanged since the base become info, saying why: the reviewer
    gates on the migrations the change adds (a destructive drop merged two years ago already ran)."""
    changed = {row["file"] for row in changes if row["change"] != "deleted"}
    for finding in findings:
        if finding.rule_id in _PER_FILE_RULES and finding.location.get("file") not in changed:
            finding.severity = Severity.INFO
            finding.message += f" (merged before {base_ref}: history, not a change under review)"


def _method(config: MigrationsConfig) -> str:
    text = "Migration files read with Python's ast (never imported)"
    if config.scratch:
        text += ("; then run in the repo's interpreter on a scratch database, on the server of --db-url or "
                 "scratch_db_url when one is given (the service's engine), else a SQLite file in a temp dir, with "
                 "every engine or Django database alias forced onto it: Alembic upgrade (Flask-Migrate layouts "
                 "inside the app's context), autogenerate compare with the models"
                 + (", downgrade to base, upgrade again" if config.roundtrip else "")
                 + "; Django migrate, makemigrations --check --dry-run"
                 + (", every app to zero and migrate again" if config.roundtrip else "")
                 + ". A failure inside a migration is a finding; one before any migration ran (the app, its "
                   "settings, a missing package) or one that is SQLite's limit (the repo targets another "
                   "database) leaves the migrations not verified, with the reason")
    return text + "."


def _summary(histories: list[History], heads: list[str], findings: list[Finding], scratch_rows: list[dict[str, Any]],
             metrics: dict[str, Any]) -> str:
    count = metrics["migrations"]
    frameworks = "/".join(sorted({h.framework for h in histories}))
    parts = [f"{frameworks}: {count} migration{'s' if count != 1 else ''}"
             + (f", head {heads[0]}" if len(heads) == 1 else f", {len(heads)} heads" if heads else "")]
    if scratch_rows:
        # One line on the console whatever the error (a multi-line SQL error too): the full text is in
        # the report's scratch rows and findings.
        parts.append(one_line("; ".join(str(r["result"]) + (f" (scratch {_ENGINE_NAMES[r['engine']]} database)"
                                                             if r.get("verified") else "")
                                        for r in scratch_rows), 260))
    if "changes_since_base" in metrics:
        parts.append(f"{len(metrics['changes_since_base'])} migration file(s) changed since {metrics['base_ref']}")
    if not findings:
        parts.append("no findings")
    return one_line("; ".join(parts), 400)


def _tail(text: str, lines: int = 12) -> str:
    kept = [line for line in text.splitlines() if line.strip()][-lines:]
    return redact("\n".join(line[:200] for line in kept))
