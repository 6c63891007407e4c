"""Gather: coverage data and test outcomes, either from fresh data already in the repo or by running the
repo's tests under coverage in the sandbox (auditor.sandbox: the repo's interpreter, an allow-listed
environment, a scratch database when a server is known; every file it writes goes to the check's temp
dir, none into the repo)."""

from __future__ import annotations

import os
import re
import sqlite3
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from auditor.git import GitError, git
from auditor.proc import ProcResult
from auditor.sandbox import Sandbox, import_root
from auditor.sandbox.failure import no_server_hint

from checks.coverage import environment
from checks.coverage import runner as runner_mod
from checks.coverage.config import CoverageConfig
from checks.coverage.data import CoverageData, DataError, parse_json_report, parse_xml_report
from checks.coverage.environment import RunCommand
from checks.coverage.junit import ResultsError, SuiteOutcome, parse_junit, parse_unittest_output
from checks.coverage.runner import Runner

EXISTING_DATA = ("coverage.json", "coverage.xml", ".coverage")
EXISTING_RESULTS = ("junit.xml", "report.xml", "test-results.xml", "pytest.xml", "junit/junit.xml")
REPORT_TIMEOUT_S = 120
RESERVE_S = 20  # kept back from the deadline for the coverage report and judging


class GatherError(Exception):
    """The check cannot produce a figure; one line (becomes status "error")."""


# Test code, omitted from the figure when the repo's coverage config does not say which files count:
# reviewers read "coverage" as coverage of the application (coverage.py globs: ** spans directories).
TEST_OMIT = ("**/tests/*", "**/test/*", "**/test_*.py", "**/*_test.py", "**/tests.py", "**/conftest.py")
SHARED_MIN = 3          # failing tests with one error that make one finding instead of one each
BROKEN_SHARE = 0.5      # one error failing at least this share of the tests: the run did not test


@dataclass
class FailureGroup:
    """Failing tests that share one error: one cause, one finding."""

    cause: str
    tests: list[str]


@dataclass
class Gathered:
    data: CoverageData | None = None
    data_with_tests: CoverageData | None = None   # scope "application": the same run, tests counted too
    tests: SuiteOutcome | None = None
    origin: str = ""                       # "fresh coverage.json in the repo" / "tests run under coverage"
    python: str = ""
    python_source: str = ""
    own_interpreter: bool = False
    command: str = ""
    runner: Runner | None = None
    run: ProcResult | None = None
    # Which files the figure covers: "application" (the audit left the tests out), "repo-config" (the
    # repo's coverage config, honoured exactly), "audit-config" ([tool.auditor.coverage] source/omit) or
    # "existing" (data found in the repo).
    scope: str = "existing"
    scope_text: str = ""
    concurrency: list[str] = field(default_factory=list)    # what the audit ran with (added by it)
    greenlet_libraries: list[str] = field(default_factory=list)
    repo_concurrency: list[str] = field(default_factory=list)
    percent_without_concurrency: float | None = None        # the same suite measured without --concurrency
    without_concurrency_note: str = ""
    notes: list[str] = field(default_factory=list)
    no_tests: bool = False
    not_tested: str | None = None          # why the run tested nothing (collection/import error...): no figure
    groups: list[FailureGroup] = field(default_factory=list)
    broken: FailureGroup | None = None     # one error failed most tests: no figure
    timed_out: bool = False
    timeout_s: float = 0.0
    stale: list[str] = field(default_factory=list)          # existing data files ignored as stale
    sandbox: dict = field(default_factory=dict)             # what the sandbox did (for the report)
    sandbox_sentence: str = ""


