"""The audited repo's Python environment and test command: what is installed in the repo's interpreter,
how the tests are run, what the repo's own coverage config says. Reads files only; the one probe that
asks the interpreter what it has runs in the sandbox (auditor.sandbox chooses the interpreter)."""

from __future__ import annotations

import configparser
import json
import os
import re
import shlex
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from auditor.sandbox import Sandbox

SKIP_DIRS = {".git", ".hg", ".venv", "venv", "env", ".tox", ".nox", "node_modules", "__pycache__", "build",
             "dist", "site-packages", ".mypy_cache", ".pytest_cache", ".ruff_cache", "htmlcov"}
MAX_SOURCES = 20_000
PROBE_TIMEOUT_S = 60
PROBE_MODULES = ("coverage", "pytest", "greenlet", "gevent", "eventlet", "django", "xdist")
# Imports that put code in greenlets, which coverage.py only follows with concurrency = greenlet/gevent/...
_GREENLET_IMPORT = re.compile(
    r"^\s*(?:from|import)\s+(gevent|eventlet|greenlet|sqlalchemy\.ext\.asyncio)\b", re.M)


class EnvironmentError_(Exception):
    """The repo's environment cannot run the tests; one line."""


def iter_sources(repo: Path, suffix: str = ".py") -> Iterator[Path]:
    """The repo's own source files (virtualenvs, caches and build output left out), bounded in number."""
    count = 0
    for root, dirs, files in os.walk(repo):
        dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS and not d.endswith(".egg-info"))
        for name in sorted(files):
            if name.endswith(suffix):
                count += 1
                if count > MAX_SOURCES:
                    return
                yield Path(root) / name


def newest_source_mtime(repo: Path) -> float:
    newest = 0.0
    for path in iter_sources(repo):
        try:
            newest = max(newest, path.stat().st_mtime)
        except OSError:
            continue
    return newest


def probe(sandbox: Sandbox) -> dict[str, str | None]:
    """{module: version or "" when installed, None when not} for PROBE_MODULES, asked of the repo's
    interpreter."""
    script = ("import importlib.util as u, importlib.metadata as m, json, sys\n"
              "out = {}\n"
              f"for name in {PROBE_MODULES!r}:\n"
              "    if u.find_spec(name) is None: out[name] = None; continue\n"
              "    try: out[name] = m.version(name)\n"
              "    except Exception: out[name] = ''\n"
              "out['python'] = sys.version.split()[0]\n"
              "print('PROBE' + json.dumps(out))\n")
    result = sandbox.run([str(sandbox.python), "-I", "-c", script], cwd=sandbox.tmp_dir, timeout_s=PROBE_TIMEOUT_S,
                         log_name="probe.log")
    for line in result.output.splitlines():
        if line.startswith("PROBE"):
            return json.loads(line[5:])
    raise EnvironmentError_(f"the interpreter {sandbox.python} does not run: {result.last_line() or 'no output'}")


@dataclass
class RepoCoverageConfig:
    """What the repo's own coverage.py configuration sets (only the keys the audit must know about)."""

    source: bool = False                  # source / source_pkgs
    include: bool = False                 # [run] include
    omit: bool = False                    # [run] omit
    concurrency: list[str] = field(default_factory=list)
    file: str | None = None

    @property
    def selects_files(self) -> bool:
        """The repo says which files count (source, include or omit): honoured exactly, nothing added."""
        return self.source or self.include or self.omit


def repo_coverage_config(repo: Path) -> RepoCoverageConfig:
    """Read like coverage.py does: .coveragerc, then setup.cfg / tox.ini [coverage:run], then
    pyproject.toml [tool.coverage.run]; the first file that has a coverage section wins."""
    rc = repo / ".coveragerc"
    for path, prefix in ((rc, ""), (repo / "setup.cfg", "coverage:"), (repo / "tox.ini", "coverage:")):
        if not path.is_file():
            continue
        parser = configparser.RawConfigParser()
        try:
            parser.read(path, encoding="utf-8")
        except (configparser.Error, UnicodeDecodeError):
            continue
        section = f"{prefix}run"
        if path == rc or parser.has_section(section):
            def get(key: str) -> str:
                return parser.get(section, key, fallback="").strip() if parser.has_section(section) else ""

            concurrency = get("concurrency")
            return RepoCoverageConfig(source=bool(get("source") or get("source_pkgs")), include=bool(get("include")),
                                      omit=bool(get("omit")),
                                      concurrency=re.split(r"[\s,]+", concurrency) if concurrency else [],
                                      file=path.name)
    pyproject = repo / "pyproject.toml"
    if pyproject.is_file():
        try:
            run = tomllib.loads(pyproject.read_text(encoding="utf-8")).get("tool", {}).get("coverage", {}).get("run", {})
        except (tomllib.TOMLDecodeError, UnicodeDecodeError, OSError):
            run = {}
        if run:
            concurrency = run.get("concurrency", [])
            return RepoCoverageConfig(source=bool(run.get("source") or run.get("source_pkgs")),
                                      include=bool(run.get("include")), omit=bool(run.get("omit")),
                                      concurrency=[concurrency] if isinstance(concurrency, str) else list(concurrency),
                                      file="pyproject.toml")
    return RepoCoverageConfig()


