"""Which Python runs the audited repo's code, and from where it must run.

The repo's dependencies live in the repo's interpreter, not the auditor's. Looked for in this order,
the first found wins and the report says which and why:

1. ``--python`` (a relative path is relative to the working directory the audit was started from);
2. a virtualenv (``.venv``, ``venv``) in the repo or a parent up to the top of its git work tree (a
   monorepo or a uv workspace keeps one at its root; without git, up to a uv workspace root);
3. the active virtualenv (``VIRTUAL_ENV``), unless it is the auditor's own;
4. the environment poetry or pipenv made for the repo, when the tool is installed and the repo uses it;
5. the auditor's own interpreter: last, and said loudly (its packages are not the repo's).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Mapping
from pathlib import Path

OWN_INTERPRETER = ("the auditor's own interpreter (no virtualenv in the repo or up to its git root, no VIRTUAL_ENV, "
                   "no poetry/pipenv environment, and no --python)")
VENV_NAMES = (".venv", "venv")
TOOL_TIMEOUT_S = 20
MAX_PARENTS = 30


class InterpreterError(Exception):
    """No usable interpreter; one line."""


def is_own(source: str) -> bool:
    """Whether ``source`` (find_python's reason) is the last resort: the auditor's own interpreter."""
    return source == OWN_INTERPRETER


def absolute(path: str | Path, cwd: Path | None = None) -> Path:
    """``path`` made absolute against the working directory WITHOUT resolving symlinks: a virtualenv's
    bin/python is a symlink to the base interpreter, and resolving it would lose the virtualenv."""
    expanded = Path(path).expanduser()
    return Path(os.path.normpath(expanded if expanded.is_absolute() else (cwd or Path.cwd()) / expanded))


def find_python(repo: Path, configured: str | Path | None,
                environ: Mapping[str, str] | None = None) -> tuple[Path, str]:
    """(interpreter, why this one)."""
    environ = os.environ if environ is None else environ
    if configured:
        path = absolute(configured)
        if not path.exists():
            raise InterpreterError(f"--python {path}: no such file (a relative --python is relative to the "
                                   f"working directory, here {Path.cwd()})")
        if not os.access(path, os.X_OK) or path.is_dir():
            raise InterpreterError(f"--python {configured}: not an executable file ({path})")
        return path, "--python"
    for base in search_dirs(repo):
        for name in VENV_NAMES:
            candidate = venv_python(base / name)
            if candidate is not None:
                where = "the repo" if base == repo.resolve() else f"{base} (a parent of the repo)"
                return candidate, f"the virtualenv {base / name} in {where}"
    active = environ.get("VIRTUAL_ENV", "").strip()
    if active and Path(active).resolve() != Path(sys.prefix).resolve():
        candidate = venv_python(Path(active))
        if candidate is not None:
            return candidate, f"the active virtualenv (VIRTUAL_ENV={active})"
    found = _tool_environment(repo, environ)
    if found is not None:
        return found
    if _installed_with_the_auditor(repo):
        # `audit demo` from an installed wheel: the sample service lives in the auditor's own environment,
        # whose interpreter is the repo's — nothing to say loudly.
        return Path(sys.executable), "the auditor's own interpreter, in whose environment the repo is installed"
    return Path(sys.executable), OWN_INTERPRETER


def _installed_with_the_auditor(repo: Path) -> bool:
    try:
        return Path(sys.prefix).resolve() in repo.resolve().parents
    except OSError:
        return False


def venv_python(venv: Path) -> Path | None:
    """The interpreter of a virtualenv directory, when it is one."""
    if not (venv / "pyvenv.cfg").is_file():
        return None
    for candidate in (venv / "bin" / "python", venv / "Scripts" / "python.exe"):
        if candidate.exists():
            return candidate
    return None


def search_dirs(repo: Path) -> list[Path]:
    """The repo dir, then its parents up to the git work tree's top; outside git, up to the root of a uv
    workspace that contains the repo; else the repo alone."""
    start = repo.resolve()
    chain = [start, *list(start.parents)[:MAX_PARENTS]]
    for index, directory in enumerate(chain):
        if (directory / ".git").exists():
            return chain[:index + 1]
    for index, directory in enumerate(chain[1:], 1):
        if _is_uv_workspace(directory / "pyproject.toml"):
            return chain[:index + 1]
    return [start]


def _is_uv_workspace(pyproject: Path) -> bool:
    try:
        data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return False
    return isinstance(data.get("tool", {}).get("uv", {}).get("workspace"), dict)


def _tool_environment(repo: Path, environ: Mapping[str, str]) -> tuple[Path, str] | None:
    """poetry's or pipenv's environment for the repo, asked of the tool itself (it reads the repo's
    pyproject.toml / Pipfile and runs none of the repo's code)."""
    probes: list[tuple[str, list[str]]] = []
    if (repo / "poetry.lock").is_file() or _has_poetry_table(repo / "pyproject.toml"):
        probes.append(("poetry", ["env", "info", "--executable"]))
    if (repo / "Pipfile").is_file():
        probes.append(("pipenv", ["--py"]))
    for tool, args in probes:
        program = shutil.which(tool, path=environ.get("PATH"))
        if program is None:
            continue
        try:
            proc = subprocess.run([program, *args], cwd=repo, capture_output=True, text=True, timeout=TOOL_TIMEOUT_S,
                                  stdin=subprocess.DEVNULL, env={k: v for k, v in environ.items()
                                                                 if not k.startswith("AUDIT_")})
        except (OSError, subprocess.TimeoutExpired):
            continue
        lines = [line.strip() for line in proc.stdout.splitlines() if line.strip()]
        if proc.returncode == 0 and lines and Path(lines[-1]).is_absolute() and Path(lines[-1]).exists():
            return Path(lines[-1]), f"the {tool} environment of the repo ({tool} {' '.join(args)})"
    return None


def _has_poetry_table(pyproject: Path) -> bool:
    try:
        return "[tool.poetry" in pyproject.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False


def import_root(repo: Path) -> Path:
    """Where the repo's code must run from: the repo itself, or, when the repo is a package directory (it
    has an __init__.py, like the demo's sample_service), the first parent that is not a package: running
    inside a package puts its modules first on sys.path, where a module named like the stdlib's
    (logging.py) would shadow it."""
    current = repo
    while (current / "__init__.py").is_file() and current.parent != current:
        current = current.parent
    return current
