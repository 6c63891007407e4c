""".dockerignore: which file applies to a Dockerfile, where its build context probably is, and whether
it excludes .git and .env files.

Matching follows Docker's own rules (moby/patternmatcher): patterns are cleaned and anchored at the
context root, `*` and `?` stay within one path segment, `**` spans any number, `!` re-includes, the last
matching pattern wins, and a path is excluded when it or a parent directory is. Written here because no
maintained Python package implements them (pathspec's gitignore rules differ: an unanchored `.env`
matches at any depth in .gitignore but only at the root in .dockerignore).
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass
from pathlib import Path

from auditor.model import Finding, Severity
from checks.deployment.dockerfile import ParsedDockerfile, copy_sources
from checks.deployment.repo_files import RepoFiles, read_text
from checks.deployment.rules import make_finding


@dataclass
class Pattern:
    regex: re.Pattern[str]
    exclusion: bool  # "!pattern": re-include


def compile_patterns(text: str) -> list[Pattern]:
    patterns: list[Pattern] = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        exclusion = line.startswith("!")
        if exclusion:
            line = line[1:].strip()
        line = posixpath.normpath(line.lstrip("/")) if line.lstrip("/") else "."
        patterns.append(Pattern(re.compile(_to_regex(line)), exclusion))
    return patterns


def _to_regex(pattern: str) -> str:
    out = "^"
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "*":
            if pattern[i + 1:i + 2] == "*":
                i += 1
                if pattern[i + 1:i + 2] == "/":
                    i += 1
                out += ".*" if i + 1 >= len(pattern) else "(.*/)?"
            else:
                out += "[^/]*"
        elif ch == "?":
            out += "[^/]"
        elif ch == "\\" and i + 1 < len(pattern):
            i += 1
            out += re.escape(pattern[i])
        elif ch == "[":
            end = pattern.find("]", i + 1)
            if end == -1:
                out += re.escape(ch)
            else:
                body = pattern[i + 1:end].replace("\\", "\\\\")
                out += "[^" + body[1:] + "]" if body[:1] in ("!", "^") else "[" + body + "]"
                i = end
        else:
            out += re.escape(ch)
        i += 1
    return out + "$"


def excluded(rel_path: str, patterns: list[Pattern]) -> bool:
    """Would Docker leave ``rel_path`` (relative to the context root) out of the build context?"""
    parts = rel_path.strip("/").split("/")
    prefixes = ["/".join(parts[: n + 1]) for n in range(len(parts))]
    result = False
    for pattern in patterns:
        if any(pattern.regex.match(p) for p in prefixes):
            result = not pattern.exclusion
    return result


@dataclass
class BuildContext:
    dockerfile: str             # repo-relative
    context: Path
    ignore_file: Path | None


def locate(df_path: Path, df: ParsedDockerfile, files: RepoFiles) -> BuildContext:
    """The context is the nearest directory, from the Dockerfile's up to the git root, in which every
    COPY/ADD source exists (a Dockerfile in a subdirectory is often built from the repo root).
    BuildKit prefers <Dockerfile>.dockerignore next to the Dockerfile over <context>/.dockerignore."""
    sources = [s for s in copy_sources(df) if not any(c in s for c in "*?[")]
    stop = files.git_root or files.root
    context = df_path.parent
    here = df_path.parent
    while True:
        if sources and all((here / s.lstrip("/")).exists() for s in sources):
            context = here
            break
        if here == stop or here.parent == here or stop not in here.parents:
            break
        here = here.parent
    specific = df_path.with_name(df_path.name + ".dockerignore")
    # files.readable: a regular file that does not lead out of the checkout (a symlink to elsewhere is
    # not read; the builder would not see its target either).
    if files.readable(specific):
        return BuildContext(files.rel(df_path), context, specific)
    general = context / ".dockerignore"
    return BuildContext(files.rel(df_path), context, general if files.readable(general) else None)


def judge(build: BuildContext, df: ParsedDockerfile, files: RepoFiles) -> tuple[list[Finding], str]:
    """DPL010 without an ignore file; DPL011/DPL012 when .env files or .git would reach the builder."""
    location = {"file": build.dockerfile, "line": 1}
    if build.ignore_file is None:
        return [make_finding("DPL010", f"No .dockerignore for {build.dockerfile} (looked for "
                             f"{build.dockerfile}.dockerignore and .dockerignore in its build context "
                             f"{files.rel(build.context)}): the whole context, .git and .env files "
                             "included, is sent to the builder.", location)], "no ignore file"
    try:
        patterns = compile_patterns(read_text(build.ignore_file))
    except OSError as exc:
        return [make_finding("DPL010", f"The ignore file {files.rel(build.ignore_file)} cannot be read: "
                             f"{exc.strerror or exc}", location)], "ignore file unreadable"
    except re.error as exc:  # Docker rejects the build too ("syntax error in pattern")
        return [make_finding("DPL010", f"The ignore file {files.rel(build.ignore_file)} has an invalid pattern "
                             f"({exc}); Docker refuses to build with it.", location)], "invalid pattern"
    ignore_rel = files.rel(build.ignore_file)
    ignore_location = {"file": ignore_rel, "line": 1}
    # Several Dockerfiles may share one ignore file (the location): the key names the one judged.
    key = build.dockerfile
    findings: list[Finding] = []
    # .env files that exist in the context now, then where one would land: the root and every copied dir.
    existing = [p for p in files.env_files if build.context == p.parent or build.context in p.parents]
    existing_rel = [p.relative_to(build.context).as_posix() for p in existing]
    leaking_now = [r for r in existing_rel if not excluded(r, patterns)]
    candidates = [".env"] + [posixpath.join(s.strip("/"), ".env") for s in copy_sources(df)
                             if s.strip("/") not in ("", ".") and (build.context / s.strip("/")).is_dir()]
    leaking_later = [c for c in dict.fromkeys(candidates) if not excluded(c, patterns)]
    if leaking_now:
        findings.append(make_finding(
            "DPL011", f"{ignore_rel} does not exclude {', '.join(leaking_now[:5])}, which exist in the build "
            "context: they are sent to the builder and copied into the image by a COPY of their directory.",
            ignore_location, severity=Severity.MEDIUM, key=key))
    elif leaking_later:
        findings.append(make_finding(
            "DPL011", f"{ignore_rel} does not exclude .env files (checked: {', '.join(leaking_later[:5])}); "
            "none exists now, but a developer's local one would be copied into the image.", ignore_location,
            key=key))
    if (build.context / ".git").exists() and not excluded(".git", patterns):
        findings.append(make_finding("DPL012", f"{ignore_rel} does not exclude .git; the build context "
                                     f"{files.rel(build.context)} is a git checkout.", ignore_location, key=key))
    detail = f"{ignore_rel} ({len(patterns)} patterns; context {files.rel(build.context)})"
    return findings, detail
