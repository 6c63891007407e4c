"""The security check: a repository part (bandit, committed secrets) and a service part (safe probes).

Each part runs when its target is there: the repo part when ctx.target.repo is a directory, the
service part when ctx.target.url is set; the check is skipped when neither is. Gather (bandit_scan,
secrets_scan, probes), then judge (pure functions in the same modules and service_judge.py).
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import Any, ClassVar

from auditor.interface import AuditContext, CheckError, CheckSkipped, Safety
from auditor import repo_context
from auditor.repo_context import FileContext
from auditor.model import Finding, Outcome, Section, Severity, Status
from auditor.planner import summarise

from checks.security import bandit_scan, secrets_scan, service_judge
from checks.security.config import SecurityConfig
from checks.security.probes import Prober
from checks.security.repo_files import FileSet, list_files


class SecurityCheck:
    id: ClassVar[str] = "security"
    title: ClassVar[str] = "Security of code and service"
    section: ClassVar[Section] = Section.SECURITY
    # Empty: the check decides itself which part applies (repo and/or service), see run().
    needs: ClassVar[frozenset[str]] = frozenset()
    safety: ClassVar[Safety] = Safety.PASSIVE
    config_model: ClassVar[type[SecurityConfig]] = SecurityConfig

    def run(self, ctx: AuditContext) -> Outcome:
        config = ctx.config if isinstance(ctx.config, SecurityConfig) else SecurityConfig.model_validate(
            ctx.config.model_dump())
        repo = ctx.target.repo
        do_repo = repo is not None and Path(repo).is_dir() and (config.bandit or config.secrets)
        do_service = bool(ctx.target.url) and config.service
        if repo is not None and not Path(repo).is_dir():
            raise CheckError(f"repository {repo} is not a directory")
        if not do_repo and not do_service:
            raise CheckSkipped("no repository (--repo) and no service (--url/--serve) to check"
                               if not (repo or ctx.target.url) else "both parts are switched off in config")
        findings: list[Finding] = []
        metrics: dict[str, Any] = {}
        summaries: list[str] = []
        status: Status | None = None
        if do_repo:
            assert repo is not None
            repo_findings, repo_metrics, repo_summary, repo_complete = _repo_part(ctx, config, Path(repo))
            findings += repo_findings
            metrics.update(repo_metrics)
            summaries.append(repo_summary)
            if not repo_complete:
                status = Status.WARN
        if do_service:
            service_findings, service_metrics, service_summary, complete = _service_part(ctx, config)
            findings += service_findings
            metrics.update(service_metrics)
            summaries.append(service_summary)
            if not complete:
                summaries.append("stopped at the deadline: not every probe was sent")
                status = Status.WARN
        metrics["findings_by_rule"] = _count_by_rule(findings)
        return Outcome(summary="; ".join(summaries), metrics=metrics, findings=findings, status=status)


def _count_by_rule(findings: list[Finding]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for finding in findings:
        counts[finding.rule_id] = counts.get(finding.rule_id, 0) + 1
    return dict(sorted(counts.items()))


def auditor_outputs(settings: dict[str, Any], repo: Path) -> list[str]:
    """Exclude globs for the auditor's own files inside the repo: the output directory (an untracked
    earlier report.json is full of hex fingerprints, "secrets" to an entropy scanner) and the --baseline."""
    root = Path(os.path.realpath(repo))
    globs = []
    for key, below in (("output_dir", True), ("baseline", False), ("ignore_file", False)):
        value = settings.get(key)
        if not value:
            continue
        path = Path(os.path.realpath(Path(value)))
        if root in path.parents:
            rel = path.relative_to(root).as_posix()
            globs.append(f"{rel}/*" if below else rel)
    return globs


def _repo_part(ctx: AuditContext, config: SecurityConfig, repo: Path
               ) -> tuple[list[Finding], dict[str, Any], str, bool]:
    context = repo_context.for_repo(repo)   # production code / tests / docs / CI / migrations / seed scripts
    ctx.progress("listing repository files")
    files: FileSet = list_files(repo, exclude=config.exclude + auditor_outputs(ctx.settings, repo),
                                max_bytes=int(config.max_file_mb * 1_000_000))
    by_rel = {f.rel: f for f in files.files}
    findings: list[Finding] = []
    metrics: dict[str, Any] = {"files_listed_by": files.source, "files_scanned": len(files.files)}
    parts: list[str] = []
    secrets_found: list[str] = []
    secrets_by_file: dict[str, list[str]] = {}
    complete = True

    # bandit is a subprocess: it runs in a thread while the secret scan (in-process, CPU-bound) runs
    # here, so the repo part takes about the longer of the two rather than their sum.
    job: _BanditJob | None = None
    python: list[str] = []
    if config.bandit:
        python = [f.rel for f in files.files if f.rel.endswith(".py")
                  and (config.bandit_tests or context(f.rel) is not FileContext.TEST)]
        extra, sources = bandit_scan.config_args(repo)
        metrics.update(bandit_files=len(python), bandit_config=sources)
        if python:
            ctx.progress(f"bandit on {len(python)} Python files")
            job = _BanditJob(ctx, repo, python, extra, min(config.bandit_timeout_s, max(ctx.remaining() - 1, 1)))
            job.start()

    try:
        if config.secrets:
            ctx.progress("scanning for committed secrets")
            started = time.monotonic()
            found = secrets_scan.scan(files.files, work_dir=ctx.tmp_dir, should_stop=ctx.should_stop,
                                      deadline=started + min(config.secrets_timeout_s, max(ctx.remaining() - 1, 1)))
            if ctx.should_stop():
                raise CheckError("stopped while scanning for secrets (interrupted or out of time)")
            complete = not found.partial
            secrets_found = found.values()
            for hit in found.hits:
                secrets_by_file.setdefault(hit.rel, []).append(hit.value)
            secret_findings = secrets_scan.judge(found, by_rel, context)
            findings += secret_findings
            metrics.update(secrets_found=len(secret_findings), secret_identifiers_dropped=found.dropped,
                           secret_files_scanned=found.scanned,
                           secret_files_transcoded=found.transcoded,
                           secrets_scan_s=round(time.monotonic() - started, 3))
            files.skipped += found.skipped
            serious = sum(1 for f in secret_findings if f.severity.rank >= Severity.HIGH.rank)
            others = len(secret_findings) - serious
            parts.append(f"{serious} committed secret{'s' if serious != 1 else ''}"
                         + (f" ({others} lower-severity possible secret{'s' if others != 1 else ''})" if others else "")
                         + (" — secret scan cut short by its time budget" if found.partial else ""))
    finally:
        if job is not None:
            job.join()

    if config.bandit:
        if job is not None:
            if job.error is not None:
                raise CheckError(str(job.error))
            assert job.standard is not None
            # bandit's evidence quotes the lines around an issue: every secret found in the same file is
            # masked there, whole, however short or word-like (found.values() leaves those out because
            # they are masked across *all* findings, where a word would vanish from every message).
            judged, not_applicable = bandit_scan.by_context(bandit_scan.judge(job.standard, job.with_nosec, repo),
                                                            context)
            bandit_findings = [secrets_scan.mask_finding(f, secrets_by_file.get(f.location.get("file", ""), []))
                               for f in judged]
            metrics["bandit_not_applicable"] = not_applicable
            metrics["bandit_redundant"] = job.standard.redundant
            findings += bandit_findings
            issues = [f for f in bandit_findings if f.rule_id == "SEC001"]
            suppressed = sum(1 for f in issues if f.suppressed)
            metrics.update(bandit_issues=len(issues) - suppressed, bandit_suppressed=suppressed,
                           bandit_nosec_lines=job.standard.nosec, bandit_errors=len(job.standard.errors),
                           bandit_loc=job.standard.loc, bandit_s=round(job.seconds, 3))
            parts.append(f"bandit: {len(issues) - suppressed} issue{'s' if len(issues) - suppressed != 1 else ''}"
                         + (f" ({suppressed} suppressed)" if suppressed else "")
                         + f" in {len(python)} files")
        else:
            metrics.update(bandit_issues=0, bandit_suppressed=0, bandit_errors=0)
            parts.append("no Python files for bandit")

    findings += secrets_scan.skip_findings(files.skipped)
    metrics["files_skipped"] = [{"file": rel, "reason": why} for rel, why in files.skipped]
    # Other findings quote code lines (bandit's evidence): a secret found anywhere is masked everywhere.
    findings = [secrets_scan.mask_finding(f, secrets_found) for f in findings]
    return findings, metrics, "repo: " + ", ".join(parts), complete


class _BanditJob(threading.Thread):
    """bandit's standard run, then (only when it counted `# nosec` suppressions) the --ignore-nosec run
    that reveals them; bounded by one time budget and the audit's stop."""

    def __init__(self, ctx: AuditContext, repo: Path, files: list[str], extra: list[str], timeout_s: float) -> None:
        super().__init__(name="security-bandit", daemon=True)
        self.ctx, self.repo, self.files, self.extra, self.timeout_s = ctx, repo, files, extra, timeout_s
        self.standard: bandit_scan.BanditReport | None = None
        self.with_nosec: bandit_scan.BanditReport | None = None
        self.error: Exception | None = None
        self.seconds = 0.0

    def run(self) -> None:
        started = time.monotonic()
        out_dir = self.ctx.tmp_dir / "bandit"
        try:
            out_dir.mkdir(parents=True, exist_ok=True)
            self.standard = bandit_scan.run(self.repo, self.files, self.extra, out_dir=out_dir,
                                            timeout_s=self.timeout_s, should_stop=self.ctx.should_stop)
            if self.standard.nosec or self.standard.skipped_tests:
                self.with_nosec = bandit_scan.run(
                    self.repo, self.files, self.extra, out_dir=out_dir, ignore_nosec=True,
                    timeout_s=max(self.timeout_s - (time.monotonic() - started), 1), should_stop=self.ctx.should_stop)
        except Exception as exc:  # noqa: BLE001 — handed to the check's thread, which reports it
            self.error = exc
        finally:
            self.seconds = time.monotonic() - started


