"""What kind of project the repo is (Python, Node.js, Go), from its files alone, so that a repo-side check
that does not apply says so as a skip naming what it found, instead of running pytest on a jest project.

A repo can be several kinds at once (a Python backend with a Node build for its front end): a check asks
``is_python`` and words its skip with ``describe()``.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from auditor.repofiles import VENDORED_DIRS

MAX_DEPTH = 4
MAX_ENTRIES = 20_000
PYTHON_MARKERS = ("pyproject.toml", "setup.py", "setup.cfg", "Pipfile", "manage.py", "tox.ini", "noxfile.py")
_PRUNE = VENDORED_DIRS | {"dist", "build", "coverage", ".next", "vendor", "target"}
# Test runners of the Node.js world, as package.json names them.
NODE_TEST_RUNNERS = ("jest", "vitest", "mocha", "ava", "jasmine", "tap", "playwright", "cypress")
NODE_FRAMEWORKS = {"@nestjs/core": "NestJS", "express": "Express", "fastify": "Fastify", "koa": "Koa",
                   "next": "Next.js", "@hapi/hapi": "hapi"}


@dataclass
class ProjectKind:
    python_files: int = 0
    python_markers: list[str] = field(default_factory=list)
    node: bool = False
    node_framework: str | None = None
    node_test_runner: str | None = None
    go: bool = False
    go_test_files: int = 0

    @property
    def is_python(self) -> bool:
        """A Python project file at the top, or .py files in a repo that is nothing else (a helper script
        in a Node.js repo does not make it a Python project)."""
        return bool(self.python_markers) or (self.python_files > 0 and not (self.node or self.go))

    def describe(self) -> str:
        """"Node.js project (NestJS, package.json), jest tests" / "Go module (go.mod), 3 _test.go files"."""
        parts: list[str] = []
        if self.node:
            what = "Node.js project (" + ", ".join(p for p in (self.node_framework, "package.json") if p) + ")"
            parts.append(what + (f", {self.node_test_runner} tests" if self.node_test_runner else ""))
        if self.go:
            parts.append(f"Go module (go.mod){f', {self.go_test_files} _test.go files' if self.go_test_files else ''}")
        if self.is_python:
            parts.append("Python project (" + (", ".join(self.python_markers[:3]) or f"{self.python_files} .py files")
                         + ")")
        return "; ".join(parts) or "no Python, Node.js or Go project files"


def detect(repo: Path) -> ProjectKind:
    kind = ProjectKind()
    kind.python_markers = [name for name in PYTHON_MARKERS if (repo / name).is_file()]
    kind.python_markers += sorted(p.name for p in repo.glob("requirements*.txt") if p.is_file())[:2]
    package_json = repo / "package.json"
    if package_json.is_file():
        kind.node = True
        _read_package_json(package_json, kind)
    kind.go = (repo / "go.mod").is_file()
    seen = 0
    base = len(repo.parts)
    for dirpath, dirnames, filenames in os.walk(repo):
        depth = len(Path(dirpath).parts) - base
        dirnames[:] = [d for d in dirnames if d not in _PRUNE and not d.startswith(".") and depth < MAX_DEPTH]
        for name in filenames:
            seen += 1
            if name.endswith(".py"):
                kind.python_files += 1
            elif name.endswith("_test.go"):
                kind.go_test_files += 1
        if seen > MAX_ENTRIES:
            break
    return kind


def _read_package_json(path: Path, kind: ProjectKind) -> None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return
    if not isinstance(data, dict):
        return
    deps: dict[str, object] = {}
    for table in ("dependencies", "devDependencies"):
        value = data.get(table)
        if isinstance(value, dict):
            deps.update(value)
    kind.node_framework = next((name for package, name in NODE_FRAMEWORKS.items() if package in deps), None)
    scripts = data.get("scripts") if isinstance(data.get("scripts"), dict) else {}
    test_script = str(scripts.get("test", "")) if scripts else ""
    kind.node_test_runner = next((r for r in NODE_TEST_RUNNERS if r in deps or r in test_script.split()), None)
