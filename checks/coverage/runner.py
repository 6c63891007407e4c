"""Which test runner the repo uses, and why: stated in the console line, the summary and the method.

Lives in the coverage check, not the core sandbox: the sandbox decides HOW the repo's code runs
(interpreter, environment, databases) for every check; WHAT runs (pytest, Django's runner, unittest) is
knowledge only this check uses. Reads files only.

Order, first match wins:
1. ``[tool.auditor.coverage] command``;
2. pytest configured (pytest.ini, [tool.pytest.ini_options], [tool:pytest], tox.ini [pytest], a root
   conftest.py);
3. Django (manage.py naming a settings module): ``manage.py test`` with the labels a plain run would
   miss (test directories that are not packages: Django's discovery only walks packages); the project's
   own test command (Makefile, tox.ini, noxfile.py, CI config) is a strong hint for the labels;
4. test files pytest would collect: pytest; when the tests use unittest only and pytest is not installed
   (or `python -m unittest discover` reaches them all), unittest discover;
5. no test files at all: nothing runs (COV004).
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

from auditor.repo_scope import RepoScope
from checks.coverage.environment import (EnvironmentError_, RunCommand, has_pytest_config, iter_sources,
                                         resolve_command)

MAX_HINT_BYTES = 256 * 1024
MAX_TEST_FILES = 5000
HINT_FILES = ("Makefile", "makefile", "GNUmakefile", "tox.ini", "noxfile.py", "justfile", ".gitlab-ci.yml",
              "Taskfile.yml", "setup.cfg")
HINT_DIRS = (".github/workflows", ".circleci")
_DJANGO_TEST = re.compile(r"manage\.py\s+test\b([^\n;&|#`)]*)")
_PYTEST = re.compile(r"(?:^|[\s\"'(])(?:python[\d.]*\s+-m\s+)?(?:py\.test|pytest)(?=\s|$|[\"')])([^\n;&|#`)]*)")
_UNITTEST = re.compile(r"python[\d.]*\s+-m\s+unittest\b([^\n;&|#`)]*)")
_SETTINGS = re.compile(r"DJANGO_SETTINGS_MODULE[\"']?\s*,\s*[\"']([\w.]+)[\"']")
_TEST_FILE = re.compile(r"^(?:test.*\.py|.*_test\.py)$")
_USES_PYTEST = re.compile(r"^\s*(?:import pytest|from pytest\b|from _pytest\b)|@pytest\.|pytest\.", re.M)


@dataclass
class Hint:
    """A test command the project itself runs, found in a Makefile, tox.ini, noxfile or CI config."""

    where: str               # "Makefile:12"
    kind: str                # "django" | "pytest" | "unittest"
    text: str                # the command as written (shortened)
    args: list[str] = field(default_factory=list)


@dataclass
class Runner:
    command: RunCommand | None      # None: there is nothing to run (no test files)
    name: str                       # "configured" | "pytest" | "django" | "unittest" | "none"
    why: str                        # one clause, for the summary and the method
    hints: list[Hint] = field(default_factory=list)
    cwd: Path | None = None         # where to run it (Django: manage.py's directory)

    def describe(self) -> str:
        return f"{self.command.text if self.command else 'no test command'} ({self.why})"


def detect(repo: Path, configured: str | None, *, pytest_installed: bool, scope: RepoScope | None = None) -> Runner:
    hints = find_hints(scope or RepoScope.of(repo))
    if configured is not None:
        return Runner(resolve_command(repo, configured), "configured", "[tool.auditor.coverage] command", hints)
    if has_pytest_config(repo):
        return Runner(RunCommand("module", "pytest", [], "pytest"), "pytest", "pytest is configured in the repo", hints)
    manage = find_manage(repo)
    if manage is not None:
        return _django(repo, manage, hints)
    tests = test_files(repo)
    if not tests:
        return Runner(None, "none", "no test files (test*.py, *_test.py) in the repo", hints)
    project_hint = next((h for h in hints if h.kind in ("pytest", "unittest")), None)
    if project_hint is not None and project_hint.kind == "pytest":
        return Runner(RunCommand("module", "pytest", [], "pytest"), "pytest",
                      f"the project runs pytest ({project_hint.where})", hints)
    if not any(_uses_pytest(path) for path in tests):
        start = unittest_start(repo, tests)
        if start is not None or not pytest_installed:
            args = ["discover"] + (["-s", start] if start not in (None, ".") else [])
            why = "the tests use unittest only" + ("" if start is not None else
                                                   "; pytest is not installed, and unittest discover misses test "
                                                   "directories that are not packages")
            return Runner(RunCommand("module", "unittest", args, "python -m unittest " + " ".join(args)), "unittest",
                          why, hints, repo)
    return Runner(RunCommand("module", "pytest", [], "pytest"), "pytest",
                  f"{len(tests)} test file{'s' if len(tests) != 1 else ''} pytest collects", hints)


def find_manage(repo: Path) -> Path | None:
    """manage.py at the repo's top or one level down, when it names a Django settings module."""
    for path in (repo / "manage.py", *sorted(repo.glob("*/manage.py"))):
        try:
            if path.is_file() and _SETTINGS.search(path.read_text(encoding="utf-8", errors="replace")[:20000]):
                return path
        except OSError:
            continue
    return None


