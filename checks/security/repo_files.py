"""Which files of the audited repository are scanned, read without ever leaving it.

- In a git work tree: the files git would commit (`git ls-files --cached --others --exclude-standard`):
  tracked ones and untracked ones not ignored. A gitignored local `.env` is not "committed".
- Otherwise: a walk of the directory (symlinked directories never followed).
- Symlinks are never followed; one pointing outside the repository is reported as not scanned.
- Files over the size cap, vendored trees (.venv, node_modules, site-packages) and the user's exclude
  globs are left out.
"""

from __future__ import annotations

import fnmatch
import os
import subprocess
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from auditor.repofiles import VENDORED_DIRS

GIT_TIMEOUT_S = 30
MAX_FILES = 200_000  # a bound on the listing itself


@dataclass(frozen=True)
class RepoFile:
    rel: str      # repo-relative, POSIX separators
    path: Path    # absolute, inside the repository
    size: int


@dataclass
class FileSet:
    files: list[RepoFile] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (rel, reason)
    source: str = "walk"                                          # "git" or "walk"


def list_files(repo: Path, *, exclude: list[str], max_bytes: int) -> FileSet:
    root = Path(os.path.realpath(repo))
    result = FileSet()
    listed = _git_files(root)
    if listed is not None:
        result.source = "git"
    else:
        listed = _walk(root)
    for rel in listed[:MAX_FILES]:
        rel = rel.replace(os.sep, "/")
        parts = PurePosixPath(rel).parts
        if any(p in VENDORED_DIRS or p.endswith(".egg-info") for p in parts[:-1]):
            continue
        if any(fnmatch.fnmatch(rel, pattern) or fnmatch.fnmatch(parts[-1], pattern) for pattern in exclude):
            continue
        path = root / rel
        try:
            info = path.lstat()
        except OSError:
            continue  # tracked but deleted in the work tree
        if path.is_symlink():
            if not _inside(root, Path(os.path.realpath(path))):
                result.skipped.append((rel, "symlink pointing outside the repository (not followed)"))
            continue  # a symlink inside the repo: its target is listed (and scanned) in its own right
        if not _inside(root, Path(os.path.realpath(path))):
            # A parent directory is a symlink to elsewhere (git does not list those, a walk does not
            # follow them, but an odd layout must still never lead outside).
            result.skipped.append((rel, "resolves outside the repository (not followed)"))
            continue
        if not path.is_file():
            continue
        if info.st_size > max_bytes:
            result.skipped.append((rel, f"larger than the {max_bytes / 1e6:g} MB cap ({info.st_size / 1e6:.1f} MB)"))
            continue
        result.files.append(RepoFile(rel, path, info.st_size))
    return result


def _inside(root: Path, path: Path) -> bool:
    return path == root or root in path.parents


def _git_files(root: Path) -> list[str] | None:
    """Files git would commit, or None when this is not a git work tree (or git is unusable)."""
    try:
        inside = subprocess.run(["git", "-C", str(root), "rev-parse", "--is-inside-work-tree"],
                                capture_output=True, text=True, timeout=GIT_TIMEOUT_S)
        if inside.returncode != 0 or inside.stdout.strip() != "true":
            return None
        listing = subprocess.run(["git", "-C", str(root), "-c", "core.quotepath=off", "ls-files", "-z", "--cached",
                                  "--others", "--exclude-standard"], capture_output=True, timeout=GIT_TIMEOUT_S)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if listing.returncode != 0:
        return None
    names = listing.stdout.decode("utf-8", errors="surrogateescape").split("\0")
    return sorted({n for n in names if n})


def _walk(root: Path) -> list[str]:
    out: list[str] = []
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        base = Path(dirpath).relative_to(root)
        # os.walk lists a symlinked directory but does not enter it: list the link itself so that one
        # pointing outside is reported as not scanned.
        links = [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]
        out.extend(str(base / d) if str(base) != "." else d for d in links)
        dirnames[:] = sorted(d for d in dirnames
                             if d not in VENDORED_DIRS and not d.endswith(".egg-info") and d not in links)
        out.extend(str(base / name) if str(base) != "." else name for name in sorted(filenames))
        if len(out) >= MAX_FILES:
            break
    return out
