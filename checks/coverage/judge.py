"""Judge: pure functions from the gathered data (coverage figures, test outcomes, changed lines) to
findings and the metrics of the report's section 3."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from auditor.model import Finding
from auditor.redact import redact
from checks.coverage.config import CoverageConfig
from checks.coverage.data import CoverageData, line_ranges
from checks.coverage.junit import SuiteOutcome
from checks.coverage.rules import make_finding

MAX_TEST_FINDINGS = 20
MAX_FILE_ROWS = 500


@dataclass
class DiffCoverage:
    base_ref: str
    base_commit: str
    statements: int = 0
    missing: int = 0
    files: list[dict[str, Any]] = field(default_factory=list)

    @property
    def percent(self) -> float | None:
        return 100.0 * (self.statements - self.missing) / self.statements if self.statements else None


def diff_coverage(data: CoverageData, changed: dict[str, set[int]], base_ref: str, base_commit: str) -> DiffCoverage:
    """Coverage of the changed executable lines (diff-cover's figure): changed lines that are statements in
    the coverage data, and how many of them never ran. Changed files absent from the data (not measured:
    tests, config, files outside the source) do not count, as in diff-cover."""
    result = DiffCoverage(base_ref=base_ref, base_commit=base_commit[:12])
    files = data.by_path()
    for path in sorted(changed):
        measured = files.get(path)
        if measured is None:
            continue
        statements = (set(measured.executed) | set(measured.missing)) & changed[path]
        if not statements:
            continue
        missing = sorted(statements & set(measured.missing))
        result.statements += len(statements)
        result.missing += len(missing)
        result.files.append({"file": path, "changed_statements": len(statements), "missing": len(missing),
                             "percent": round(100.0 * (len(statements) - len(missing)) / len(statements), 1),
                             "missing_lines": line_ranges(missing)})
    result.files.sort(key=lambda row: (row["percent"], row["file"]))
    return result


def failing_test_file(name: str, repo: Path) -> str | None:
    """A JUnit test id's file, when it can be told: "tests.test_x.TestY::test_z" -> tests/test_x.py."""
    dotted = name.split("::", 1)[0]
    parts = dotted.split(".")
    # Leading parts may name the package the repo dir itself is (sample_service.tests.test_api).
    for start in range(len(parts)):
        for end in range(len(parts), start, -1):
            candidate = "/".join(parts[start:end]) + ".py"
            if (repo / candidate).is_file():
                return candidate
    return None


@dataclass
class SharedFailure:
    """Failing tests that share one error (gather.FailureGroup, as the judge needs it)."""

    cause: str
    tests: list[str]


ENV_HINT = ("if the tests need a database, service or setting, give it with [tool.auditor.coverage] env = "
            "{NAME = \"value\"} (or --db-url for a scratch database)")


def shared_failure_finding(group: SharedFailure, total: int, *, broken: bool) -> Finding:
    shown = "\n".join(group.tests[:12]) + (f"\n… {len(group.tests) - 12} more" if len(group.tests) > 12 else "")
    if broken:
        message = (f"Test environment broken: {group.cause} — {len(group.tests)} of {total} tests failed with it, so "
                   f"the run did not test the code and no coverage figure is given; {ENV_HINT}.")
    else:
        message = (f"{len(group.tests)} tests fail with one error: {group.cause}; the coverage figure counts only what "
                   f"the other tests ran. {ENV_HINT[0].upper()}{ENV_HINT[1:]}.")
    return make_finding("COV008", message, {"test": "(shared error)"}, evidence=redact(shown), key=group.cause)


def judge(*, data: CoverageData | None, tests: SuiteOutcome | None, config: CoverageConfig, repo: Path,
          diff: DiffCoverage | None, no_tests: bool, timed_out: bool, timeout_s: float,
          concurrency_note: str | None, run_tail: str, results_unknown: bool,
          groups: list[SharedFailure] | None = None, broken: SharedFailure | None = None,
          no_tests_why: str = "") -> list[Finding]:
    findings: list[Finding] = []
    if timed_out:
        findings.append(make_finding("COV005", f"The test run did not finish within {timeout_s:.0f} s and was "
                                     "killed; no coverage figure.", evidence=_tail(run_tail)))
        return findings
    if no_tests:
        findings.append(make_finding("COV004", (no_tests_why or "The test command collected no tests")
                                     + ", so nothing was measured.", evidence=_tail(run_tail)))
    groups = groups or []
    grouped = {name for group in groups for name in group.tests}
    for group in groups:
        findings.append(shared_failure_finding(group, tests.total if tests else len(group.tests),
                                               broken=group is broken))
    if broken is not None:
        return findings
    if data is not None and data.percent < config.threshold:
        worst = sorted((f for f in data.files if f.missing), key=lambda f: (-len(f.missing), f.path))[:5]
        findings.append(make_finding(
            "COV001", f"Total coverage is {data.percent:.1f} % ({data.covered_lines} of {data.statements} "
            f"statements{' and branches' if data.branch else ''}), under the {config.threshold:g} % threshold.",
            evidence="\n".join(f"{f.path}: {f.percent:.1f} %, missing {line_ranges(f.missing)}"[:200] for f in worst)))
    if tests is not None and tests.failed:
        single = [name for name in tests.failed_names if name not in grouped]
        for name in single[:MAX_TEST_FINDINGS]:
            location: dict[str, Any] = {"test": name}
            file = failing_test_file(name, repo)
            if file:
                location = {"file": file, "test": name}
            findings.append(make_finding("COV002", f"Test {name} failed.", location,
                                         evidence=redact(tests.failure_messages.get(name, ""))))
        unnamed = tests.failed - len(grouped) - min(len(single), MAX_TEST_FINDINGS)
        if unnamed > 0:
            findings.append(make_finding("COV002", f"{unnamed} more failing test(s) "
                                         f"({tests.failed} in all; see failed_tests).", {"test": "(more)"}))
    if diff is not None and diff.percent is not None and diff.percent < config.diff_threshold:
        findings.append(make_finding(
            "COV003", f"{diff.percent:.1f} % of the {diff.statements} executable lines changed since "
            f"{diff.base_ref} ran in the tests ({diff.missing} did not), under the {config.diff_threshold:g} % "
            "diff threshold.",
            evidence="\n".join(f"{row['file']}: missing {row['missing_lines']}"[:200] for row in diff.files
                               if row["missing"])[:1000]))
    if concurrency_note:
        findings.append(make_finding("COV006", concurrency_note))
    if results_unknown:
        findings.append(make_finding("COV007", "The coverage figure comes from existing data and no JUnit "
                                     "report was found next to it: whether the tests pass is unknown."))
    return findings


def file_table(data: CoverageData) -> list[dict[str, Any]]:
    """Worst first: lowest percentage, then most missing lines."""
    rows = [{"file": f.path, "statements": f.statements, "missing": len(f.missing), "percent": round(f.percent, 1),
             "missing_lines": line_ranges(f.missing)} for f in data.files]
    rows.sort(key=lambda r: (r["percent"], -r["missing"], r["file"]))
    return rows[:MAX_FILE_ROWS]


def _tail(text: str, lines: int = 12) -> str:
    kept = [line for line in text.splitlines() if line.strip()][-lines:]
    return redact("\n".join(line[:200] for line in kept))