def _django(repo: Path, manage: Path, hints: list[Hint]) -> Runner:
    base = manage.parent
    script = manage.relative_to(repo).as_posix()
    own = next((h for h in hints if h.kind == "django"), None)
    if own is not None:
        args = ["test", *own.args]
        why = f"Django project; the project's own test command ({own.where}: {own.text})"
    else:
        labels = django_labels(base, test_files(base))
        args = ["test", *labels]
        why = "Django project (manage.py)" + (f"; labels {', '.join(labels)} for test directories that are not "
                                              "packages (a plain run finds 0 tests there)" if labels else "")
    text = "python " + " ".join(shlex.quote(a) for a in [script, *args])
    return Runner(RunCommand("script", str(manage), args, text), "django", why, hints, base)


def test_files(base: Path) -> list[Path]:
    out = []
    for path in iter_sources(base):
        if _TEST_FILE.match(path.name):
            out.append(path)
            if len(out) >= MAX_TEST_FILES:
                break
    return out


def _hidden_top(base: Path, path: Path) -> str | None:
    """The first directory between ``base`` and the test file that is not a package (None: all are)."""
    parts = path.relative_to(base).parts[:-1]
    current = base
    for index, part in enumerate(parts):
        current = current / part
        if not (current / "__init__.py").is_file():
            return "/".join(parts[:index + 1])
    return None


def django_labels(base: Path, tests: list[Path]) -> list[str]:
    """Labels for `manage.py test` so it finds every test module: the directories that are not packages
    (Django discovers only through packages), plus "." when some tests are reachable the plain way.
    Empty when a plain run reaches them all."""
    hidden = sorted({top for path in tests if (top := _hidden_top(base, path)) is not None})
    if not hidden:
        return []
    reachable = any(_hidden_top(base, path) is None for path in tests)
    return hidden + (["."] if reachable else [])


def unittest_start(repo: Path, tests: list[Path]) -> str | None:
    """The start directory from which `python -m unittest discover` reaches every test module: "." when
    all are reachable through packages, the one non-package test directory when they all live there,
    else None (no single start directory works)."""
    hidden = {_hidden_top(repo, path) for path in tests}
    if hidden == {None}:
        return "."
    if len(hidden) == 1:
        only = next(iter(hidden))
        return only
    return None


def _uses_pytest(path: Path) -> bool:
    try:
        return bool(_USES_PYTEST.search(path.read_text(encoding="utf-8", errors="replace")[:MAX_HINT_BYTES]))
    except OSError:
        return True


def find_hints(scope: RepoScope) -> list[Hint]:
    """The project's own test commands, from the repo up to the git root, nearest first."""
    files: list[Path] = []
    for directory in scope.dirs():
        files += [directory / name for name in HINT_FILES if scope.readable(directory / name)]
        for name in HINT_DIRS:
            folder = directory / name
            if folder.is_dir():
                files += sorted(p for p in folder.iterdir() if p.suffix in (".yml", ".yaml") and scope.readable(p))
    hints: list[Hint] = []
    for path in files:
        try:
            text = path.read_bytes()[:MAX_HINT_BYTES].decode("utf-8", "replace")
        except OSError:
            continue
        for number, line in enumerate(text.splitlines(), 1):
            if line.lstrip().startswith("#") or re.search(r"\binstall\b", line):
                continue  # comments, and `pip install pytest` (installing is not running)
            where = f"{scope.rel(path)}:{number}"
            for kind, pattern in (("django", _DJANGO_TEST), ("unittest", _UNITTEST), ("pytest", _PYTEST)):
                match = pattern.search(line)
                if match:
                    hints.append(Hint(where, kind, " ".join(match.group(0).split())[:160],
                                      _args(match.group(1), kind)))
                    break
    return hints


def _args(tail: str, kind: str) -> list[str]:
    """The labels (and --settings) of a `manage.py test` command; nothing for the others (their options
    may start workers or plugins the audit cannot measure)."""
    if kind != "django":
        return []
    try:
        words = shlex.split(tail)
    except ValueError:
        words = tail.split()
    out: list[str] = []
    take_next = False
    for word in words:
        if take_next:
            out.append(word)
            take_next = False
        elif word == "--settings":
            out.append(word)
            take_next = True
        elif word.startswith("--settings="):
            out.append(word)
        elif not word.startswith("-") and "$" not in word and "=" not in word and "{" not in word:
            out.append(word)
    return out


__all__ = ["EnvironmentError_", "Hint", "Runner", "detect", "django_labels", "find_hints", "find_manage",
           "test_files", "unittest_start"]
