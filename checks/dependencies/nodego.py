"""The lock files of npm (package-lock.json, npm-shrinkwrap.json), yarn (yarn.lock, classic and berry),
pnpm (pnpm-lock.yaml) and Go (go.sum), and package.json's declarations: read as text or data, never run.

Each parser has the signature of manifests.PARSERS: (path, repo-relative name, text) -> (declared,
problems, includes). Versions are kept as the lock file writes them; the OSV matcher compares them as
SemVer (checks/dependencies/osv.py).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml

from checks.dependencies.model import GO, NPM, Declared, Problem

Parsed = tuple[list[Declared], list[Problem], list[tuple[int, str]]]
_LOCAL_NPM = ("file:", "link:", "workspace:", "portal:", "patch:")
_SEMVER = re.compile(r"^v?\d+\.\d+\.\d+(?:[-+][0-9A-Za-z.+-]+)?$")
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_PNPM_V5 = re.compile(r"^(@[^/@]+/[^/@]+|[^@/][^/@]*)/(\d[^/_]*)(?:_.+)?$")


class LockError(Exception):
    """A lock file that does not parse; the message is one line."""


def _lines(text: str) -> dict[str, int]:
    """First line of each quoted string that starts a JSON key ("node_modules/x": {): cheap line numbers."""
    out: dict[str, int] = {}
    for number, line in enumerate(text.splitlines(), 1):
        match = re.match(r'\s*"([^"]+)"\s*:', line)
        if match and match.group(1) not in out:
            out[match.group(1)] = number
    return out


def _npm_entry(name: str, version: Any, rel: str, line: int | None, kind: str) -> Declared:
    spec = f"{name}@{version}"
    if not isinstance(version, str) or not version:
        return Declared(name, rel, line, kind, name, None, "the lock entry has no version", NPM)
    if version.startswith(_LOCAL_NPM):
        return Declared(name, rel, line, kind, spec, None, "local", NPM)
    if not _SEMVER.match(version):
        return Declared(name, rel, line, kind, spec, None, "a git/URL dependency: no registry version to check", NPM)
    return Declared(name, rel, line, kind, spec, version, "", NPM)


def parse_package_lock(path: Path, rel: str, text: str) -> Parsed:
    """package-lock.json / npm-shrinkwrap.json: lockfileVersion 2/3 "packages" (keys node_modules/<name>,
    nested node_modules too), else version 1's nested "dependencies"."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise LockError(f"is not valid JSON: {exc.msg} (line {exc.lineno})") from None
    if not isinstance(data, dict):
        raise LockError("is not an npm lock file (no JSON object)")
    lines = _lines(text)
    out: list[Declared] = []
    packages = data.get("packages")
    if isinstance(packages, dict):
        for key, entry in packages.items():
            if not key or not isinstance(entry, dict) or "node_modules/" not in key:
                continue  # "" is the project itself; other keys are workspace members (local code)
            if entry.get("link") or str(entry.get("resolved", "")).startswith(_LOCAL_NPM):
                continue
            name = entry.get("name") or key.rsplit("node_modules/", 1)[1]
            out.append(_npm_entry(name, entry.get("version"), rel, lines.get(key), "package-lock.json"))
    else:
        def walk(deps: Any) -> None:
            if not isinstance(deps, dict):
                return
            for name, entry in deps.items():
                if isinstance(entry, dict):
                    out.append(_npm_entry(name, entry.get("version"), rel, lines.get(name), "package-lock.json"))
                    walk(entry.get("dependencies"))

        walk(data.get("dependencies"))
    return [d for d in out if d.reason != "local"], [], []


def _split_spec(spec: str) -> str:
    """The package name of a yarn/pnpm spec: "@babel/core@^7.0.0" -> "@babel/core", "lodash@npm:^4" -> "lodash"."""
    spec = spec.strip().strip('"').strip("'")
    at = spec.find("@", 1)
    return spec if at < 0 else spec[:at]


def parse_yarn_lock(path: Path, rel: str, text: str) -> Parsed:
    """yarn.lock, classic (v1: `version "1.2.3"`) and berry (v2+: YAML-like `version: 1.2.3`): a block per
    resolved package, headed by the specs that resolve to it."""
    out: list[Declared] = []
    header: str | None = None
    header_line = 0
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if not line[0].isspace():
            header = line.rstrip().rstrip(":") if line.rstrip().endswith(":") else None
            header_line = number
            continue
        if header is None or header.startswith("__metadata"):
            continue
        match = re.match(r'\s+version:?\s+"?([^"\s]+)"?\s*$', line)
        if match is None:
            continue
        first = header.split(",")[0]
        if any(f"@{proto}" in header for proto in _LOCAL_NPM):
            header = None
            continue
        out.append(_npm_entry(_split_spec(first), match.group(1), rel, header_line, "yarn.lock"))
        header = None
    return [d for d in out if d.reason != "local"], [], []


def parse_pnpm_lock(path: Path, rel: str, text: str) -> Parsed:
    """pnpm-lock.yaml's `packages` keys: "/name/1.2.3" (v5), "/name@1.2.3(peer@x)" (v6),
    "name@1.2.3" (v9)."""
    try:
        data = yaml.load(text, Loader=_YAML_LOADER)  # noqa: S506 — a SafeLoader
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise LockError(f"is not valid YAML{f' (line {mark.line + 1})' if mark else ''}") from None
    if not isinstance(data, dict):
        raise LockError("is not a pnpm lock file (no mapping)")
    out: list[Declared] = []
    packages = data.get("packages") if isinstance(data.get("packages"), dict) else {}
    lines = {key: number for number, line in enumerate(text.splitlines(), 1)
             for key in [line.strip().rstrip(":").strip("'\"")] if line.startswith("  ") and not line.startswith("   ")}
    for key, entry in packages.items():
        raw = re.sub(r"\(.*\)$", "", str(key).lstrip("/"))
        v5 = _PNPM_V5.match(raw)
        if v5:  # v5: name/1.2.3 (scoped: @scope/name/1.2.3), peers after "_"
            name, version = v5.group(1), v5.group(2)
        else:  # v6 "/name@1.2.3(peer)", v9 "name@1.2.3"
            at = raw.find("@", 1)
            if at < 0:
                continue
            name, version = raw[:at], raw[at + 1:]
        if isinstance(entry, dict) and isinstance(entry.get("resolution"), dict) and \
                ("directory" in entry["resolution"]):
            continue
        out.append(_npm_entry(name, version, rel, lines.get(str(key)), "pnpm-lock.yaml"))
    return [d for d in out if d.reason != "local"], [], []


def parse_go_sum(path: Path, rel: str, text: str) -> Parsed:
    """go.sum: `module version h1:hash`; the `/go.mod`-only lines are modules whose code is not built."""
    out: list[Declared] = []
    seen: set[tuple[str, str]] = set()
    for number, line in enumerate(text.splitlines(), 1):
        parts = line.split()
        if len(parts) != 3 or parts[1].endswith("/go.mod"):
            continue
        module, version = parts[0], parts[1]
        if (module, version) in seen:
            continue
        seen.add((module, version))
        out.append(Declared(module, rel, number, "go.sum", f"{module} {version}", version, "", GO))
    return out, [], []


def parse_package_json(path: Path, rel: str, text: str) -> Parsed:
    """package.json's dependencies, devDependencies and optionalDependencies: ranges (^1.2.0) pin
    nothing; the lock file next to it gives the exact versions that are audited."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise LockError(f"is not valid JSON: {exc.msg} (line {exc.lineno})") from None
    if not isinstance(data, dict):
        raise LockError("is not a package.json (no JSON object)")
    lines = _lines(text)
    out: list[Declared] = []
    for table in ("dependencies", "devDependencies", "optionalDependencies"):
        deps = data.get(table)
        if not isinstance(deps, dict):
            continue
        for name, spec in deps.items():
            spec = str(spec)
            if spec.startswith(_LOCAL_NPM):
                continue
            exact = spec.lstrip("=") if _SEMVER.match(spec.lstrip("=")) else None
            out.append(Declared(name, rel, lines.get(name), "package.json", f"{name}@{spec}", exact,
                                "" if exact else "not pinned to one version (a range)", NPM))
    return out, [], []


def npm_graph(text: str) -> dict[str, set[str]]:
    """package-lock.json (v2+): package name -> the names it depends on (any version): for following a
    parent lock file's dependencies from the packages the repo declares."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        return {}
    graph: dict[str, set[str]] = {}
    packages = data.get("packages") if isinstance(data, dict) else None
    for key, entry in (packages or {}).items():
        if not isinstance(entry, dict):
            continue
        name = key.rsplit("node_modules/", 1)[1] if "node_modules/" in key else key
        deps: set[str] = set()
        for table in ("dependencies", "optionalDependencies", "devDependencies", "peerDependencies"):
            if isinstance(entry.get(table), dict):
                deps |= {d.lower() for d in entry[table]}
        graph.setdefault(name.lower(), set()).update(deps)
    return graph


PARSERS = {
    "package-lock.json": parse_package_lock,
    "yarn.lock": parse_yarn_lock,
    "pnpm-lock.yaml": parse_pnpm_lock,
    "go.sum": parse_go_sum,
    "package.json": parse_package_json,
}
NAMES = {"package-lock.json": "package-lock.json", "npm-shrinkwrap.json": "package-lock.json",
         "yarn.lock": "yarn.lock", "pnpm-lock.yaml": "pnpm-lock.yaml", "go.sum": "go.sum",
         "package.json": "package.json"}