def greenlet_libraries(repo: Path) -> list[str]:
    """The greenlet-based libraries the repo's code imports (a regex over import lines is enough here and
    much cheaper than parsing every file)."""
    found: set[str] = set()
    for path in iter_sources(repo):
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        for name in _GREENLET_IMPORT.findall(text):
            found.add("greenlet" if name in ("greenlet", "sqlalchemy.ext.asyncio") else name)
    return sorted(found)


@dataclass
class RunCommand:
    kind: str                 # "module" (python -m X) or "script" (python FILE)
    target: str               # the module or the script
    args: list[str]
    text: str                 # as configured / detected, for the report

    @property
    def is_pytest(self) -> bool:
        return self.kind == "module" and self.target == "pytest"

    @property
    def is_unittest_style(self) -> bool:
        return (self.kind == "script" and Path(self.target).name == "manage.py") or \
            (self.kind == "module" and self.target == "unittest")


def uses_pytest_cov(repo: Path, command: RunCommand) -> bool:
    """The repo's pytest options turn pytest-cov on (addopts = --cov...): inside `coverage run` it would
    measure a second time and write its own .coverage into the repo, so the audit passes --no-cov."""
    if any(arg.startswith("--cov") for arg in command.args):
        return True
    for name in ("pytest.ini", "pyproject.toml", "setup.cfg", "tox.ini"):
        path = repo / name
        try:
            if path.is_file() and re.search(r"addopts[^\n]*--cov\b|^\s*[\"']?--cov\b",
                                            path.read_text(encoding="utf-8", errors="replace"), re.M):
                return True
        except OSError:
            continue
    return False


_XDIST_OPTION = re.compile(r"(?:^|\s|[\"'])(?:-n\s*\S|--numprocesses\b|--dist\b|-d\s)")


def uses_xdist(repo: Path, command: RunCommand) -> bool:
    """The repo's pytest options or command distribute the tests with pytest-xdist (-n auto, --dist...)."""
    if any(_XDIST_OPTION.search(" " + arg) for arg in command.args):
        return True
    for name in ("pytest.ini", "pyproject.toml", "setup.cfg", "tox.ini"):
        path = repo / name
        try:
            text = path.read_text(encoding="utf-8", errors="replace") if path.is_file() else ""
        except OSError:
            continue
        for match in re.finditer(r"addopts\s*=\s*(\[[^\]]*\]|[^\n]*)", text):
            if _XDIST_OPTION.search(" " + match.group(1)):
                return True
    return False


def has_pytest_config(repo: Path) -> bool:
    if (repo / "pytest.ini").is_file() or (repo / "conftest.py").is_file():
        return True
    for name, marker in (("pyproject.toml", "[tool.pytest"), ("setup.cfg", "[tool:pytest]"), ("tox.ini", "[pytest]")):
        path = repo / name
        try:
            if path.is_file() and marker in path.read_text(encoding="utf-8", errors="replace"):
                return True
        except OSError:
            continue
    return False


def resolve_command(repo: Path, configured: str | None) -> RunCommand:
    """The configured command, parsed; else `manage.py test` for a Django project without pytest config,
    else pytest."""
    if configured is None:
        if (repo / "manage.py").is_file() and not has_pytest_config(repo):
            return RunCommand("script", "manage.py", ["test"], "python manage.py test")
        return RunCommand("module", "pytest", [], "pytest")
    try:
        words = shlex.split(configured)
    except ValueError as exc:
        raise EnvironmentError_(f"[tool.auditor.coverage] command: {exc}") from None
    if not words:
        raise EnvironmentError_("[tool.auditor.coverage] command is empty")
    first = Path(words[0]).name
    if first in ("pytest", "py.test"):
        return RunCommand("module", "pytest", words[1:], configured)
    if first.startswith("python"):
        words = words[1:]
        if len(words) >= 2 and words[0] == "-m":
            return RunCommand("module", words[1], words[2:], configured)
        if words and words[0].endswith(".py"):
            return RunCommand("script", words[0], words[1:], configured)
    elif words[0].endswith(".py"):
        return RunCommand("script", words[0], words[1:], configured)
    raise EnvironmentError_(f"[tool.auditor.coverage] command {configured!r}: expected \"pytest ...\", "
                            "\"python -m MODULE ...\" or \"python SCRIPT.py ...\" (it runs under coverage run)")