def fresh_existing(repo: Path) -> tuple[list[Path], list[str]]:
    """Existing coverage data that measured this tree (fresh), and each ignored one with why.

    Fresh means written after every source file (the mtime rule) — except for a data file committed to
    git and unchanged since: its mtime is the checkout's, not a test run's. It measured the commit that
    last changed it, so it is fresh only when no later commit and no uncommitted edit changed a .py file."""
    present = [repo / name for name in EXISTING_DATA if (repo / name).is_file()]
    if not present:
        return [], []
    newest = environment.newest_source_mtime(repo)
    fresh: list[Path] = []
    ignored: list[str] = []
    for path in present:
        verdict, why = committed_data(repo, path)
        if verdict == "fresh" or (verdict == "untracked" and path.stat().st_mtime > newest):
            fresh.append(path)
        else:
            ignored.append(f"{path.name} ({why or 'older than the sources'})")
    return fresh, ignored


def committed_data(repo: Path, path: Path) -> tuple[str, str]:
    """("untracked", "") when git does not track the file unchanged (not a git repo, untracked, or
    rewritten since the checkout: a run here); else ("fresh" | "stale", why) from git's history."""
    name = path.name
    try:
        git(repo, "ls-files", "--error-unmatch", "--", name)
        if git(repo, "status", "--porcelain", "--", name).strip():
            return "untracked", ""
        last = git(repo, "log", "-1", "--format=%h %cs", "--", name).split()
        if len(last) != 2:
            return "untracked", ""
        later = int(git(repo, "rev-list", "--count", f"{last[0]}..HEAD", "--", "*.py").strip() or 0)
        edited = git(repo, "status", "--porcelain", "--untracked-files=no", "--", "*.py").strip()
    except (GitError, ValueError):
        return "untracked", ""
    where = f"committed to git in {last[0]} ({last[1]})"
    if later:
        return "stale", (f"{where}: it measured that commit's code, and {later} later "
                         f"commit{'s' if later != 1 else ''} changed the sources")
    if edited:
        return "stale", f"{where}: the sources have uncommitted changes since"
    return "fresh", f"{where} with the current sources"


def _recorded_paths(path: Path, data: CoverageData) -> str:
    """One path the data file names, for the note: where it was recorded."""
    names = [f.path for f in data.files[:1]]
    if not names and path.name == ".coverage":
        try:
            with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
                names = [row[0] for row in db.execute("SELECT path FROM file LIMIT 1")]
        except sqlite3.Error:
            names = []
    return f" (it names {names[0]}: recorded on another machine or checkout)" if names else ""


def from_existing(path: Path, repo: Path, sandbox: Sandbox) -> Gathered:
    if path.name == "coverage.json":
        data = parse_json_report(path, repo, origin=path.name)
    elif path.name == "coverage.xml":
        data = parse_xml_report(path, repo)
    else:
        data = _report_data_file(sandbox, Path(sys.executable), ["-I"], path, repo, origin=path.name)
    # Data whose files are not this repo's (absolute paths of another machine) reports 100 % of nothing.
    if data.statements == 0 or not any(not Path(f.path).is_absolute() and (repo / f.path).is_file()
                                       for f in data.files):
        raise DataError(f"it measured none of this repo's files{_recorded_paths(path, data)}")
    verdict, why = committed_data(repo, path)
    origin = why if verdict == "fresh" else "newer than every source file"
    got = Gathered(data=data, origin=f"fresh {path.name} found in the repo ({origin})")
    for name in EXISTING_RESULTS:
        results = repo / name
        if results.is_file() and results.stat().st_mtime >= path.stat().st_mtime - 3600:
            try:
                got.tests = parse_junit(results)
                got.tests.origin = name
            except ResultsError as exc:
                got.notes.append(str(exc))
            break
    return got


