"""The coverage check against real fixture repos (generated in tmp_path), run the way the runner does."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

from auditor.interface import CheckError
from tests.conftest import REPO_ROOT
from tests.checks.coverage_helpers import (TESTS_ALL_GOOD, coverage_own_total, files_in, git_commit, git_init,
                                           make_repo, rule_ids, run_check, write)

pytestmark = pytest.mark.timeout(120)


def test_known_figure_one_failing_test_fails_under_threshold(tmp_path):
    repo = make_repo(tmp_path / "repo")
    before = files_in(repo)
    own = coverage_own_total(repo, tmp_path, "calc")  # the application: what `--source=calc` measures
    own_all = coverage_own_total(repo, tmp_path)      # the whole repo, tests included
    outcome, status = run_check(repo, tmp_path)
    m = outcome.metrics
    assert m["percent_covered"] == pytest.approx(own["totals"]["percent_covered"], abs=0.01)
    assert m["percent_covered_with_tests"] == pytest.approx(own_all["totals"]["percent_covered"], abs=0.01)
    assert m["percent_covered"] < m["percent_covered_with_tests"]  # the tests' own lines all ran
    assert m["scope"] == "application" and "tests excluded" in outcome.summary
    assert own["totals"]["percent_covered"] < 80  # the fixture is meant to be under the default threshold
    assert (m["tests_passed"], m["tests_failed"], m["tests_skipped"]) == (3, 1, 1)
    assert m["threshold"] == 80
    assert status == "fail"
    assert "COV001" in rule_ids(outcome) and "COV002" in rule_ids(outcome)
    failing = [f for f in outcome.findings if f.rule_id == "COV002"]
    assert len(failing) == 1 and "test_broken" in failing[0].location["test"]
    assert failing[0].location["file"] == "tests/test_calc.py"
    assert any("test_broken" in name for name in m["failed_tests"])
    # Per-file table with missing lines, as coverage.py reports them.
    row = next(r for r in m["files"] if r["file"] == "calc.py")
    own_calc = own["files"]["calc.py"]
    assert [r["file"] for r in m["files"]] == ["calc.py"]  # test files are not in the application's table
    assert row["missing"] == len(own_calc["missing_lines"]) and row["missing_lines"]
    assert str(own_calc["missing_lines"][0]) in row["missing_lines"]
    # The run left nothing in the repo: data, reports and caches went to the temp dir.
    assert files_in(repo) == before


def test_good_repo_passes_with_no_findings(tmp_path):
    repo = make_repo(tmp_path / "repo", TESTS_ALL_GOOD)
    outcome, status = run_check(repo, tmp_path)
    assert status == "pass", [f.message for f in outcome.findings]
    assert outcome.metrics["percent_covered"] == 100.0
    assert outcome.metrics["tests_failed"] == 0 and outcome.metrics["tests_passed"] == 1


def test_threshold_is_configurable(tmp_path):
    repo = make_repo(tmp_path / "repo")
    outcome, _ = run_check(repo, tmp_path, threshold=10, diff_threshold=50)
    assert outcome.metrics["percent_covered"] > 10 and "COV001" not in rule_ids(outcome)
    assert outcome.metrics["threshold"] == 10 and "COV002" in rule_ids(outcome)


def test_fresh_coverage_json_is_used_without_running_tests(tmp_path):
    repo = make_repo(tmp_path / "repo")
    own = coverage_own_total(repo, tmp_path)
    report = repo / "coverage.json"
    report.write_text(json.dumps(own))
    future = time.time() + 60
    os.utime(report, (future, future))
    outcome, status = run_check(repo, tmp_path)
    assert "command" not in outcome.metrics and "fresh coverage.json" in outcome.metrics["source"]
    assert outcome.metrics["percent_covered"] == pytest.approx(own["totals"]["percent_covered"], abs=0.01)
    assert outcome.metrics["tests_passed"] is None
    assert "COV007" in rule_ids(outcome) and "COV001" in rule_ids(outcome)


def test_stale_or_corrupt_data_is_ignored_and_tests_run(tmp_path):
    repo = make_repo(tmp_path / "repo")
    stale = repo / "coverage.json"
    stale.write_text('{"totals": {"percent_covered": 99.0, "covered_lines": 1, "num_statements": 1}, "files": {}}')
    past = time.time() - 3600
    os.utime(stale, (past, past))
    corrupt = repo / "coverage.xml"
    corrupt.write_text("<coverage><unclosed>")
    future = time.time() + 60
    os.utime(corrupt, (future, future))
    outcome, _ = run_check(repo, tmp_path)
    assert outcome.metrics["command"] == "pytest" and outcome.metrics["tests_failed"] == 1
    assert outcome.metrics["percent_covered"] < 99
    notes = " ".join(outcome.metrics["notes"])
    assert "coverage.xml" in notes and "coverage.json" in notes
    with pytest.raises(CheckError, match="no usable fresh coverage data"):
        run_check(repo, tmp_path, use_existing="only")


def test_cobertura_xml_gives_coverage_py_total(tmp_path):
    repo = make_repo(tmp_path / "repo", TESTS_ALL_GOOD.replace(", unused_one(1) == 3", ""))
    own = coverage_own_total(repo, tmp_path)
    data = next(tmp_path.glob("own-all.coverage"))
    subprocess.run([sys.executable, "-m", "coverage", "xml", f"--data-file={data}", "-o", str(repo / "coverage.xml")],
                   cwd=repo, check=True, capture_output=True)
    future = time.time() + 60
    os.utime(repo / "coverage.xml", (future, future))
    outcome, _ = run_check(repo, tmp_path, use_existing="only")
    assert outcome.metrics["percent_covered"] == pytest.approx(own["totals"]["percent_covered"], abs=0.1)
    row = next(r for r in outcome.metrics["files"] if r["file"] == "calc.py")
    assert row["missing"] == len(own["files"]["calc.py"]["missing_lines"])


def test_existing_data_file_is_reported_by_coverage_py(tmp_path):
    repo = make_repo(tmp_path / "repo")
    own = coverage_own_total(repo, tmp_path)
    (repo / ".coverage").write_bytes((tmp_path / "own-all.coverage").read_bytes())
    future = time.time() + 60
    os.utime(repo / ".coverage", (future, future))
    outcome, _ = run_check(repo, tmp_path, use_existing="only")
    assert outcome.metrics["percent_covered"] == pytest.approx(own["totals"]["percent_covered"], abs=0.01)
    assert ".coverage" in outcome.metrics["source"]



def _foreign_data_file(repo, tmp_path):
    """A .coverage recorded on another machine: the same suite measured in a copy of the repo elsewhere,
    so every path it names is absolute and outside this repo (as a data file committed from a laptop)."""
    elsewhere = make_repo(tmp_path / "laptop" / "project")
    coverage_own_total(elsewhere, tmp_path)
    (repo / ".coverage").write_bytes((tmp_path / "own-all.coverage").read_bytes())


def test_data_file_naming_none_of_the_repos_files_is_no_figure(tmp_path):
    # coverage.py reports 100 % of 0 statements for such a file: the audit runs the tests instead.
    repo = make_repo(tmp_path / "repo")
    _foreign_data_file(repo, tmp_path)
    future = time.time() + 60
    os.utime(repo / ".coverage", (future, future))
    with pytest.raises(CheckError, match="measured none of this repo's files.*laptop"):
        run_check(repo, tmp_path, use_existing="only")
    outcome, _ = run_check(repo, tmp_path)
    assert outcome.metrics["command"] == "pytest" and outcome.metrics["statements"] > 0
    assert outcome.metrics["percent_covered"] < 100
    assert any("measured none of this repo's files" in n for n in outcome.metrics["notes"])


def test_data_committed_to_git_before_the_sources_changed_is_stale(tmp_path):
    # A committed coverage.json takes the checkout's mtime, newer than the sources checked out before it:
    # git's history, not the mtime, says which code it measured.
    repo = make_repo(tmp_path / "repo")
    own = coverage_own_total(repo, tmp_path)
    (repo / "coverage.json").write_text(json.dumps(own))
    git_init(repo)
    (repo / "calc.py").write_text((repo / "calc.py").read_text() + "\n\ndef later(x):\n    return x\n")
    git_commit(repo, "sources changed after the data")
    future = time.time() + 60
    os.utime(repo / "coverage.json", (future, future))  # as a checkout that wrote it last
    with pytest.raises(CheckError, match=r"committed to git in \w+ .*1 later commit changed the sources"):
        run_check(repo, tmp_path, use_existing="only")
    outcome, _ = run_check(repo, tmp_path)
    assert outcome.metrics["command"] == "pytest"
    assert any("coverage.json (committed to git" in n for n in outcome.metrics["notes"])


def test_data_committed_with_the_current_sources_is_used_whatever_its_mtime(tmp_path):
    repo = make_repo(tmp_path / "repo")
    own = coverage_own_total(repo, tmp_path)
    (repo / "coverage.json").write_text(json.dumps(own))
    git_init(repo)
    past = time.time() - 3600
    os.utime(repo / "coverage.json", (past, past))  # checked out before the sources
    outcome, _ = run_check(repo, tmp_path, use_existing="only")
    assert outcome.metrics["percent_covered"] == pytest.approx(own["totals"]["percent_covered"], abs=0.01)
    assert "with the current sources" in outcome.metrics["source"]
    # An uncommitted edit of a source makes it stale again.
    (repo / "calc.py").write_text((repo / "calc.py").read_text() + "\n\ndef edited(x):\n    return x\n")
    with pytest.raises(CheckError, match="uncommitted changes"):
        run_check(repo, tmp_path, use_existing="only")


def test_unittest_command_counts_from_runner_output(tmp_path):
    repo = make_repo(tmp_path / "repo", "")
    write(repo / "tests" / "__init__.py", "")
    write(repo / "tests" / "test_unit.py", """\
        import unittest

        from calc import add


        class AddTests(unittest.TestCase):
            def test_ok(self):
                self.assertEqual(add(1, 2), 3)

            def test_wrong(self):
                self.assertEqual(add(1, 2), 4)

            @unittest.skip("later")
            def test_later(self):
                pass
        """)
    outcome, status = run_check(repo, tmp_path, command="python -m unittest discover -s tests -t .")
    m = outcome.metrics
    assert (m["tests_passed"], m["tests_failed"], m["tests_skipped"]) == (1, 1, 1)
    assert m["failed_tests"] == ["tests.test_unit.AddTests.test_wrong"] and status == "fail"


def test_parallel_data_files_from_the_repo_config_are_combined(tmp_path):
    repo = make_repo(tmp_path / "repo", TESTS_ALL_GOOD)
    (repo / ".coveragerc").write_text("[run]\nparallel = true\nbranch = true\n")
    outcome, status = run_check(repo, tmp_path)
    assert status == "pass" and outcome.metrics["percent_covered"] == 100.0
    assert outcome.metrics["branch_coverage"] is True  # the repo's own config was honoured


def test_hanging_tests_time_out_with_a_finding(tmp_path):
    repo = make_repo(tmp_path / "repo", "import time\n\ndef test_hangs():\n    time.sleep(60)\n")
    began = time.monotonic()
    outcome, status = run_check(repo, tmp_path, timeout=3)
    assert time.monotonic() - began < 30
    assert rule_ids(outcome) == ["COV005"] and status == "fail"
    assert outcome.metrics["percent_covered"] is None


def test_repo_without_tests_is_a_finding(tmp_path):
    repo = tmp_path / "repo"
    write(repo / "calc.py", "def f():\n    return 1\n")
    outcome, status = run_check(repo, tmp_path)
    assert "COV004" in rule_ids(outcome) and status == "fail"


def test_environment_without_coverage_is_one_line_error(tmp_path):
    venv = tmp_path / "bare-venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, capture_output=True)
    repo = make_repo(tmp_path / "repo")
    with pytest.raises(CheckError, match="coverage.py is not installed") as info:
        run_check(repo, tmp_path, settings={"python": str(venv / "bin" / "python")})
    assert "\n" not in str(info.value)


def test_bad_command_is_one_line_error(tmp_path):
    repo = make_repo(tmp_path / "repo")
    with pytest.raises(CheckError, match="command"):
        run_check(repo, tmp_path, command="make test")
    outcome, status = run_check(repo, tmp_path, command="pytest --no-such-option")
    assert status == "error" and outcome.metrics["percent_covered"] is None and not outcome.findings
    assert "pytest was used wrongly, exit 4" in outcome.summary and "--no-such-option" in outcome.summary
    assert "\n" not in outcome.summary


def test_diff_coverage_on_lines_changed_since_base_ref(tmp_path):
    repo = make_repo(tmp_path / "repo", TESTS_ALL_GOOD, git=True)
    # New code after the base: four executable lines, only the def line runs (at import).
    with open(repo / "calc.py", "a", encoding="utf-8") as handle:
        handle.write("\n\ndef added_later(x):\n    if x:\n        return 1\n    return 2\n")
    git_commit(repo, "add code without tests")
    write(repo / "extra.py", "VALUE = 1\n")  # untracked, imported by nobody: counted as changed and missed
    outcome, status = run_check(repo, tmp_path, settings={"base_ref": "HEAD~1"})
    m = outcome.metrics
    # The def line ran at import; its body (3 lines) and the untracked file (1 line) did not.
    assert m["diff_statements"] == 5 and m["diff_missing"] == 4 and m["diff_percent_covered"] == 20.0
    assert {row["file"] for row in m["diff_files"]} == {"calc.py", "extra.py"}
    assert "COV003" in rule_ids(outcome)
    assert status == "warn"  # COV003 is medium; the total stays high
    with pytest.raises(CheckError, match="unknown git ref"):
        run_check(repo, tmp_path, settings={"base_ref": "no-such-branch"})


def test_greenlet_code_is_measured_with_greenlet_concurrency_and_noted(tmp_path):
    pytest.importorskip("greenlet")
    repo = make_repo(tmp_path / "repo", TESTS_ALL_GOOD)
    write(repo / "asyncdb.py", "import greenlet\n\n\ndef run(fn):\n    return greenlet.greenlet(fn).switch()\n")
    write(repo / "tests" / "test_asyncdb.py", "from asyncdb import run\n\ndef test_run():\n    assert run(lambda: 7) == 7\n")
    outcome, _ = run_check(repo, tmp_path)
    assert outcome.metrics["concurrency"] == ["thread", "greenlet"]
    note = next(f for f in outcome.findings if f.rule_id == "COV006")
    assert "greenlet" in note.message and outcome.metrics["percent_covered"] == 100.0


def test_sample_service_passes_measured_for_real(tmp_path):
    """What `audit demo` does: the sample service's own suite under coverage (PostgreSQL tests skip without
    a server). It is a package directory, so its tests run from the parent (no stdlib shadowing)."""
    repo = REPO_ROOT / "sample_service"
    before = files_in(repo)
    outcome, status = run_check(repo, tmp_path, seconds=240)
    m = outcome.metrics
    assert status == "pass", [f.message for f in outcome.findings]
    assert m["percent_covered"] >= 80 and m["tests_failed"] == 0 and m["tests_passed"] > 20
    assert any(row["file"] == "app.py" for row in m["files"])  # repo-relative paths
    assert files_in(repo) == before
