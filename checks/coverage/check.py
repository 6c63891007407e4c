"""The coverage check: gather (fresh coverage data already in the repo, or the repo's tests run under
coverage in the core's sandbox: gather.py) then judge (judge.py, pure)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from auditor.git import GitError, changed_lines
from auditor.interface import AuditContext, CheckError, Safety
from auditor.model import Outcome, Section, Status
from auditor.sandbox import Sandbox, SandboxError

from checks.coverage import gather
from checks.coverage.config import CoverageConfig
from checks.coverage.data import DataError
from checks.coverage.environment import EnvironmentError_
from checks.coverage.judge import DiffCoverage, diff_coverage, file_table, judge


class CoverageCheck:
    id: ClassVar[str] = "coverage"
    title: ClassVar[str] = "Test coverage and passing status"
    section: ClassVar[Section] = Section.COVERAGE
    needs: ClassVar[frozenset[str]] = frozenset({"repo"})
    safety: ClassVar[Safety] = Safety.PASSIVE
    config_model: ClassVar[type[CoverageConfig]] = CoverageConfig

    def run(self, ctx: AuditContext) -> Outcome:
        config = ctx.config if isinstance(ctx.config, CoverageConfig) else CoverageConfig.model_validate(
            ctx.config.model_dump())
        if ctx.target.repo is None:
            raise CheckError("no repository to measure")
        repo = Path(ctx.target.repo).resolve()
        try:
            with ctx.sandbox(config) as sandbox:
                got = self._gather(ctx, config, repo, sandbox)
            # Described after the sandbox closed: the scratch database's drop is part of the record.
            got.sandbox = sandbox.describe()
            got.sandbox_sentence = sandbox.sentence()
        except (gather.GatherError, EnvironmentError_, DataError, SandboxError) as exc:
            raise CheckError(str(exc)) from None
        diff = self._diff(ctx, got, repo)
        return _outcome(got, config, repo, diff)

    @staticmethod
    def _timeout(ctx: AuditContext, config: CoverageConfig) -> float:
        return max(1.0, min(config.timeout, ctx.remaining() - gather.RESERVE_S))

    def _gather(self, ctx: AuditContext, config: CoverageConfig, repo: Path, sandbox: Sandbox) -> gather.Gathered:
        notes: list[str] = []
        stale: list[str] = []
        if config.use_existing != "never":
            fresh, stale = gather.fresh_existing(repo)
            for path in fresh:
                try:
                    got = gather.from_existing(path, repo, sandbox)
                    got.stale = stale
                    got.notes = notes + got.notes
                    return got
                except (DataError, gather.GatherError) as exc:
                    notes.append(f"ignored {path.name}: {exc}")
            if config.use_existing == "only":
                why = "; ".join(notes) or (f"stale: {', '.join(stale)}" if stale else "none found")
                raise CheckError(f"use_existing = \"only\" but there is no usable fresh coverage data ({why})")
        if ctx.remaining() <= gather.RESERVE_S + 5:
            raise CheckError("no time left to run the tests")
        got = gather.run_tests(repo, config, sandbox, self._timeout(ctx, config), ctx.progress)
        got.notes = notes + got.notes
        got.stale = stale
        if stale:
            got.notes.append(f"existing {', '.join(stale)} older than the sources: ignored")
        return got

    @staticmethod
    def _diff(ctx: AuditContext, got: gather.Gathered, repo: Path) -> DiffCoverage | None:
        base_ref = ctx.settings.get("base_ref")
        if not base_ref or got.data is None:
            return None
        try:
            base_commit, changed = changed_lines(repo, str(base_ref))
        except GitError as exc:
            raise CheckError(f"--base-ref: {exc}") from None
        return diff_coverage(got.data, changed, str(base_ref), base_commit)


def _concurrency_note(got: gather.Gathered) -> str | None:
    """Said, not measured: measuring both ways would run the suite twice. (With coverage 7 on CPython
    3.11 plain greenlet switches are often traced anyway; gevent's monkey-patching is where lines go
    missing.)"""
    if got.concurrency:
        return (f"The repo's code imports {', '.join(got.greenlet_libraries)} and its coverage config sets no "
                f"concurrency: the audit measured with --concurrency={','.join(got.concurrency)}. A plain "
                "`coverage run` of this repo follows threads only and can report a different (lower) figure.")
    if got.greenlet_libraries and not got.repo_concurrency and got.data is not None:
        return (f"The repo's code imports {', '.join(got.greenlet_libraries)} but coverage.py measured with "
                "thread concurrency only (the greenlet library is not installed in the repo's environment): "
                "lines run in greenlets can be counted as missing, so the figure may be too low.")
    return None


def _outcome(got: gather.Gathered, config: CoverageConfig, repo: Path, diff: DiffCoverage | None) -> Outcome:
    data, tests = got.data, got.tests
    concurrency_note = _concurrency_note(got)
    findings = judge(data=data, tests=tests, config=config, repo=repo, diff=diff, no_tests=got.no_tests,
                     timed_out=got.timed_out, timeout_s=got.timeout_s, concurrency_note=concurrency_note,
                     run_tail=got.run.output if got.run else "", results_unknown=data is not None and tests is None
                     and got.run is None)
    metrics: dict[str, Any] = {
        "method": _method(got),
        "percent_covered": round(data.percent, 2) if data else None,
        "threshold": config.threshold,
        "tests_passed": tests.passed if tests else None,
        "tests_failed": tests.failed if tests else None,
        "tests_skipped": tests.skipped if tests else None,
        "covered_lines": data.covered_lines if data else None,
        "statements": data.statements if data else None,
        "branch_coverage": data.branch if data else None,
        "source": got.origin,
    }
    if got.run is not None:
        metrics.update(command=got.command, python=got.python, python_source=got.python_source,
                       run_seconds=round(got.run.seconds, 1), exit_code=got.run.returncode)
    if got.concurrency or got.greenlet_libraries:
        metrics["concurrency"] = got.concurrency or got.repo_concurrency or ["thread"]
    if diff is not None:
        metrics.update(diff_base=diff.base_ref, diff_base_commit=diff.base_commit,
                       diff_percent_covered=round(diff.percent, 2) if diff.percent is not None else None,
                       diff_statements=diff.statements, diff_missing=diff.missing,
                       diff_threshold=config.diff_threshold, diff_files=diff.files)
    if tests is not None and tests.failed_names:
        metrics["failed_tests"] = tests.failed_names
    if got.notes:
        metrics["notes"] = got.notes
    if got.run is not None:
        metrics["sandbox"] = got.sandbox
    if data is not None:
        metrics["files"] = file_table(data)
    status = Status.WARN if (data is None and not findings) else None
    return Outcome(summary=_summary(got, config, diff), metrics=metrics, findings=findings, status=status)


def _method(got: gather.Gathered) -> str:
    if got.run is None:
        return (f"Coverage read from {got.origin}; the audit did not run the tests. The total is coverage.py's "
                "own figure.")
    return (f"The repo's tests ({got.command}) ran under `coverage run` with {got.python} ({got.python_source}), "
            f"data and reports in a temp dir; the total is coverage.py's own JSON report total. Sandbox: "
            f"{got.sandbox_sentence}")


def _summary(got: gather.Gathered, config: CoverageConfig, diff: DiffCoverage | None) -> str:
    if got.timed_out:
        return "the test run timed out: no coverage figure"
    parts = []
    if got.data is not None:
        parts.append(f"coverage {got.data.percent:.1f} % (threshold {config.threshold:g} %)")
    elif got.no_tests:
        parts.append("no tests ran")
    tests = got.tests
    if tests is not None and tests.total:
        parts.append(f"{tests.passed} passed, {tests.failed} failed, {tests.skipped} skipped")
    elif got.run is None:
        parts.append("test results unknown (existing data)")
    elif tests is None:
        parts.append("test outcomes unknown")
    if diff is not None and diff.percent is not None:
        parts.append(f"diff coverage {diff.percent:.1f} % of {diff.statements} changed lines since {diff.base_ref}")
    elif diff is not None:
        parts.append(f"no executable lines changed since {diff.base_ref}")
    return "; ".join(parts) or "nothing measured"
