"""The audited repository's scope: ``--repo`` and the directories above it up to its git root.

``--repo`` may be a subdirectory of a git repository (``backend/`` of a monorepo). What concerns the
service is then partly above it: the uv workspace's lock file, the root compose file, the committed
root ``.env``, CI configuration and the README. Every repo-side check looks those up the same way, here:
in ``--repo`` and in each directory above it up to the git root (those directories themselves, never
their other subdirectories: a sibling ``frontend/`` is not this service's), and the report says which
root it used. Outside git the scope is ``--repo`` alone.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

MAX_GIT_UP = 30  # parent directories climbed to find the git root


def find_git_root(start: Path) -> Path | None:
    """The top of the git work tree holding ``start`` (a ``.git`` directory, or file for a worktree)."""
    here = start.resolve()
    for _ in range(MAX_GIT_UP):
        if (here / ".git").exists():
            return here
        if here.parent == here:
            return None
        here = here.parent
    return None


@dataclass(frozen=True)
class RepoScope:
    repo: Path                 # --repo, resolved
    root: Path                 # the git root; the repo itself outside git
    in_git: bool

    @classmethod
    def of(cls, repo: Path) -> RepoScope:
        resolved = repo.resolve()
        git_root = find_git_root(resolved)
        return cls(resolved, git_root or resolved, git_root is not None)

    @property
    def is_subdirectory(self) -> bool:
        return self.root != self.repo

    def dirs(self) -> list[Path]:
        """The repo, then each parent up to the root (only the repo outside git)."""
        out = [self.repo]
        here = self.repo
        while here != self.root and here.parent != here:
            here = here.parent
            out.append(here)
        return out

    def parents(self) -> list[Path]:
        """The directories above the repo up to the root, nearest first (none outside git)."""
        return self.dirs()[1:]

    def find_above(self, names: Iterable[str]) -> list[Path]:
        """Files with one of ``names`` (relative paths allowed: ".github/workflows") directly in the
        directories above the repo, nearest first; regular files only, never a symlink leaving the root."""
        found: list[Path] = []
        for directory in self.parents():
            for name in names:
                path = directory / name
                if self.readable(path):
                    found.append(path)
        return found

    def readable(self, path: Path) -> bool:
        """A regular file whose real path stays inside the root (a symlink out of it is not followed)."""
        try:
            real = Path(os.path.realpath(path))
        except OSError:
            return False
        return (real == self.root or self.root in real.parents) and real.is_file()

    def rel(self, path: Path) -> str:
        """Repo-relative, POSIX style; "../uv.lock" for a file above the repo."""
        try:
            return path.relative_to(self.repo).as_posix() or "."
        except ValueError:
            return Path(os.path.relpath(path, self.repo)).as_posix()

    def describe(self) -> dict[str, object]:
        """For a check's metrics: the repo, the root used and why."""
        return {"repo": str(self.repo), "root": str(self.root),
                "root_is": "the git work tree's top" if self.in_git else "the repo (not in a git work tree)",
                "dirs": [self.rel(d) for d in self.dirs()]}

    def sentence(self) -> str:
        if not self.in_git:
            return f"scope: {self.repo} only (not in a git work tree)"
        if not self.is_subdirectory:
            return f"scope: {self.repo} (the git root)"
        return (f"scope: {self.repo} and the directories above it up to the git root {self.root} "
                "(lock files, compose files, .env files, CI configuration and README there count)")
