"""Fixture repos for the coverage check's tests, generated into tmp_path (nothing committed that pytest
could collect), and coverage.py's own figures for them, measured independently of the check."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

from auditor.gate import check_status
from auditor.model import Outcome
from checks.coverage import CoverageCheck, CoverageConfig
from tests.conftest import check_context

CALC = '''\
def add(a, b):
    return a + b


def sub(a, b):
    return a - b


def classify(n):
    if n < 0:
        return "negative"
    if n == 0:
        return "zero"
    if n > 1000:
        return "huge"
    return "positive"


def unused_one(x):
    y = x * 2
    z = y + 1
    return z


def unused_two(items):
    total = 0
    for item in items:
        total += item
    return total


def unused_three(text):
    words = text.split()
    return len(words)
'''

TESTS_WITH_ONE_FAILURE = '''\
import pytest

from calc import add, classify, sub


def test_add():
    assert add(2, 3) == 5


def test_sub():
    assert sub(5, 3) == 2


def test_classify_negative():
    assert classify(-1) == "negative"


def test_broken():
    assert add(1, 1) == 3


@pytest.mark.skip(reason="not today")
def test_skipped():
    assert False
'''

TESTS_ALL_GOOD = '''\
from calc import add, classify, sub, unused_one, unused_three, unused_two


def test_everything():
    assert add(2, 3) == 5 and sub(5, 3) == 2
    assert [classify(n) for n in (-1, 0, 5000, 3)] == ["negative", "zero", "huge", "positive"]
    assert unused_one(1) == 3 and unused_two([1, 2]) == 3 and unused_three("a b") == 2
'''


# The fixture tests need no pytest plugin; the auditor's venv has heavy ones (schemathesis, hypothesis)
# whose loading triples the time of every fixture run.
FAST_PYTEST = {"PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def make_repo(root: Path, tests: str = TESTS_WITH_ONE_FAILURE, *, git: bool = False) -> Path:
    """A tiny project: calc.py at the top (importable from the rootdir), tests in tests/."""
    root.mkdir(parents=True, exist_ok=True)
    write(root / "calc.py", CALC)
    write(root / "tests" / "test_calc.py", tests)
    write(root / "pyproject.toml", '[project]\nname = "calc"\nversion = "0"\n\n[tool.pytest.ini_options]\n'
                                   'pythonpath = ["."]\n')
    if git:
        git_init(root)
    return root


def git_init(root: Path) -> None:
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-qm", "base"]):
        subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args], cwd=root, check=True,
                       capture_output=True)


def git_commit(root: Path, message: str) -> None:
    for args in (["add", "-A"], ["commit", "-qm", message]):
        subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args], cwd=root, check=True,
                       capture_output=True)


def coverage_own_total(repo: Path, scratch: Path, source: str | None = None, *,
                       runner: tuple[str, ...] = ("-m", "pytest", "-q", "-p", "no:cacheprovider"),
                       python: str = sys.executable) -> dict[str, Any]:
    """coverage.py's own figure for the repo, measured the plain way (coverage run --source=X ...; coverage
    json) with its data outside the repo; the check must agree with it. ``source``: what to measure (the
    application's package or module, as a user would name it); the whole repo when None."""
    tag = (source or "all").replace("/", "_")
    data = scratch / f"own-{tag}.coverage"
    out = scratch / f"own-{tag}.json"
    env_cmd = [python, "-m", "coverage"]
    subprocess.run([*env_cmd, "run", f"--data-file={data}", f"--source={source or repo}", *runner], cwd=repo,
                   capture_output=True, timeout=120,
                   env={"PYTHONDONTWRITEBYTECODE": "1", "PATH": "/usr/bin:/bin", **FAST_PYTEST})
    subprocess.run([*env_cmd, "json", f"--data-file={data}", "-o", str(out)], cwd=repo, capture_output=True,
                   timeout=60, check=True)
    return json.loads(out.read_text())


def run_check(repo: Path, tmp: Path, seconds: float = 120, settings: dict[str, Any] | None = None,
              **config: Any) -> tuple[Outcome, str]:
    """(outcome, status the runner would give it at --fail-on high)."""
    config.setdefault("env", FAST_PYTEST)
    work = tmp / "check-tmp"
    work.mkdir(parents=True, exist_ok=True)
    ctx = check_context(None, CoverageConfig(**config), work, repo=repo, seconds=seconds, settings=settings)
    with ctx.http:
        outcome = CoverageCheck().run(ctx)
    return outcome, str(check_status(outcome.findings, "high", outcome.status))


def files_in(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if ".git" not in p.parts}


def rule_ids(outcome: Outcome) -> list[str]:
    return sorted(f.rule_id for f in outcome.findings)
