"""The health endpoints the repo's own deployment configuration probes.

A service whose health endpoint sits at a path of its own (`/api/v3/status/`, `/system/ping`) is not
found by the conventional candidates, yet its deployment says where it is: a Dockerfile's HEALTHCHECK
(`CMD curl -f http://localhost:8000/api/status/`, or a script it runs, such as `CMD ./fetchstatus.py`,
whose code fetches the URL), a compose service's `healthcheck.test`, a Kubernetes container's
`livenessProbe` / `readinessProbe` / `startupProbe` `httpGet.path`. Those paths are tried as candidates
after the spec's and before the conventional ones (gathered here, probed by the check); reporting "no
liveness endpoint" (high) for a service whose Dockerfile probes one would be false.

Only loopback URLs count (`localhost`, `127.0.0.1`, `0.0.0.0`, `[::1]`): the container probing itself.
Interpolations in them (`{site_root.path}`, `${PREFIX}`, `$PORT`) are dropped: the default deployment's
path is what is left.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from auditor.repo_context import FileContext, classify
from auditor.repofiles import VENDORED_DIRS

MAX_FILES = 5000
MAX_BYTES = 256 * 1024
BOTH = "both"
LIVENESS = "liveness"
READINESS = "readiness"

_DOCKERFILE = re.compile(r"^(?:Dockerfile|Containerfile)(?:\..+)?$|\.(?:Dockerfile|dockerfile)$")
_HEALTHCHECK = re.compile(r"^\s*HEALTHCHECK\b(?P<rest>.*)$", re.IGNORECASE)
# A loopback URL, with or without a scheme; the port may be an interpolation (`:{port}`, `:${PORT}`) and
# an interpolation may stand between the port and the path (`localhost:8000{root.path}/api/status/`).
_LOOPBACK = re.compile(r"(?:\bhttps?://|(?<![\w./@-]))(?:localhost|127\.0\.0\.1|0\.0\.0\.0|\[::1\])"
                       r"(?::[^/\s\"'`]*)?(?P<path>/[^\s\"'`]*)?")
_INTERPOLATION = re.compile(r"\$\{[^}]*\}|\{[^}]*\}|\$\w+|%\([^)]*\)s|%s")
# The words of a HEALTHCHECK or compose test command that name a script the container runs.
_SCRIPT = re.compile(r"^(?:\./)?[\w./-]*\w\.(?:py|sh|js|mjs|rb|php|pl)$|^\./[\w.-]+$")
_K8S_PROBES = {"livenessProbe": LIVENESS, "readinessProbe": READINESS, "startupProbe": LIVENESS}


@dataclass(frozen=True)
class DeclaredProbe:
    role: str      # liveness, readiness or both (a Docker/compose healthcheck is the one probe there is)
    path: str
    source: str    # "docker/Dockerfile:51 HEALTHCHECK via docker/fetchstatus.py"

    def row(self) -> dict[str, str]:
        return {"role": self.role, "path": self.path, "source": self.source}


def loopback_paths(text: str) -> list[str]:
    """The paths of the loopback URLs in ``text``, interpolations dropped, query and fragment left out. A
    URL without a path (`SITE_ROOT = "http://localhost:8000"`, a base to build on) names no endpoint."""
    out: list[str] = []
    for match in _LOOPBACK.finditer(text):
        raw = match.group("path")
        if not raw:
            continue
        path = _INTERPOLATION.sub("", raw).split("?", 1)[0].split("#", 1)[0]
        path = re.sub(r"/{2,}", "/", path).rstrip(",;)]}\\")
        if not path.startswith("/"):
            path = "/" + path
        if path not in out:
            out.append(path)
    return out


class _Repo:
    """The repo's deployment files and every file by name (for the scripts a healthcheck runs)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.dockerfiles: list[Path] = []
        self.yaml: list[Path] = []
        self.by_name: dict[str, list[Path]] = {}
        seen = 0
        for directory, dirs, files in os.walk(root):
            dirs[:] = sorted(d for d in dirs if d not in VENDORED_DIRS and not d.startswith("."))
            for name in sorted(files):
                seen += 1
                if seen > MAX_FILES:
                    return
                path = Path(directory) / name
                if classify(path.relative_to(root).as_posix()) is FileContext.TEST:
                    continue
                self.by_name.setdefault(name, []).append(path)
                if _DOCKERFILE.search(name):
                    self.dockerfiles.append(path)
                elif name.endswith((".yml", ".yaml")):
                    self.yaml.append(path)

    def rel(self, path: Path) -> str:
        return path.relative_to(self.root).as_posix()

    def script(self, word: str, near: Path) -> Path | None:
        """The repo file a command word names (`./fetchstatus.py`, `/app/bin/health.sh`): by its name,
        the one nearest the file that runs it first."""
        found = self.by_name.get(Path(word).name, [])
        return min(found, key=lambda p: (p.parent != near.parent, len(p.parts))) if found else None


