"""The dependencies check: gather (read the repo's manifests and lock files; ask a vulnerability source
about the exact pins), then judge (judge.py, pure).

Never a false clean pass: a package the source could not check is "not audited" (DEP020) and the check is
then "warn" (or "error" with require_audit = true), never "pass"."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from auditor.interface import AuditContext, CheckError, CheckSkipped, Safety
from auditor.model import Outcome, Section
from auditor.projectkind import detect as detect_kind
from auditor.repo_scope import RepoScope

from checks.dependencies import manifests
from checks.dependencies.config import DependenciesConfig
from checks.dependencies.judge import judge
from checks.dependencies.model import SourceResult
from checks.dependencies.sources.interface import SourceUnavailable, VulnerabilitySource
from checks.dependencies.sources.osv_offline import OsvOfflineSource
from checks.dependencies.sources.pip_audit import PipAuditSource

OFFLINE_HINT = "give --vuln-db DIR (an OSV database) to audit offline"


class DependenciesCheck:
    id: ClassVar[str] = "dependencies"
    title: ClassVar[str] = "Vulnerable dependencies"
    section: ClassVar[Section] = Section.SECURITY
    needs: ClassVar[frozenset[str]] = frozenset({"repo"})
    safety: ClassVar[Safety] = Safety.PASSIVE
    config_model: ClassVar[type[DependenciesConfig]] = DependenciesConfig

    def run(self, ctx: AuditContext) -> Outcome:
        config = ctx.config if isinstance(ctx.config, DependenciesConfig) else DependenciesConfig.model_validate(
            ctx.config.model_dump())
        repo = ctx.target.repo
        if repo is None or not Path(repo).is_dir():
            raise CheckError(f"repo {repo} is not a directory")
        vuln_db = ctx.settings.get("vuln_db")
        vuln_db = Path(vuln_db) if vuln_db else None

        ctx.progress("reading dependency manifests")
        scope = RepoScope.of(Path(repo))
        inventory = manifests.read_inventory(Path(repo), extra=config.manifests, exclude=config.exclude,
                                             max_bytes=config.max_file_bytes, should_stop=ctx.should_stop,
                                             scope=scope)
        if not inventory.manifests and not inventory.problems:
            if not inventory.complete:
                raise CheckError("stopped before any dependency manifest was read (deadline or interrupt)")
            raise CheckSkipped("no requirements files, pyproject.toml, Pipfile, package.json or lock files in the "
                               f"repo or up to its git root ({detect_kind(Path(repo)).describe()})")

        source = _source(config, vuln_db)
        packages = sorted(inventory.pins())
        result: SourceResult | None = None
        if packages:
            try:
                result = source.audit(packages, ctx, ctx.progress)
            except SourceUnavailable as exc:
                raise CheckError(str(exc)) from None
        judgement = judge(inventory, result, vuln_db=vuln_db if isinstance(source, OsvOfflineSource) else None,
                          require_audit=config.require_audit, method=_method(source, vuln_db) + f" ({scope.sentence()})")
        judgement.metrics["scope"] = scope.describe()
        summary = judgement.summary
        if inventory.parent_locks:
            summary += f"; pins from {', '.join(inventory.parent_locks)} (up to the git root)"
        if result is not None and result.not_audited and not isinstance(source, OsvOfflineSource):
            summary += f"; {OFFLINE_HINT}"
        return Outcome(summary=summary, metrics=judgement.metrics, findings=judgement.findings,
                       status=judgement.status)


def _source(config: DependenciesConfig, vuln_db: Path | None) -> VulnerabilitySource:
    if config.source == "osv" or (config.source == "auto" and vuln_db is not None):
        if vuln_db is None:
            raise CheckError("dependencies: source = \"osv\" needs an OSV database: give --vuln-db DIR")
        if not vuln_db.is_dir():
            raise CheckError(f"--vuln-db {vuln_db} is not a directory")
        return OsvOfflineSource(vuln_db, max_bytes=config.max_file_bytes)
    return PipAuditSource(service=config.service, osv_url=config.osv_url, timeout=config.timeout)


def _method(source: VulnerabilitySource, vuln_db: Path | None) -> str:
    read = ("Read the repo's requirements files (pip's grammar, -r includes inside the repo followed), "
            "pyproject.toml dependencies (PEP 621, dependency groups, Poetry), Pipfile and the lock files "
            "poetry.lock, uv.lock, Pipfile.lock and pylock.toml, package.json with npm's package-lock.json, "
            "yarn.lock and pnpm-lock.yaml, and Go's go.sum, without running any of the repo's code; lock files "
            "in the directories above the repo up to its git root count for the packages the repo depends on "
            "(a workspace lock pins its members); ")
    if isinstance(source, OsvOfflineSource):
        return read + (f"matched every exactly pinned version against the OSV records in {vuln_db} locally "
                       "(PyPI with packaging: ECOSYSTEM ranges, PEP 503 names; npm and Go with SemVer; explicit "
                       "version lists; aliases merged); packages without an exact pin are not audited.")
    return read + (f"sent every exactly pinned PyPI version to {source.name} (--no-deps: nothing resolved or "
                   "installed); packages pip-audit skipped or could not check, npm and Go packages (pip-audit "
                   "knows PyPI only: give --vuln-db), and packages without an exact pin, are not audited.")
