"""Gather: coverage data and test outcomes, either from fresh data already in the repo or by running the
repo's tests under coverage in the sandbox (auditor.sandbox: the repo's interpreter, an allow-listed
environment, a scratch database when a server is known; every file it writes goes to the check's temp
dir, none into the repo)."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from auditor.proc import ProcResult
from auditor.redact import redact
from auditor.sandbox import Sandbox, import_root

from checks.coverage import environment
from checks.coverage.config import CoverageConfig
from checks.coverage.data import CoverageData, DataError, parse_json_report, parse_xml_report
from checks.coverage.environment import RunCommand
from checks.coverage.junit import ResultsError, SuiteOutcome, parse_junit, parse_unittest_output

EXISTING_DATA = ("coverage.json", "coverage.xml", ".coverage")
EXISTING_RESULTS = ("junit.xml", "report.xml", "test-results.xml", "pytest.xml", "junit/junit.xml")
REPORT_TIMEOUT_S = 120
RESERVE_S = 20  # kept back from the deadline for the coverage report and judging


class GatherError(Exception):
    """The check cannot produce a figure; one line (becomes status "error")."""


@dataclass
class Gathered:
    data: CoverageData | None = None
    tests: SuiteOutcome | None = None
    origin: str = ""                       # "fresh coverage.json in the repo" / "tests run under coverage"
    python: str = ""
    python_source: str = ""
    command: str = ""
    run: ProcResult | None = None
    concurrency: list[str] = field(default_factory=list)    # what the audit ran with (added by it)
    greenlet_libraries: list[str] = field(default_factory=list)
    repo_concurrency: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    no_tests: bool = False
    timed_out: bool = False
    timeout_s: float = 0.0
    stale: list[str] = field(default_factory=list)          # existing data files ignored as stale
    sandbox: dict = field(default_factory=dict)             # what the sandbox did (for the report)
    sandbox_sentence: str = ""


def fresh_existing(repo: Path) -> tuple[list[Path], list[str]]:
    """Existing coverage data newer than every source file (fresh), and the names of stale ones."""
    present = [repo / name for name in EXISTING_DATA if (repo / name).is_file()]
    if not present:
        return [], []
    newest = environment.newest_source_mtime(repo)
    fresh = [p for p in present if p.stat().st_mtime > newest]
    return fresh, [p.name for p in present if p not in fresh]


def from_existing(path: Path, repo: Path, sandbox: Sandbox) -> Gathered:
    if path.name == "coverage.json":
        data = parse_json_report(path, repo, origin=path.name)
    elif path.name == "coverage.xml":
        data = parse_xml_report(path, repo)
    else:
        data = _report_data_file(sandbox, Path(sys.executable), ["-I"], path, repo, origin=path.name)
    got = Gathered(data=data, origin=f"fresh {path.name} found in the repo (newer than every source file)")
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
    command = environment.resolve_command(repo, config.command)
    got = Gathered(origin="tests run under coverage by the audit", python=str(python), python_source=why,
                   command=command.text, timeout_s=timeout_s)
    progress(f"probing {python}")
    installed = environment.probe(sandbox)
    if installed.get("coverage") is None:
        raise GatherError(f"coverage.py is not installed in the repo's environment ({python}, {why}): "
                          "install it there (pip install coverage) or pass --python")
    if command.is_pytest and installed.get("pytest") is None:
        raise GatherError(f"pytest is not installed in the repo's environment ({python}): install it there, "
                          "pass --python, or set [tool.auditor.coverage] command")
    repo_config = environment.repo_coverage_config(repo)
    got.repo_concurrency = repo_config.concurrency
    got.greenlet_libraries = environment.greenlet_libraries(repo)
    got.concurrency = _concurrency(got.greenlet_libraries, repo_config.concurrency, installed)

    data_file = tmp / "coverage.data"
    junit = tmp / "junit.xml"
    cwd = import_root(repo)
    argv = [str(python), "-m", "coverage", "run", f"--data-file={data_file}"]
    if repo_config.file and cwd != repo:
        argv.append(f"--rcfile={repo / repo_config.file}")  # coverage reads its config from the cwd
    if config.source:
        argv.append("--source=" + ",".join(str((repo / s).resolve()) for s in config.source))
    elif not repo_config.source:
        argv.append(f"--source={repo.resolve()}")
    if config.omit:
        argv.append("--omit=" + ",".join(config.omit))
    if got.concurrency:
        argv.append("--concurrency=" + ",".join(got.concurrency))
    argv += _command_argv(command, junit)
    if command.is_pytest and environment.uses_pytest_cov(repo, command):
        argv.append("--no-cov")
    if cwd != repo and command.is_pytest and not command.args:
        argv.append(str(repo))  # run from the import root, collect only the repo's tests
    progress(f"running {command.text} under coverage (timeout {timeout_s:.0f} s)")
    got.run = sandbox.run(argv, cwd=cwd, timeout_s=timeout_s, log_name="tests.log")
    if got.run.stopped:
        raise GatherError("stopped before the test run finished")
    if got.run.timed_out:
        got.timed_out = True
        return got
    if got.run.returncode == 127:
        raise GatherError(got.run.output.strip())
    got.tests = _outcome(command, got.run, junit)
    if command.is_pytest and got.run.returncode == 5:
        got.no_tests = True
    elif command.is_pytest and got.run.returncode in (3, 4) or (command.is_pytest and got.tests is None):
        raise GatherError(f"the test command failed before running tests (exit {got.run.returncode}): "
                          f"{_problem_line(got.run)}")
    if got.tests is not None and got.tests.total == 0:
        got.no_tests = True
    if got.tests is None:
        got.notes.append("the test command's output has no summary the audit understands (JUnit XML from "
                         "pytest, or unittest's \"Ran N tests\"): test outcomes unknown")
    if not data_file.exists() and list(tmp.glob(f"{data_file.name}.*")):
        # The repo's config says parallel = true: one data file per process, combined here.
        sandbox.run([str(python), "-m", "coverage", "combine", f"--data-file={data_file}", "-q", str(tmp)],
                    cwd=cwd, timeout_s=REPORT_TIMEOUT_S, log_name="combine.log")
    if not data_file.exists():
        if got.no_tests:
            return got
        raise GatherError(f"the test run wrote no coverage data (exit {got.run.returncode}): {_problem_line(got.run)}")
    progress("writing the coverage report")
    got.data = _report_data_file(sandbox, python, [], data_file, repo, origin="coverage run", cwd=cwd)
    return got


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


def _problem_line(run: ProcResult) -> str:
    """The most telling line of a failed run: an error line if there is one, else the last line (with
    credentials masked)."""
    return redact(_telling_line(run))


def _telling_line(run: ProcResult) -> str:
    lines = [line.strip() for line in run.output.splitlines() if line.strip()]
    for line in reversed(lines):
        if line.startswith(("ERROR", "E ", "ModuleNotFoundError", "ImportError", "SyntaxError", "error:",
                            "No module named", "Traceback")) or "Error:" in line:
            return line[:300]
    return (lines[-1] if lines else "no output")[:300]


def _report_data_file(sandbox: Sandbox, python: Path, flags: list[str], data_file: Path, repo: Path, *,
                      origin: str, cwd: Path | None = None) -> CoverageData:
    """coverage.py's own JSON report of a data file (run in the repo dir, so its [report] config and
    relative paths apply); coverage.py computes the total, the audit only reads it."""
    out = sandbox.tmp_dir / f"report-{os.getpid()}-{data_file.name.strip('.')}.json"
    result = sandbox.run([str(python), *flags, "-m", "coverage", "json", f"--data-file={data_file}", "-o", str(out),
                          "--ignore-errors", "-q"], cwd=cwd or repo, timeout_s=REPORT_TIMEOUT_S, log_name="report.log")
    if not out.is_file():
        line = result.last_line() or f"exit {result.returncode}"
        if "No data to report" in result.output:
            raise GatherError(f"{origin}: no data to report (nothing under the measured source ran)")
        raise GatherError(f"coverage could not report {data_file.name} ({origin}): {line}")
    try:
        return parse_json_report(out, repo, origin=origin, base=cwd or repo)
    except DataError as exc:
        raise GatherError(str(exc)) from None