def run_tests(repo: Path, config: CoverageConfig, sandbox: Sandbox, timeout_s: float,
              progress: Callable[[str], None]) -> Gathered:
    python, why = sandbox.python, sandbox.python_source
    tmp = sandbox.tmp_dir
    got = Gathered(origin="tests run under coverage by the audit", python=str(python), python_source=why,
                   own_interpreter=sandbox.own_interpreter, timeout_s=timeout_s)
    progress(f"probing {python}")
    installed = environment.probe(sandbox)
    runner = detect_runner(repo, config.command, pytest_installed=installed.get("pytest") is not None)
    got.runner = runner
    command = runner.command
    if command is None:
        got.no_tests = True
        return got
    got.command = command.text
    hint = " (it is the auditor's own: give --python, the repo's interpreter)" if sandbox.own_interpreter else ""
    if installed.get("coverage") is None:
        raise GatherError(f"coverage.py is not installed in the repo's environment ({python}, {why}){hint}: "
                          "install it there (pip install coverage) or pass --python")
    if command.is_pytest and installed.get("pytest") is None:
        raise GatherError(f"pytest is not installed in the repo's environment ({python}){hint}: install it there, "
                          "pass --python, or set [tool.auditor.coverage] command")
    repo_config = environment.repo_coverage_config(repo)
    got.repo_concurrency = repo_config.concurrency
    got.greenlet_libraries = environment.greenlet_libraries(repo)
    got.concurrency = _concurrency(got.greenlet_libraries, repo_config.concurrency, installed)

    cwd = runner.cwd or import_root(repo)
    base_argv = [str(python), "-m", "coverage", "run"]
    if repo_config.file and cwd != repo:
        base_argv.append(f"--rcfile={repo / repo_config.file}")  # coverage reads its config from the cwd
    if config.source:
        base_argv.append("--source=" + ",".join(str((repo / s).resolve()) for s in config.source))
        got.scope, got.scope_text = "audit-config", "the files [tool.auditor.coverage] source names"
    elif repo_config.selects_files:
        got.scope, got.scope_text = "repo-config", f"the files the repo's coverage config ({repo_config.file}) selects"
    else:
        base_argv.append(f"--source={repo.resolve()}")
        got.scope, got.scope_text = "application", "application code, tests excluded"
    if config.omit:
        base_argv.append("--omit=" + ",".join(config.omit))
        if got.scope == "application":
            got.scope = "audit-config"
            got.scope_text = "application code, tests and [tool.auditor.coverage] omit excluded"
    data_file = tmp / "coverage.data"
    junit = tmp / "junit.xml"
    argv = [*base_argv, f"--data-file={data_file}"]
    if got.concurrency:
        argv.append("--concurrency=" + ",".join(got.concurrency))
    suffix = _command_argv(command, junit)
    if command.is_pytest and environment.uses_pytest_cov(repo, command):
        suffix.append("--no-cov")
    if command.is_pytest and installed.get("xdist") is not None and environment.uses_xdist(repo, command):
        # `coverage run` measures the process it starts; pytest-xdist's workers (addopts = -n auto) would
        # run every test unmeasured: 78 % for a suite at 100 % (seen on a real repo). The last -n wins.
        suffix += ["-n", "0"]
        got.notes.append("pytest-xdist turned off (-n 0): coverage run measures the process it starts, not "
                         "xdist's workers, so the suite ran in one process")
    if cwd != repo and command.is_pytest and not command.args:
        suffix.append(str(repo))  # run from the import root, collect only the repo's tests
    progress(f"running {command.text} under coverage (timeout {timeout_s:.0f} s)")
    got.run = sandbox.run([*argv, *suffix], cwd=cwd, timeout_s=timeout_s, log_name="tests.log")
    if got.run.stopped:
        raise GatherError("stopped before the test run finished")
    if got.run.timed_out:
        got.timed_out = True
        return got
    if got.run.returncode == 127:
        raise GatherError(got.run.output.strip())
    got.tests = _outcome(command, got.run, junit)
    got.no_tests, got.not_tested = _did_it_test(command, got.run, got.tests, sandbox)
    if got.not_tested or got.no_tests:
        return got
    _combine(sandbox, python, data_file, cwd)
    if not data_file.exists():
        raise GatherError(f"the test run wrote no coverage data (exit {got.run.returncode}): "
                          f"{sandbox.cause(got.run.output)}")
    got.groups, got.broken = failure_groups(got.tests, sandbox)
    if got.broken is not None:
        return got  # most tests failed with one error: the figure would measure a broken environment
    progress("writing the coverage report")
    omit = test_omit(repo) if got.scope in ("application", "audit-config") and not config.source else []
    got.data = _report_data_file(sandbox, python, [], data_file, repo, origin="coverage run", cwd=cwd, omit=omit)
    if omit:
        got.data_with_tests = _report_data_file(sandbox, python, [], data_file, repo, origin="coverage run",
                                                cwd=cwd, name="with-tests")
    if got.concurrency:
        _measure_without_concurrency(got, sandbox, [*base_argv, *suffix], cwd, omit, repo, timeout_s)
    return got


