"""The coverage check: gather (fresh coverage data already in the repo, or the repo's tests run under
coverage in the core's sandbox: gather.py) then judge (judge.py, pure)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from auditor.git import GitError, changed_lines
from auditor.interface import AuditContext, CheckError, CheckSkipped, Safety
from auditor.model import Outcome, Section, Status
from auditor.projectkind import detect as detect_kind
from auditor.sandbox import Sandbox, SandboxError, one_line

from checks.coverage import gather
from checks.coverage.config import CoverageConfig
from checks.coverage.data import DataError
from checks.coverage.environment import EnvironmentError_
from checks.coverage.judge import DiffCoverage, SharedFailure, diff_coverage, file_table, judge


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
        kind = detect_kind(repo)
        if not kind.is_python and config.command is None:
            # Judged honestly: running pytest under our interpreter on a jest project measures nothing.
            raise CheckSkipped(f"{kind.describe()}: Python coverage does not apply (this version runs Python test "
                               "suites only)")
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
            got.notes.append(f"existing coverage data ignored: {'; '.join(stale)}")
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
    """COV006 with both figures: measured with the concurrency the audit added, and without it (what a
    plain `coverage run` of the repo reports)."""
    if got.concurrency:
        with_it = f"{got.data.percent:.1f} %" if got.data else "no figure"
        without = (f"{got.percent_without_concurrency:.1f} %" if got.percent_without_concurrency is not None
                   else got.without_concurrency_note or "not measured")
        return (f"The repo's code imports {', '.join(got.greenlet_libraries)} and its coverage config sets no "
                f"concurrency: with --concurrency={','.join(got.concurrency)} (the audit's figure) coverage is "
                f"{with_it}; without it, as a plain `coverage run` of this repo measures, {without}.")
    if got.greenlet_libraries and not got.repo_concurrency and got.data is not None:
        return (f"The repo's code imports {', '.join(got.greenlet_libraries)} but coverage.py measured with "
                "thread concurrency only (the greenlet library is not installed in the repo's environment): "
                "lines run in greenlets can be counted as missing, so the figure may be too low.")
    return None


def _groups(got: gather.Gathered) -> tuple[list[SharedFailure], SharedFailure | None]:
    groups = [SharedFailure(g.cause, g.tests) for g in got.groups]
    broken = next((s for s, g in zip(groups, got.groups) if g is got.broken), None)
    return groups, broken


def _outcome(got: gather.Gathered, config: CoverageConfig, repo: Path, diff: DiffCoverage | None) -> Outcome:
    data, tests = got.data, got.tests
    concurrency_note = _concurrency_note(got)
    groups, broken = _groups(got)
    no_tests_why = ("No test files (test*.py, *_test.py) were found in the repo"
                    if got.runner is not None and got.runner.command is None else "")
    findings = [] if got.not_tested else judge(
        data=data, tests=tests, config=config, repo=repo, diff=diff, no_tests=got.no_tests, timed_out=got.timed_out,
        timeout_s=got.timeout_s, concurrency_note=concurrency_note, run_tail=got.run.output if got.run else "",
        results_unknown=data is not None and tests is None and got.run is None, groups=groups, broken=broken,
        no_tests_why=no_tests_why)
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
        "scope": got.scope,
        "scope_text": got.scope_text or "as the existing data measured it",
    }
    if got.data_with_tests is not None:
        metrics["percent_covered_with_tests"] = round(got.data_with_tests.percent, 2)
    if got.runner is not None:
        metrics.update(runner=got.runner.name, runner_reason=got.runner.why,
                       runner_hints=[f"{h.where}: {h.text}" for h in got.runner.hints[:10]])
    if got.run is not None:
        metrics.update(command=got.command, python=got.python, python_source=got.python_source,
                       run_seconds=round(got.run.seconds, 1), exit_code=got.run.returncode)
    if got.not_tested:
        metrics["not_tested"] = got.not_tested
    if tests is not None and tests.import_failures:
        metrics["import_failures"] = tests.import_failures[:50]
    if got.concurrency or got.greenlet_libraries:
        metrics["concurrency"] = got.concurrency or got.repo_concurrency or ["thread"]
    if got.concurrency:
        metrics["percent_covered_without_concurrency"] = (round(got.percent_without_concurrency, 2)
                                                          if got.percent_without_concurrency is not None else None)
    if groups:
        metrics["shared_failures"] = [{"cause": g.cause, "tests": len(g.tests)} for g in groups]
    if diff is not None:
        metrics.update(diff_base=diff.base_ref, diff_base_commit=diff.base_commit,
                       diff_percent_covered=round(diff.percent, 2) if diff.percent is not None else None,
                       diff_statements=diff.statements, diff_missing=diff.missing,
                       diff_threshold=config.diff_threshold, diff_files=diff.files)
    if tests is not None and tests.failed_names:
        metrics["failed_tests"] = tests.failed_names
    if got.notes:
        metrics["notes"] = got.notes
    if got.run is not None or got.runner is not None:
        metrics["sandbox"] = got.sandbox
    if data is not None:
        metrics["files"] = file_table(data)
    status = Status.WARN if (data is None and not findings) else None
    if got.not_tested or broken is not None:
        status = Status.ERROR  # the run did not test: never a figure, and the audit is not trusted
    return Outcome(summary=_summary(got, config, diff, broken), metrics=metrics, findings=findings, status=status)


def _method(got: gather.Gathered) -> str:
    if got.run is None and got.runner is None:
        return (f"Coverage read from {got.origin}; the audit did not run the tests. The total is coverage.py's "
                "own figure.")
    runner = got.runner.describe() if got.runner else got.command
    hints = ""
    if got.runner is not None and got.runner.hints:
        hints = " The project's own test commands: " + "; ".join(f"{h.where}: {h.text}" for h in got.runner.hints[:3]) + "."
    scope = {"application": "The figure is for the application code: the repo has no coverage configuration of "
                            "its own, so test code (tests/, test/, test_*.py, *_test.py, tests.py, conftest.py) is "
                            "left out of it (percent_covered_with_tests is the figure with it).",
             "repo-config": f"The figure covers {got.scope_text}, honoured exactly.",
             "audit-config": f"The figure covers {got.scope_text}."}.get(got.scope, "")
    return (f"Runner: {runner}.{hints} The tests ran under `coverage run` with {got.python} ({got.python_source}), "
            f"data and reports in a temp dir; the total is coverage.py's own JSON report total. {scope} A figure is "
            "given only from a run that tested: collection or import errors, an exit before any test, 0 tests, or "
            f"one error failing most tests give none. Sandbox: {got.sandbox_sentence}")


def _summary(got: gather.Gathered, config: CoverageConfig, diff: DiffCoverage | None,
             broken: SharedFailure | None) -> str:
    runner = f"runner {got.runner.describe()}" if got.runner is not None and got.runner.command else ""
    loud = ("; ran with the AUDITOR'S OWN interpreter (no repo virtualenv found): give --python"
            if got.own_interpreter and got.run is not None else "")
    if got.timed_out:
        return one_line(f"the test run timed out: no coverage figure; {runner}{loud}", 400)
    if got.not_tested:
        return one_line(f"the tests did not run: {got.not_tested}; no coverage figure; {runner}", 500)
    if broken is not None:
        total = got.tests.total if got.tests else len(broken.tests)
        return one_line(f"test environment broken: {broken.cause}, {len(broken.tests)} of {total} tests: no coverage "
                        "figure; give what the tests need with [tool.auditor.coverage] env (or --db-url); "
                        f"{runner}{loud}", 500)
    parts = []
    if got.data is not None:
        scope = {"application": " of application code, tests excluded",
                 "repo-config": " (the repo's coverage config)", "audit-config": f" ({got.scope_text})"}.get(got.scope, "")
        parts.append(f"coverage {got.data.percent:.1f} %{scope} (threshold {config.threshold:g} %)")
    elif got.no_tests:
        parts.append("no test files found" if got.runner is not None and got.runner.command is None else "no tests ran")
    tests = got.tests
    if tests is not None and tests.total:
        parts.append(f"{tests.passed} passed, {tests.failed} failed, {tests.skipped} skipped")
    elif got.run is None and got.runner is None:
        parts.append("test results unknown (existing data)")
    elif tests is None and got.run is not None:
        parts.append("test outcomes unknown")
    if got.groups:
        parts.append(f"{len(got.groups[0].tests)} tests fail with one error")
    if diff is not None and diff.percent is not None:
        parts.append(f"diff coverage {diff.percent:.1f} % of {diff.statements} changed lines since {diff.base_ref}")
    elif diff is not None:
        parts.append(f"no executable lines changed since {diff.base_ref}")
    if runner:
        parts.append(runner)
    return one_line("; ".join(parts) or "nothing measured", 400) + loud
