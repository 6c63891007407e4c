"""git, asked read-only: the merge base of a ref, and the lines changed since it, like diff-cover (the
merge base of the ref and HEAD against the working tree: committed, staged and unstaged changes, plus
untracked files; paths relative to the repo dir, which may be a subdirectory of the git work tree)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

GIT_TIMEOUT_S = 30
_HUNK = re.compile(r"^@@ -\d+(?:,\d+)? \+(\d+)(?:,(\d+))? @@")


class GitError(Exception):
    """git could not answer (not a repository, unknown ref); one line."""


def git(repo: Path, *args: str) -> str:
    try:
        proc = subprocess.run(["git", "-c", "core.quotepath=off", *args], cwd=repo, capture_output=True,
                              text=True, timeout=GIT_TIMEOUT_S, stdin=subprocess.DEVNULL)
    except FileNotFoundError:
        raise GitError("git is not installed") from None
    except subprocess.TimeoutExpired:
        raise GitError(f"git {args[0]} took longer than {GIT_TIMEOUT_S} s") from None
    if proc.returncode != 0:
        message = (proc.stderr.strip().splitlines() or ["failed"])[-1]
        raise GitError(f"git {args[0]}: {message}")
    return proc.stdout


def merge_base(repo: Path, ref: str) -> str:
    if ref.startswith("-"):
        raise GitError(f"{ref!r} is not a git ref")
    try:
        git(repo, "rev-parse", "--git-dir")
    except GitError:
        raise GitError(f"{repo} is not in a git repository") from None
    try:
        git(repo, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
    except GitError:
        raise GitError(f"unknown git ref {ref!r}") from None
    try:
        return git(repo, "merge-base", ref, "HEAD").strip()
    except GitError:
        return git(repo, "rev-parse", f"{ref}^{{commit}}").strip()  # unrelated histories: diff to the ref


def parse_unified_diff(text: str) -> dict[str, set[int]]:
    """{path: added or modified line numbers} from `git diff --unified=0` output (new side)."""
    changed: dict[str, set[int]] = {}
    current: str | None = None
    for line in text.splitlines():
        if line.startswith("+++ "):
            target = line[4:].strip()
            current = None if target == "/dev/null" else target.removeprefix("b/")
            if current is not None:
                changed.setdefault(current, set())
        elif current is not None and (match := _HUNK.match(line)):
            start, count = int(match.group(1)), int(match.group(2) or "1")
            changed[current].update(range(start, start + count))
    return changed


def changed_lines(repo: Path, ref: str, *, suffix: str = ".py") -> tuple[str, dict[str, set[int]]]:
    """(merge-base commit, {repo-relative path: changed lines}) for files ending in suffix."""
    base = merge_base(repo, ref)
    diff = git(repo, "diff", "--no-color", "--no-ext-diff", "--unified=0", "--relative", base, "--", ".")
    changed = {p: lines for p, lines in parse_unified_diff(diff).items() if p.endswith(suffix)}
    for name in git(repo, "ls-files", "--others", "--exclude-standard", "--", ".").splitlines():
        if name.endswith(suffix) and (repo / name).is_file():
            try:
                count = len((repo / name).read_text(encoding="utf-8", errors="replace").splitlines())
            except OSError:
                continue
            changed[name] = set(range(1, count + 1))
    return base, changed
