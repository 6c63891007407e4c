"""The migrations check: read the migrations with ``ast`` (alembic_repo.py, django_repo.py), build the
graph (graph.py), judge the operations (judge.py, pure), and run them in the core's sandbox on a scratch
database (scratch.py: the server's when one is known, else SQLite) for model drift and reversibility."""

from __future__ import annotations

import contextlib
import re
from pathlib import Path
from typing import Any, ClassVar

from auditor.interface import AuditContext, CheckError, CheckSkipped, Safety
from auditor.model import Finding, Outcome, Section
from auditor.redact import redact
from auditor.sandbox import Sandbox, SandboxError

from auditor.git import GitError, git, merge_base
from checks.migrations import alembic_repo, django_repo, scratch
from checks.migrations.config import MigrationsConfig
from checks.migrations.graph import Graph, build
from checks.migrations.judge import judge_history
from checks.migrations.model import History, Migration
from checks.migrations.rules import make_finding

_PG_HINT = re.compile(r"postgres|psycopg|asyncpg|dialects\.postgresql", re.I)
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
            raise CheckSkipped("no Alembic or Django migrations found in the repo")
        findings: list[Finding] = []
        metrics: dict[str, Any] = {"method": _method(config), "frameworks": sorted({h.framework for h in histories})}
        history_rows: list[dict[str, Any]] = []
        scratch_rows: list[dict[str, Any]] = []
        heads: list[str] = []
        postgresql = _is_postgresql(config, ctx, repo, histories)
        try:
            with ctx.sandbox(config) if config.scratch else contextlib.nullcontext() as sandbox:
                for history in histories:
                    graph = build(history.migrations)
                    findings += judge_history(history, graph, postgresql=postgresql)
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
        metrics.update(migrations=len(history_rows), heads=heads, postgresql=postgresql, history=history_rows)
        if scratch_rows:
            metrics["scratch"] = scratch_rows
        base_ref = ctx.settings.get("base_ref")
        if base_ref:
            try:
                metrics["changes_since_base"] = _changes(repo, str(base_ref), histories)
            except GitError as exc:
                raise CheckError(f"--base-ref: {exc}") from None
            metrics["base_ref"] = str(base_ref)
        return Outcome(summary=_summary(histories, heads, findings, scratch_rows, metrics), metrics=metrics,
                       findings=findings)

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
            result = scratch.run_alembic(sandbox, history.ini, history.script_location or "",
                                         roundtrip=config.roundtrip, timeout_s=timeout)
            return _judge_alembic_scratch(result, history, location, rows)
        manage = next((p for p in (repo / "manage.py", *repo.glob("*/manage.py")) if p.is_file()), None)
        if manage is None:
            rows.append({"framework": "django", "location": history.location, "result": "not run: no manage.py"})
            return []
        ctx.progress("makemigrations --check --dry-run")
        drift, output = scratch.run_django_check(sandbox, manage, timeout_s=timeout)
        if drift is None:
            output = redact(output)
            rows.append({"framework": "django", "location": history.location, "result": output})
            return [make_finding("MIG008", f"Model drift could not be checked: {output}", location,
                                 title="makemigrations --check could not run")]
        rows.append({"framework": "django", "location": history.location,
                     "result": "models differ from the migrations" if drift else "models match the migrations"})
        if drift:
            return [make_finding("MIG005", "manage.py makemigrations --check found model changes without a "
                                 "migration.", location, evidence=_tail(output))]
        return []


def _judge_alembic_scratch(result: scratch.ScratchResult, history: History, location: dict[str, Any],
                           rows: list[dict[str, Any]]) -> list[Finding]:
    findings: list[Finding] = []
    row: dict[str, Any] = {"framework": "alembic", "location": history.location}
    if result.error or result.failed("upgrade"):
        failed = result.failed("upgrade")
        why = redact(result.error or (failed or {}).get("error", ""))
        row["result"] = f"upgrade failed: {why}"[:300]
        rows.append(row)
        return [make_finding("MIG008", f"`alembic upgrade heads` on a scratch {_ENGINE_NAMES[result.engine]} database "
                             f"failed: {why}"[:500],
                             location, evidence=_tail((failed or {}).get("trace", "")))]
    parts = ["upgrade ok"]
    if result.drift:
        parts.append(f"{len(result.drift)} difference(s) between models and migrations")
        findings.append(make_finding("MIG005", f"Autogenerate found {len(result.drift)} difference(s) between the "
                                     "models and the schema the migrations create.", location,
                                     evidence="\n".join(result.drift[:15])))
    elif result.drift == []:
        parts.append("models match")
    elif result.drift_error:
        parts.append(f"models not compared: {redact(result.drift_error)}"[:200])
    for step in ("downgrade", "upgrade again"):
        failed = result.failed(step)
        if failed:
            parts.append(f"{step} failed")
            findings.append(make_finding("MIG007", f"`alembic {'downgrade base' if step == 'downgrade' else 'upgrade heads'}`"
                                         f" after upgrading failed on the scratch database: {redact(failed['error'])}"[:500],
                                         location, evidence=_tail(failed.get("trace", "")), key=step))
            break
        if result.ok(step):
            parts.append(f"{step} ok")
    row["result"] = "; ".join(parts)
    row["drift"] = result.drift or []
    rows.append(row)
    return findings


def _is_postgresql(config: MigrationsConfig, ctx: AuditContext, repo: Path, histories: list[History]) -> bool:
    if config.dialect != "auto":
        return config.dialect == "postgresql"
    hints = [h.url_hint for h in histories] + [str(ctx.settings.get("db_url") or "")]
    for name in ("requirements.txt", "pyproject.toml", "setup.cfg", "Pipfile"):
        path = repo / name
        if path.is_file():
            try:
                hints.append(path.read_text(encoding="utf-8", errors="replace")[:200_000])
            except OSError:
                pass
    for history in histories:
        for m in history.migrations:
            hints += [op.source for op in m.upgrade if "postgresql" in op.source]
    return any(_PG_HINT.search(h) for h in hints if h)


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


def _method(config: MigrationsConfig) -> str:
    text = "Migration files read with Python's ast (never imported)"
    if config.scratch:
        text += ("; then run in the repo's interpreter on a scratch database (on the server of --db-url or "
                 "scratch_db_url when one is given, else a SQLite file in a temp dir; every engine forced onto it): "
                 "Alembic upgrade, autogenerate compare with the models"
                 + (", downgrade to base, upgrade again" if config.roundtrip else "")
                 + "; Django makemigrations --check --dry-run")
    return text + "."


def _summary(histories: list[History], heads: list[str], findings: list[Finding], scratch_rows: list[dict[str, Any]],
             metrics: dict[str, Any]) -> str:
    count = metrics["migrations"]
    frameworks = "/".join(sorted({h.framework for h in histories}))
    parts = [f"{frameworks}: {count} migration{'s' if count != 1 else ''}"
             + (f", head {heads[0]}" if len(heads) == 1 else f", {len(heads)} heads" if heads else "")]
    if scratch_rows:
        parts.append("; ".join(str(r["result"]) for r in scratch_rows)[:200])
    if "changes_since_base" in metrics:
        parts.append(f"{len(metrics['changes_since_base'])} migration file(s) changed since {metrics['base_ref']}")
    if not findings:
        parts.append("no findings")
    return "; ".join(parts)


def _tail(text: str, lines: int = 12) -> str:
    kept = [line for line in text.splitlines() if line.strip()][-lines:]
    return redact("\n".join(line[:200] for line in kept))
