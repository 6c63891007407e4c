"""Gather: one bounded walk of the repository that sorts out the files the checklist reads
(Dockerfiles, ignore files, compose files, YAML that may be Kubernetes manifests, .env files, Python
sources, docs), plus the git root and the files git tracks.

Never leaving the repository, as checks/security/repo_files.list_files: a symlink whose target resolves
outside the repo is not followed (it could point at the auditor's own /etc), and only regular files are
read (opening a FIFO blocks until a writer comes; sockets and devices are not configuration). Skipped
entries are listed with the reason. Reads of files the walk did not list (README, ignore files and CI
files up to the git root) go through the same rule, bounded by the git root."""

from __future__ import annotations

import fnmatch
import os
import re
import stat
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from auditor.files import open_regular
from auditor.repo_scope import RepoScope
# One definition of an env file for every check (DPL020 and SEC012 judge the same files): the core's.
from auditor.repofiles import VENDORED_DIRS, is_env_file

# Directories that never hold deployment config of the service itself, and can be huge: the vendored
# trees, plus build output and editor state.
# (".env" here is a virtualenv directory; a .env *file* is still seen.)
PRUNE = VENDORED_DIRS | frozenset({"env", ".env", "dist", "build", ".idea", ".vscode", "htmlcov", "audit-report",
                                   # Test fixtures may hold deliberately bad Dockerfiles and manifests: not
                                   # the service's.
                                   "tests", "test", "testdata", "fixtures", "__fixtures__"})
MAX_ENTRIES = 50_000     # files looked at in one walk
MAX_DEPTH = 10
WALK_SECONDS = 10.0
GIT_TIMEOUT_S = 10.0
MAX_GIT_UP = 30          # parent directories climbed to find the git root

_DOCKERFILE = re.compile(r"^(?:Dockerfile|Containerfile)(?:\.[\w.-]+)?$|^[\w.-]+\.(?:Dockerfile|dockerfile)$")
_COMPOSE = re.compile(r"^(?:docker-)?compose(?:\.[\w-]+)?\.ya?ml$")


@dataclass
class RepoFiles:
    root: Path
    git_root: Path | None = None
    dockerfiles: list[Path] = field(default_factory=list)
    compose_files: list[Path] = field(default_factory=list)
    yaml_files: list[Path] = field(default_factory=list)      # other YAML: maybe Kubernetes manifests
    env_files: list[Path] = field(default_factory=list)
    python_files: list[Path] = field(default_factory=list)
    docs: list[Path] = field(default_factory=list)           # *.md / *.rst / *.txt / *.adoc
    truncated: bool = False                                   # the walk hit a bound
    tracked: set[str] | None = None                           # git-tracked paths relative to git_root
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (rel, reason): never read
    scope: RepoScope | None = None                            # the repo up to its git root (auditor.repo_scope)
    from_parents: list[str] = field(default_factory=list)     # compose and .env files found above the repo

    @property
    def boundary(self) -> Path:
        """What may be read: the git checkout the repo is in (runbooks, CI and build contexts are looked
        for up to its root), else the repo itself."""
        return self.git_root or self.root

    def readable(self, path: Path) -> bool:
        """A regular file inside the boundary (symlinks resolved): for files the walk did not list."""
        return entry_problem(self.boundary, path) is None

    def rel(self, path: Path) -> str:
        """Repo-relative posix path; "../x" for files between the repo and its git root."""
        try:
            return path.relative_to(self.root).as_posix() or "."
        except ValueError:
            return Path(os.path.relpath(path, self.root)).as_posix()

    def is_tracked(self, path: Path) -> bool | None:
        """True/False when git knows, None outside a git repository."""
        if self.tracked is None or self.git_root is None:
            return None
        try:
            return path.relative_to(self.git_root).as_posix() in self.tracked
        except ValueError:
            return None


def entry_problem(root: Path, path: Path) -> str | None:
    """Why ``path`` must not be read, or None: the rules of checks/security/repo_files.list_files (a
    symlink resolving outside ``root`` is not followed; only regular files), except that a symlink inside
    the repo is read under its own name (a `Dockerfile -> docker/Dockerfile.prod` is the Dockerfile)."""
    try:
        info = path.lstat()
    except OSError as exc:
        return f"cannot be read ({exc.strerror or exc})"
    is_link = stat.S_ISLNK(info.st_mode)
    if is_link or not _inside(root, Path(os.path.realpath(path.parent))):
        if not _inside(root, Path(os.path.realpath(path))):
            return ("symlink pointing outside the repository (not followed)" if is_link
                    else "resolves outside the repository (not followed)")
        try:
            info = path.stat()
        except OSError:
            return "broken symlink"
    if not stat.S_ISREG(info.st_mode):
        return "not a regular file (FIFO, socket or device: not read)"
    return None


