"""Which Python runs the audited repo's code, and from where it must run.

The repo's dependencies live in the repo's interpreter, not the auditor's: ``--python``, else a
virtualenv in the repo or its parents up to the git work tree's top (a monorepo keeps its venv there),
else the auditor's own interpreter, said loudly.
"""

from __future__ import annotations

import sys
from pathlib import Path

OWN_INTERPRETER = "the auditor's own interpreter (no .venv/venv in the repo and no --python)"


class InterpreterError(Exception):
    """No usable interpreter; one line."""


def find_python(repo: Path, configured: str | Path | None) -> tuple[Path, str]:
    """(interpreter, why this one). A relative --python is relative to the working directory."""
    if configured:
        path = Path(configured).expanduser()
        if not path.is_absolute():
            path = Path.cwd() / path
        if not path.exists():
            raise InterpreterError(f"--python {configured}: no such file ({path})")
        return path, "--python"
    for base in _ancestors_to_worktree(repo):
        for name in (".venv", "venv"):
            for candidate in (base / name / "bin" / "python", base / name / "Scripts" / "python.exe"):
                if candidate.exists():
                    return candidate, f"the virtualenv {candidate.parent.parent}"
    return Path(sys.executable), OWN_INTERPRETER


def _ancestors_to_worktree(repo: Path) -> list[Path]:
    """The repo dir, then its parents up to the git work tree's top."""
    out = [repo]
    current = repo.resolve()
    while not (current / ".git").exists() and current.parent != current and len(out) < 6:
        current = current.parent
        out.append(current)
    return out if (out[-1] / ".git").exists() else [repo]


def import_root(repo: Path) -> Path:
    """Where the repo's code must run from: the repo itself, or, when the repo is a package directory (it
    has an __init__.py, like the demo's sample_service), the first parent that is not a package: running
    inside a package puts its modules first on sys.path, where a module named like the stdlib's
    (logging.py) would shadow it."""
    current = repo
    while (current / "__init__.py").is_file() and current.parent != current:
        current = current.parent
    return current