def detect_runner(repo: Path, configured: str | None, *, pytest_installed: bool) -> Runner:
    try:
        return runner_mod.detect(repo, configured, pytest_installed=pytest_installed)
    except environment.EnvironmentError_ as exc:
        raise GatherError(str(exc)) from None


def test_omit(repo: Path) -> list[str]:
    root = str(repo.resolve())
    return [f"{root}/{pattern}" for pattern in TEST_OMIT]


def _did_it_test(command: RunCommand, run: ProcResult, tests: SuiteOutcome | None,
                 sandbox: Sandbox) -> tuple[bool, str | None]:
    """(no tests ran, why the run did not test): a figure only from a run that tested."""
    code = run.returncode
    if tests is not None and tests.import_failures:
        cause = next((m for m in tests.failure_messages.values() if m), "") or sandbox.cause(run.output)
        count = len(tests.import_failures)
        return False, (f"{count} test module{'s' if count != 1 else ''} could not be imported "
                       f"({', '.join(tests.import_failures[:3])}): {sandbox.cause(cause)}")
    if command.is_pytest:
        if code == 5:
            return True, None
        if code in (2, 3, 4):
            what = {2: "the test run was interrupted (collection errors)", 3: "pytest had an internal error",
                    4: "pytest was used wrongly"}[code]
            return False, f"{what}, exit {code}: {sandbox.cause(run.output)}"
    if tests is None:
        return False, f"the test command exited with code {code} before any test ran: {sandbox.cause(run.output)}"
    if tests.total == 0:
        return True, None
    return False, None


def failure_groups(tests: SuiteOutcome | None, sandbox: Sandbox) -> tuple[list[FailureGroup], FailureGroup | None]:
    """Failing tests grouped by their error (at least SHARED_MIN share one), biggest first; and the group
    that failed at least BROKEN_SHARE of all tests, when there is one (a broken test environment)."""
    if tests is None or not tests.failed_names:
        return [], None
    by_cause: dict[str, list[str]] = {}
    for name in tests.failed_names:
        cause = normalise_failure(tests.failure_messages.get(name, ""))
        if cause:
            by_cause.setdefault(cause, []).append(name)
    # A test that reached for a server the sandbox withholds failed because of the audit, never the code:
    # its error is a group however few tests share it.
    groups = [FailureGroup(sandbox.cause(cause), names) for cause, names in by_cause.items()
              if len(names) >= SHARED_MIN or no_server_hint(cause)]
    groups.sort(key=lambda g: -len(g.tests))
    total = max(tests.total, 1)
    # Names beyond MAX_NAMES are not listed: scale by the listed share of all failures.
    scale = tests.failed / max(len(tests.failed_names), 1)
    broken = next((g for g in groups if len(g.tests) * scale >= BROKEN_SHARE * total), None)
    return groups, broken


def normalise_failure(message: str) -> str:
    """One line per error, whatever test raised it: pytest's "failed on setup with \"...\"" wrapper,
    memory addresses and object ids removed."""
    text = message.strip()
    for prefix in ("failed on setup with ", "failed on teardown with ", "failed on call with "):
        if text.startswith(prefix):
            text = text[len(prefix):].strip().strip('"')
    first = (text.splitlines() or [""])[0].strip()
    return re.sub(r"0x[0-9a-fA-F]+", "0x…", first)[:300]


def _combine(sandbox: Sandbox, python: Path, data_file: Path, cwd: Path) -> None:
    if not data_file.exists() and list(data_file.parent.glob(f"{data_file.name}.*")):
        # The repo's config says parallel = true: one data file per process, combined here.
        sandbox.run([str(python), "-m", "coverage", "combine", f"--data-file={data_file}", "-q",
                     str(data_file.parent)], cwd=cwd, timeout_s=REPORT_TIMEOUT_S, log_name="combine.log")


