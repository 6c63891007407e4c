"""Pure parts of the coverage check: JUnit and unittest outcomes, line ranges, unified diffs, commands."""

from __future__ import annotations

import pytest

from checks.coverage.data import line_ranges
from checks.coverage.environment import EnvironmentError_, repo_coverage_config, resolve_command
from auditor.git import parse_unified_diff
from checks.coverage.junit import parse_junit, parse_unittest_output

JUNIT = """<?xml version="1.0"?><testsuites><testsuite name="pytest" tests="5">
<testcase classname="tests.test_a" name="test_ok"/>
<testcase classname="tests.test_a" name="test_bad"><failure message="assert 1 == 2">trace</failure></testcase>
<testcase classname="tests.test_a" name="test_err"><error message="fixture blew up"/></testcase>
<testcase classname="tests.test_a" name="test_skip"><skipped message="no"/></testcase>
<testcase classname="tests.test_b.TestX" name="test_ok2"/>
</testsuite></testsuites>"""

DJANGO_OUTPUT = """Creating test database for alias 'default'...
.F.sE
======================================================================
ERROR: test_boom (shop.tests.OrderTests.test_boom)
----------------------------------------------------------------------
Traceback (most recent call last):
======================================================================
FAIL: test_total (shop.tests.OrderTests)
----------------------------------------------------------------------
AssertionError: 1 != 2

----------------------------------------------------------------------
Ran 5 tests in 0.012s

FAILED (failures=1, errors=1, skipped=1)
Destroying test database for alias 'default'...
"""


def test_junit_counts_and_names(tmp_path):
    path = tmp_path / "junit.xml"
    path.write_text(JUNIT)
    outcome = parse_junit(path)
    assert (outcome.passed, outcome.failed, outcome.skipped) == (2, 2, 1)
    assert outcome.failed_names == ["tests.test_a::test_bad", "tests.test_a::test_err"]
    assert outcome.failure_messages["tests.test_a::test_bad"] == "assert 1 == 2"


def test_unittest_and_django_summary():
    outcome = parse_unittest_output(DJANGO_OUTPUT)
    assert outcome is not None
    assert (outcome.passed, outcome.failed, outcome.skipped) == (2, 2, 1)
    assert outcome.failed_names == ["shop.tests.OrderTests.test_boom", "shop.tests.OrderTests.test_total"]
    ok = parse_unittest_output("....\n----\nRan 4 tests in 0.1s\n\nOK (skipped=1)\n")
    assert ok is not None and (ok.passed, ok.failed, ok.skipped) == (3, 0, 1)
    assert parse_unittest_output("no summary here") is None


def test_line_ranges_like_coverage_py():
    assert line_ranges([1, 2, 3, 7, 9, 10]) == "1-3, 7, 9-10"
    assert line_ranges([]) == ""
    assert line_ranges([5]) == "5"


def test_unified_diff_new_side_lines():
    diff = """diff --git a/app.py b/app.py
--- a/app.py
+++ b/app.py
@@ -3,0 +4,2 @@ def f():
+    x = 1
+    y = 2
@@ -10 +12 @@
-old
+new
@@ -20,3 +21,0 @@
diff --git a/gone.py b/gone.py
--- a/gone.py
+++ /dev/null
@@ -1,2 +0,0 @@
"""
    assert parse_unified_diff(diff) == {"app.py": {4, 5, 12}}


def test_test_command_detection(tmp_path):
    assert resolve_command(tmp_path, None).is_pytest
    (tmp_path / "manage.py").write_text("")
    django = resolve_command(tmp_path, None)
    assert (django.kind, django.target, django.args) == ("script", "manage.py", ["test"])
    assert django.is_unittest_style
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    assert resolve_command(tmp_path, None).is_pytest  # pytest configured (pytest-django): pytest wins
    custom = resolve_command(tmp_path, "python -m unittest discover -s tests")
    assert (custom.kind, custom.target, custom.args) == ("module", "unittest", ["discover", "-s", "tests"])
    assert resolve_command(tmp_path, "pytest -q tests/unit").args == ["-q", "tests/unit"]
    with pytest.raises(EnvironmentError_):
        resolve_command(tmp_path, "tox -e py311")


def test_repo_coverage_config_sources(tmp_path):
    assert repo_coverage_config(tmp_path).source is False
    (tmp_path / "pyproject.toml").write_text('[tool.coverage.run]\nsource = ["app"]\nconcurrency = ["greenlet"]\n')
    config = repo_coverage_config(tmp_path)
    assert config.source and config.concurrency == ["greenlet"] and config.file == "pyproject.toml"
    (tmp_path / ".coveragerc").write_text("[run]\nconcurrency = thread, gevent\n")
    config = repo_coverage_config(tmp_path)
    assert not config.source and config.concurrency == ["thread", "gevent"] and config.file == ".coveragerc"


def test_credentials_in_test_output_are_masked():
    from auditor.redact import redact

    text = redact("OperationalError: postgresql://app:s3cr3t@127.0.0.1/db; password=hunter2 api_key: 'abc123'")
    assert "s3cr3t" not in text and "hunter2" not in text and "abc123" not in text
    assert "postgresql://app:***@127.0.0.1/db" in text


def test_failing_test_file_inside_a_package_repo(tmp_path):
    from checks.coverage.judge import failing_test_file

    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_api.py").write_text("")
    assert failing_test_file("sample_service.tests.test_api::test_x", tmp_path) == "tests/test_api.py"
    assert failing_test_file("tests.test_api.TestA::test_y", tmp_path) == "tests/test_api.py"
    assert failing_test_file("nowhere::test_z", tmp_path) is None


def test_pytest_cov_in_addopts_is_detected(tmp_path):
    from checks.coverage.environment import uses_pytest_cov

    plain = resolve_command(tmp_path, None)
    assert not uses_pytest_cov(tmp_path, plain)
    assert uses_pytest_cov(tmp_path, resolve_command(tmp_path, "pytest --cov=app"))
    (tmp_path / "pyproject.toml").write_text('[tool.pytest.ini_options]\naddopts = "-q --cov=app --cov-report=xml"\n')
    assert uses_pytest_cov(tmp_path, plain)
    (tmp_path / "pyproject.toml").write_text('[tool.pytest.ini_options]\naddopts = [\n  "-q",\n  "--cov=app",\n]\n')
    assert uses_pytest_cov(tmp_path, plain)