def _read(path: Path) -> str:
    try:
        if path.stat().st_size > MAX_BYTES:
            return ""
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""


def _from_command(repo: _Repo, command: str, where: Path) -> list[tuple[str, str]]:
    """(path, via) for a healthcheck command: its own loopback URLs, else those of the scripts it runs."""
    paths = loopback_paths(command)
    if paths:
        return [(p, "") for p in paths]
    out: list[tuple[str, str]] = []
    for word in re.split(r"[\s\"',\[\]]+", command):
        if not _SCRIPT.match(word):
            continue
        script = repo.script(word, where)
        if script is not None:
            out += [(p, f" via {repo.rel(script)}") for p in loopback_paths(_read(script))]
    return out


def _dockerfile_probes(repo: _Repo, path: Path) -> list[DeclaredProbe]:
    out: list[DeclaredProbe] = []
    lines = _read(path).splitlines()
    i = 0
    while i < len(lines):
        number, line = i + 1, lines[i]
        while line.rstrip().endswith("\\") and i + 1 < len(lines):  # continuation lines
            i += 1
            line = line.rstrip()[:-1] + " " + lines[i]
        i += 1
        match = _HEALTHCHECK.match(line)
        if not match or re.match(r"\s*NONE\b", match.group("rest"), re.IGNORECASE):
            continue
        command = re.split(r"\bCMD\b", match.group("rest"), maxsplit=1)[-1]
        for probe_path, via in _from_command(repo, command, path):
            out.append(DeclaredProbe(BOTH, probe_path, f"{repo.rel(path)}:{number} HEALTHCHECK{via}"))
    return out


def _walk(node: Any, found: list[tuple[str, Any]]) -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            if key in _K8S_PROBES or key == "healthcheck":
                found.append((key, value))
            _walk(value, found)
    elif isinstance(node, list):
        for item in node:
            _walk(item, found)


def _yaml_probes(repo: _Repo, path: Path) -> list[DeclaredProbe]:
    text = _read(path)
    if "healthcheck" not in text and "Probe" not in text:
        return []
    import yaml

    found: list[tuple[str, Any]] = []
    try:
        for document in yaml.safe_load_all(text):
            _walk(document, found)
    except yaml.YAMLError:
        return []  # a Helm template or another non-YAML file
    out: list[DeclaredProbe] = []
    rel = repo.rel(path)
    for key, value in found:
        if not isinstance(value, dict):
            continue
        if key in _K8S_PROBES:
            http_get = value.get("httpGet")
            if isinstance(http_get, dict) and isinstance(http_get.get("path"), str):
                probe_path = _INTERPOLATION.sub("", http_get["path"]) or "/"
                out.append(DeclaredProbe(_K8S_PROBES[key], probe_path if probe_path.startswith("/") else
                                         "/" + probe_path, f"{rel} {key}.httpGet"))
            continue
        test = value.get("test")
        command = " ".join(str(t) for t in test) if isinstance(test, list) else str(test or "")
        for probe_path, via in _from_command(repo, command, path):
            out.append(DeclaredProbe(BOTH, probe_path, f"{rel} healthcheck{via}"))
    return out


def declared_probes(root: Path) -> list[DeclaredProbe]:
    """Every HTTP health probe the repo's deployment files declare, Dockerfiles first; tests left out."""
    repo = _Repo(root)
    out: list[DeclaredProbe] = []
    for path in repo.dockerfiles:
        out += _dockerfile_probes(repo, path)
    for path in repo.yaml:
        out += _yaml_probes(repo, path)
    seen: set[tuple[str, str]] = set()
    unique = []
    for probe in out:
        if (probe.role, probe.path) not in seen:
            seen.add((probe.role, probe.path))
            unique.append(probe)
    return unique


def paths_for(role: str, probes: list[DeclaredProbe]) -> list[str]:
    """The declared paths a role tries: its own probes' and the healthchecks that serve both."""
    out: list[str] = []
    for probe in probes:
        if probe.role in (role, BOTH) and probe.path not in out:
            out.append(probe.path)
    return out
