"""What part of a repository a file belongs to — production code, tests and fixtures, examples and docs,
CI and dev tooling, migrations, seed and dev scripts — decided once here for every check that judges
repository files (security, deployment, dependencies).

A finding means different things in each: a password in a test fixture is a fixture, an ``assert`` in a
test is the test, ``random`` in a seed script seeds data. The decision uses path conventions of the major
ecosystems and the repo's own test-runner configuration (pytest ``testpaths``), never the file's content.
Compose files count as dev tooling (a committed compose file is how people run the stack locally; the
credentials in it are its dev defaults); a plain ``.env`` and everything not matched count as production.
"""

from __future__ import annotations

import configparser
import re
import tomllib
from enum import StrEnum
from functools import lru_cache
from pathlib import Path, PurePosixPath


class FileContext(StrEnum):
    PRODUCTION = "production code"
    TEST = "tests and fixtures"
    EXAMPLE = "examples, templates and docs"
    TOOLING = "CI and dev tooling"
    MIGRATION = "migrations"
    SEED = "seed and dev scripts"


_TEST_DIRS = frozenset({"tests", "test", "testing", "__tests__", "spec", "specs", "fixtures", "__fixtures__",
                        "testdata", "test_data", "test-data", "e2e", "integration_tests", "unit_tests", "cypress",
                        "playwright", "__mocks__", "mocks", "factories"})
_TEST_FILE = re.compile(r"^(test_.*\.py|.*_test\.(py|go|rb|exs?)|conftest\.py|tests\.py|.*\.(test|spec)\.[jt]sx?|"
                        r".*_spec\.rb|.*Tests?\.(java|kt|cs)|.*\.test\.(ts|js)|pytest\.ini|tox\.ini)$")
_EXAMPLE_DIRS = frozenset({"docs", "doc", "documentation", "examples", "example", "samples", "sample", "demo",
                           "demos", "tutorial", "tutorials", "site", "website"})
_EXAMPLE_FILE = re.compile(r"(?i)^(readme.*|changelog.*|contributing.*|.*\.(md|rst|adoc|ipynb)|"
                           r".*\.(example|sample|template|tmpl|tpl|dist)|.*\.example\..*|.*\.sample\..*)$")
_TOOLING_DIRS = frozenset({".github", ".gitlab", ".gitea", ".forgejo", ".circleci", ".buildkite", ".woodpecker",
                           ".devcontainer", ".vscode", ".idea", "ci", ".ci", "deploy/dev", ".husky"})
_TOOLING_FILE = re.compile(r"(?i)^(\.gitlab-ci\.ya?ml|jenkinsfile|\.drone\.ya?ml|\.woodpecker\.ya?ml|"
                           r"azure-pipelines\.ya?ml|bitbucket-pipelines\.ya?ml|\.travis\.ya?ml|appveyor\.ya?ml|"
                           r"(docker-)?compose([.-][\w.-]+)?\.ya?ml|makefile|justfile|\.pre-commit-config\.ya?ml|"
                           r"\.env\.(dev|development|local|test|ci)(\..*)?)$")
# Tooling only at the top of the repo (app/tasks.py is Celery tasks, not invoke's tasks.py).
_ROOT_TOOLING_FILE = re.compile(r"(?i)^(noxfile\.py|tasks\.py|fabfile\.py|setup\.py|dodo\.py)$")
_MIGRATION_DIRS = frozenset({"migrations", "alembic", "versions", "migrate", "db/migrate"})
_SEED_FILE = re.compile(r"(?i)^(seed.*|.*_seed\.py|.*seeds?\.py|populate.*|fake_?data.*|load_?data.*|"
                        r"init_?db.*|create_?demo.*|demo_?data.*|mock_?data.*|create_?random.*|random_?data.*|"
                        r"(?:create|generate|make)_?(?:fake|test|sample|dummy)_?data.*)\.(py|js|ts|rb|sql)$")
_SEED_DIRS = frozenset({"seeds", "seed", "seeders"})


def classify(rel: str, test_paths: tuple[str, ...] = ()) -> FileContext:
    """The context of a repo-relative POSIX path."""
    path = PurePosixPath(rel)
    parts = [p.lower() for p in path.parts]
    dirs = parts[:-1]
    if any(rel == t or rel.startswith(t.rstrip("/") + "/") for t in test_paths):
        return FileContext.TEST
    if any(d in _TEST_DIRS for d in dirs) or _TEST_FILE.match(path.name):
        return FileContext.TEST
    if any(d in _TOOLING_DIRS for d in dirs) or _TOOLING_FILE.match(path.name) \
            or (not dirs and _ROOT_TOOLING_FILE.match(path.name)):
        return FileContext.TOOLING
    if any(d in _MIGRATION_DIRS for d in dirs):
        return FileContext.MIGRATION
    if _SEED_FILE.match(path.name) or "management/commands/seed" in rel.lower() or any(d in _SEED_DIRS for d in dirs):
        return FileContext.SEED
    if any(d in _EXAMPLE_DIRS for d in dirs) or _EXAMPLE_FILE.match(path.name):
        return FileContext.EXAMPLE
    return FileContext.PRODUCTION


class RepoContext:
    """``classify`` with the repo's own test-runner configuration (pytest testpaths) taken into account."""

    def __init__(self, repo: Path) -> None:
        self.repo = repo
        self.test_paths = _pytest_testpaths(repo)

    def __call__(self, rel: str) -> FileContext:
        return classify(rel, self.test_paths)

    def is_production(self, rel: str) -> bool:
        return self(rel) is FileContext.PRODUCTION


@lru_cache(maxsize=16)
def for_repo(repo: Path) -> RepoContext:
    return RepoContext(repo)


def _pytest_testpaths(repo: Path) -> tuple[str, ...]:
    """pytest's ``testpaths`` from pyproject.toml, pytest.ini, setup.cfg or tox.ini (the first that has it)."""
    found: list[str] = []
    pyproject = repo / "pyproject.toml"
    try:
        options = tomllib.loads(pyproject.read_text(encoding="utf-8")).get("tool", {}).get("pytest", {}).get(
            "ini_options", {}) if pyproject.is_file() else {}
        raw = options.get("testpaths", [])
        found = [raw] if isinstance(raw, str) else [str(p) for p in raw]
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError, AttributeError):
        found = []
    for name, section in (("pytest.ini", "pytest"), ("setup.cfg", "tool:pytest"), ("tox.ini", "pytest")):
        if found:
            break
        path = repo / name
        if not path.is_file():
            continue
        parser = configparser.RawConfigParser()
        try:
            parser.read(path, encoding="utf-8")
            found = parser.get(section, "testpaths", fallback="").split()
        except (configparser.Error, UnicodeDecodeError, OSError):
            found = []
    return tuple(p.strip("./") for p in found if p.strip("./"))