def _service_part(ctx: AuditContext, config: SecurityConfig) -> tuple[list[Finding], dict[str, Any], str, bool]:
    got = Prober(ctx, config).gather()
    answered = [e for e in got.exchanges if e.status is not None]
    if got.exchanges and not answered:
        raise CheckError(f"the service does not answer: {got.exchanges[0].error}")
    verdict = service_judge.judge(got, ctx.earlier)
    metrics: dict[str, Any] = {
        "spec_used": got.spec_used,
        "spec_problem": None if got.spec_used else got.spec_problem,
        "operations": got.operations,
        "secured_operations": len(got.secured_operations),
        "requests": len(got.exchanges) + max(0, got.burst_sent - len(got.by("burst"))),
        "probes": {kind: len(got.by(kind)) for kind in ("baseline", "anonymous", "authenticated", "invalid_token",
                                                         "cors_foreign", "cors_null", "cors_preflight",
                                                         "malformed", "not_found", "burst")},
        "open_operations": verdict.open_operations,
        "linked_findings": verdict.linked,
        "optional_auth_operations": verdict.optional_auth,
        "public_read_operations": verdict.public_reads,
        "excluded": [e.to_dict() for e in got.excluded],
        "rate_limit_burst": got.burst_sent or None,
    }
    parts = [f"service: {len(answered)} probes"]
    if got.spec_used:
        parts.append(f"{len(got.secured_operations)} secured operations checked for anonymous access")
    else:
        parts.append("no OpenAPI document (auth probes skipped"
                     + (f": {got.spec_problem}" if got.spec_problem else "") + ")")
    if verdict.open_operations:
        open_count = len(verdict.open_operations)
        linked = ", ".join(f"{row['endpoint']} as {row['rule_id']}" for row in verdict.linked[:3])
        parts.append(f"{open_count} open to anonymous callers"
                     + (f" ({len(verdict.linked)} already reported by openapi: {linked})" if verdict.linked else ""))
    if verdict.optional_auth:
        parts.append(f"{len(verdict.optional_auth)} with optional authentication (answer anonymous callers, "
                     f"personalised with credentials: {', '.join(verdict.optional_auth[:3])})")
    if verdict.public_reads:
        parts.append(f"{len(verdict.public_reads)} public read{'s' if len(verdict.public_reads) != 1 else ''} "
                     "under security declared on every operation (a documentation mismatch: see openapi)")
    if got.excluded:
        parts.append(summarise(got.excluded) + " (not probed)")
    burst = got.by("burst")
    if got.burst_sent and burst:
        parts.append(f"rate-limit burst: 429 after {got.burst_sent} requests" if burst[-1].status == 429
                     else f"rate-limit burst: no 429 in {got.burst_sent} requests")
    return verdict.findings, metrics, ", ".join(parts), got.complete