def _measure_without_concurrency(got: Gathered, sandbox: Sandbox, argv: list[str], cwd: Path, omit: list[str],
                                 repo: Path, timeout_s: float) -> None:
    """The same suite once more without the --concurrency the audit added: the figure a plain `coverage
    run` of the repo gives (COV006 carries both). Only when the first run left the time for it."""
    assert got.run is not None
    if got.run.seconds * 2 + REPORT_TIMEOUT_S / 4 > timeout_s:
        got.without_concurrency_note = "not measured: the first run took too long to run the suite twice"
        return
    data_file = sandbox.tmp_dir / "coverage-plain.data"
    run = sandbox.run([argv[0], *argv[1:4], f"--data-file={data_file}", *argv[4:]], cwd=cwd, timeout_s=timeout_s,
                      log_name="tests-plain.log")
    _combine(sandbox, Path(argv[0]), data_file, cwd)
    if run.timed_out or run.stopped or not data_file.exists():
        got.without_concurrency_note = "not measured: the second run did not finish"
        return
    try:
        plain = _report_data_file(sandbox, Path(argv[0]), [], data_file, repo, origin="coverage run", cwd=cwd,
                                  omit=omit, name="plain")
    except GatherError as exc:
        got.without_concurrency_note = f"not measured: {exc}"
        return
    got.percent_without_concurrency = plain.percent


def _concurrency(libraries: list[str], repo_setting: list[str], installed: dict) -> list[str]:
    """The --concurrency the audit adds: greenlet-based code is measured with its library so the figure
    is right; nothing when the repo's config already names one, or none of its libraries is installed."""
    if repo_setting or not libraries:
        return []
    usable = [lib for lib in libraries if installed.get(lib) is not None]
    return ["thread", usable[0]] if usable else []


def _command_argv(command: RunCommand, junit: Path) -> list[str]:
    if command.kind == "module":
        argv = ["-m", command.target, *command.args]
    else:
        argv = [command.target, *command.args]
    if command.is_pytest:
        # No .pytest_cache in the repo; results as JUnit XML in the temp dir (names of failing tests).
        argv += ["-p", "no:cacheprovider", f"--junitxml={junit}", "-o", "junit_family=xunit2"]
    return argv


def _outcome(command: RunCommand, run: ProcResult, junit: Path) -> SuiteOutcome | None:
    if junit.is_file():
        try:
            return parse_junit(junit)
        except ResultsError:
            pass
    return parse_unittest_output(run.output)


def _report_data_file(sandbox: Sandbox, python: Path, flags: list[str], data_file: Path, repo: Path, *,
                      origin: str, cwd: Path | None = None, omit: list[str] | None = None,
                      name: str = "") -> CoverageData:
    """coverage.py's own JSON report of a data file (run in the repo dir, so its [report] config and
    relative paths apply); coverage.py computes the total, the audit only reads it. ``omit``: patterns
    left out of this report (the test code, for the application figure)."""
    out = sandbox.tmp_dir / f"report-{os.getpid()}-{data_file.name.strip('.')}{'-' + name if name else ''}.json"
    argv = [str(python), *flags, "-m", "coverage", "json", f"--data-file={data_file}", "-o", str(out),
            "--ignore-errors", "-q"]
    if omit:
        argv.append("--omit=" + ",".join(omit))
    result = sandbox.run(argv, cwd=cwd or repo, timeout_s=REPORT_TIMEOUT_S, log_name=f"report{name}.log")
    if not out.is_file():
        line = result.last_line() or f"exit {result.returncode}"
        if "No data to report" in result.output:
            raise GatherError(f"{origin}: no data to report (nothing under the measured source ran"
                              f"{', tests excluded' if omit else ''})")
        raise GatherError(f"coverage could not report {data_file.name} ({origin}): {line}")
    try:
        return parse_json_report(out, repo, origin=origin, base=cwd or repo)
    except DataError as exc:
        raise GatherError(str(exc)) from None