def _inside(root: Path, path: Path) -> bool:
    return path == root or root in path.parents


def find_git_root(start: Path) -> Path | None:
    scope = RepoScope.of(start)
    return scope.root if scope.in_git else None


def up_to_git_root(root: Path, git_root: Path | None) -> list[Path]:
    """The repo directory and its parents up to the git root (only the repo when there is none)."""
    return RepoScope(root.resolve(), git_root or root.resolve(), git_root is not None).dirs()


def walk(root: Path, *, should_stop: Callable[[], bool] = lambda: False) -> RepoFiles:
    """Bounded by entries, depth, WALK_SECONDS and ``should_stop`` (the audit's deadline or Ctrl-C)."""
    root = root.resolve()
    scope = RepoScope.of(root)
    found = RepoFiles(root=root, git_root=scope.root if scope.in_git else None, scope=scope)
    stop_at = time.monotonic() + WALK_SECONDS
    seen = 0
    base_depth = len(root.parts)
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        current = Path(dirpath)
        depth = len(current.parts) - base_depth
        dirnames[:] = sorted(d for d in dirnames if d not in PRUNE and not d.endswith(".egg-info")
                             and depth < MAX_DEPTH)
        for name in sorted(filenames):
            seen += 1
            if seen > MAX_ENTRIES or time.monotonic() > stop_at or (seen % 500 == 0 and should_stop()):
                found.truncated = True
                return _with_tracked(found)
            path = current / name
            problem = entry_problem(root, path)
            if problem is not None:
                found.skipped.append((found.rel(path), problem))
                continue
            lower = name.lower()
            if _DOCKERFILE.match(name) and not lower.endswith(".dockerignore"):
                found.dockerfiles.append(path)
            elif _COMPOSE.match(lower):
                found.compose_files.append(path)
            elif lower.endswith((".yaml", ".yml")):
                found.yaml_files.append(path)
            elif lower.endswith(".py"):
                found.python_files.append(path)
            elif lower.endswith((".md", ".rst", ".txt", ".adoc")):
                found.docs.append(path)
            if is_env_file(name):
                found.env_files.append(path)
    _from_parents(found, scope)
    return _with_tracked(found)


def _from_parents(found: RepoFiles, scope: RepoScope) -> None:
    """Compose and .env files directly in the directories above the repo up to the git root (a monorepo's
    root compose file and committed root .env concern the service in its subdirectory); never their
    other subdirectories (a sibling frontend/ is not this service's)."""
    for directory in scope.parents():
        try:
            entries = sorted(directory.iterdir())
        except OSError:
            continue
        for path in entries:
            name = path.name
            compose = bool(_COMPOSE.match(name.lower()))
            env = is_env_file(name)
            if not (compose or env) or not scope.readable(path):
                continue
            if compose:
                found.compose_files.append(path)
            if env:
                found.env_files.append(path)
            found.from_parents.append(found.rel(path))


def _with_tracked(found: RepoFiles) -> RepoFiles:
    if found.git_root is None:
        return found
    try:
        proc = subprocess.run(["git", "-C", str(found.git_root), "ls-files", "-z"], capture_output=True,
                              timeout=GIT_TIMEOUT_S, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return found  # git missing or hung: "committed" cannot be told from "present"
    if proc.returncode == 0:
        found.tracked = {p for p in proc.stdout.decode("utf-8", "replace").split("\0") if p}
    return found


def matches_any(rel_path: str, globs: list[str]) -> bool:
    return any(fnmatch.fnmatch(rel_path, g) or fnmatch.fnmatch(rel_path.lower(), g.lower()) for g in globs)


def read_bytes(path: Path, limit: int = 1_000_000) -> bytes:
    """At most ``limit`` bytes of a regular file; raises OSError (also for a FIFO, socket or device)."""
    with open_regular(path) as fh:
        return fh.read(limit)


def read_text(path: Path, limit: int = 1_000_000) -> str:
    """At most ``limit`` bytes as text (UTF-8 with replacement); raises OSError."""
    return read_bytes(path, limit).decode("utf-8", "replace")
