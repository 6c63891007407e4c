"""Find the repo's dependency manifests and read what they declare (requirements files, pyproject.toml,
Pipfile, and the lock files poetry.lock, uv.lock, Pipfile.lock, pylock.toml; npm, yarn, pnpm and Go lock
files and package.json through nodego.py), in the repo and, for lock files, in the directories above it
up to the git root (auditor.repo_scope): a workspace's lock there pins its members' dependencies.

Reading only: nothing in the repo is executed (no setup.py, no build backend), nothing outside the repo
is read (symlinks leaving it and -r includes pointing out of it are reported, not followed), and every
file is size-capped and must be UTF-8.
"""

from __future__ import annotations

import json
import os
import re
import stat
import tomllib
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pip_requirements_parser
from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import SpecifierSet

from auditor.repo_scope import RepoScope
from checks.dependencies import nodego
from checks.dependencies.model import PYPI, Declared, Inventory, Manifest, Problem, normalise

# Directories never worth walking: VCS data, caches, build output, installed environments (any directory
# holding pyvenv.cfg is pruned as well).
PRUNE = frozenset({".git", ".hg", ".svn", ".venv", "venv", "node_modules", "__pycache__", ".tox", ".nox",
                   ".mypy_cache", ".pytest_cache", ".ruff_cache", "build", "dist", "site-packages",
                   ".eggs", "htmlcov", "audit-report"})
_REQUIREMENTS_NAME = re.compile(r"(?i)^(?:.*[-_.])?requirements(?:[-_.].*)?\.txt$")
_REQUIREMENTS_DIRS = frozenset({"requirements", "reqs"})
_PYLOCK_NAME = re.compile(r"^pylock(?:\.[^.]+)?\.toml$")
SPEC_LIMIT = 160  # characters of a requirement kept as evidence

# The version-less sources of a lock entry that are the project itself or local code: no advisories
# can exist for them, so they are neither audited nor reported.
_LOCAL = "local"


def manifest_kind(path: Path) -> str | None:
    """Which parser reads this file, from its name alone."""
    name = path.name
    if name == "pyproject.toml":
        return "pyproject"
    if name in ("poetry.lock", "uv.lock", "Pipfile", "Pipfile.lock"):
        return name
    if name in nodego.NAMES:
        return nodego.NAMES[name]
    if _PYLOCK_NAME.match(name):
        return "pylock.toml"
    if name.endswith(".txt") and (_REQUIREMENTS_NAME.match(name) or path.parent.name.lower() in _REQUIREMENTS_DIRS):
        return "requirements"
    return None


def discover(repo: Path, *, extra: Iterable[str] = (), exclude: Iterable[str] = (),
             should_stop: Callable[[], bool] = lambda: False) -> tuple[list[tuple[Path, str]], list[Problem], bool]:
    """Manifests in the repo, sorted by path: (path, kind). Returns (found, problems, complete)."""
    root = repo.resolve()
    excluded = {str(Path(e)).strip("/") for e in exclude}
    found: dict[Path, str] = {}
    problems: list[Problem] = []
    complete = True
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        if should_stop():
            complete = False
            break
        here = Path(dirpath)
        rel_dir = _rel(here, root)
        dirnames[:] = sorted(d for d in dirnames if d not in PRUNE and not d.endswith(".egg-info")
                             and (f"{rel_dir}/{d}" if rel_dir != "." else d) not in excluded
                             and not (here / d / "pyvenv.cfg").exists())
        for name in filenames:
            path = here / name
            kind = manifest_kind(path)
            if kind:
                found[path] = kind
    for rel in extra:
        path = root / rel
        kind = manifest_kind(path) or ("pyproject" if path.suffix == ".toml" else "requirements")
        if not path.exists():
            problems.append(Problem("DEP012", rel, None, f"configured manifest {rel} does not exist"))
            continue
        found[path] = kind
    return sorted(found.items()), problems, complete


# Lock files looked for in the directories above the repo up to its git root (a monorepo's workspace
# lock), nearest first.
PARENT_LOCKS = ("uv.lock", "poetry.lock", "Pipfile.lock", "pylock.toml", "package-lock.json", "npm-shrinkwrap.json",
                "yarn.lock", "pnpm-lock.yaml")


def read_inventory(repo: Path, *, extra: Iterable[str] = (), exclude: Iterable[str] = (), max_bytes: int = 5_000_000,
                   should_stop: Callable[[], bool] = lambda: False, scope: RepoScope | None = None) -> Inventory:
    """Discover and parse every manifest of the repo, then the lock files above it up to the git root."""
    root = repo.resolve()
    found, problems, complete = discover(root, extra=extra, exclude=exclude, should_stop=should_stop)
    inventory = Inventory(problems=problems, complete=complete)
    queue = list(found)
    seen: set[Path] = set()
    while queue:
        if should_stop():
            inventory.complete = False
            break
        path, kind = queue.pop(0)
        if path in seen:
            continue
        seen.add(path)
        rel = _rel(path, root)
        parsed = _parse(path, kind, root, rel, max_bytes, inventory)
        if parsed is None:
            continue
        declared, line_problems, includes = parsed
        inventory.manifests.append(Manifest(rel, kind, len(declared)))
        inventory.declared += declared
        inventory.problems += line_problems
        for line, target in includes:
            included = (path.parent / target)
            if not _inside(included, root):
                inventory.problems.append(Problem("DEP012", rel, line, f"{rel}:{line} includes {target}, which is "
                                                  "outside the repository: not read"))
            elif not included.is_file():
                inventory.problems.append(Problem("DEP012", rel, line, f"{rel}:{line} includes {target}, which "
                                                  "does not exist"))
            else:
                queue.append((included.resolve(), "requirements"))
    if scope is not None and scope.is_subdirectory and inventory.complete:
        _read_parent_locks(scope, inventory, max_bytes)
    return inventory


def _parse(path: Path, kind: str, root: Path, rel: str, max_bytes: int,
           inventory: Inventory) -> Parsed | None:
    """One manifest parsed, or None with its problem recorded (unreadable, broken)."""
    text, problem = read_text(path, root, rel, max_bytes)
    if problem:
        inventory.problems.append(problem)
        inventory.manifests.append(Manifest(rel, kind, 0))
        return None
    assert text is not None
    try:
        return PARSERS[kind](path, rel, text)
    except (_Unreadable, nodego.LockError) as exc:
        inventory.problems.append(Problem("DEP012", rel, getattr(exc, "line", None), f"{rel} {exc}"))
        inventory.manifests.append(Manifest(rel, kind, 0))
        return None


def _read_parent_locks(scope: RepoScope, inventory: Inventory, max_bytes: int) -> None:
    """Lock files above the repo (a uv/npm workspace's, a monorepo's): only the packages the repo itself
    depends on are taken from them — its declared names, the workspace member's own entry, and what those
    depend on in the lock's graph — never the other members' dependencies."""
    own_kinds = {m.kind for m in inventory.manifests}
    for path in scope.find_above(PARENT_LOCKS):
        kind = manifest_kind(path)
        if kind is None or kind in own_kinds:
            continue  # the repo's own lock of that kind wins
        rel = scope.rel(path)
        parsed = _parse(path, kind, scope.root, rel, max_bytes, inventory)
        if parsed is None:
            continue
        declared, line_problems, _ = parsed
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        member = scope.repo.relative_to(path.parent).as_posix()
        wanted = _reachable(kind, text, {(d.ecosystem, d.key) for d in inventory.declared}, member)
        kept = [d for d in declared if (d.ecosystem, d.key) in wanted]
        inventory.manifests.append(Manifest(rel, kind, len(kept)))
        inventory.declared += kept
        inventory.problems += [p for p in line_problems if p.rule_id != "DEP011"]
        inventory.parent_locks.append(rel)
        own_kinds.add(kind)


def _reachable(kind: str, text: str, roots: set[tuple[str, str]], member: str) -> set[tuple[str, str]]:
    """(ecosystem, name) of the roots and everything they depend on in the lock file's graph."""
    if kind in ("uv.lock", "poetry.lock"):
        graph, members = _toml_lock_graph(text, member)
        ecosystem = PYPI
    elif kind == "package-lock.json":
        graph = nodego.npm_graph(text)
        members = graph.get(member.lower(), set())
        ecosystem = "npm"
    else:
        graph, members, ecosystem = {}, set(), "npm" if kind in ("yarn.lock", "pnpm-lock.yaml") else PYPI
    queue = [name for eco, name in roots if eco == ecosystem] + sorted(members)
    seen: set[str] = set()
    while queue:
        name = queue.pop()
        if name in seen:
            continue
        seen.add(name)
        queue += sorted(graph.get(name, ()))
    return {(ecosystem, name) for name in seen}


def _toml_lock_graph(text: str, member: str) -> tuple[dict[str, set[str]], set[str]]:
    """uv.lock / poetry.lock: {package: the packages it depends on} (all extras and groups), and the
    dependencies of the workspace member at ``member`` (a path relative to the lock file)."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        return {}, set()
    graph: dict[str, set[str]] = {}
    members: set[str] = set()
    for entry in data.get("package") or []:
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            continue
        deps: set[str] = set()
        for item in entry.get("dependencies") or []:  # uv: [{name = "x"}]
            if isinstance(item, dict) and isinstance(item.get("name"), str):
                deps.add(normalise(item["name"]))
        if isinstance(entry.get("dependencies"), dict):  # poetry: {x = "..."}
            deps |= {normalise(name) for name in entry["dependencies"]}
        for table in ("optional-dependencies", "dev-dependencies"):
            groups = entry.get(table)
            for items in (groups.values() if isinstance(groups, dict) else []):
                deps |= {normalise(i["name"]) for i in items if isinstance(i, dict) and isinstance(i.get("name"), str)}
        key = normalise(entry["name"])
        graph.setdefault(key, set()).update(deps)
        source = entry.get("source") if isinstance(entry.get("source"), dict) else {}
        where = source.get("editable") or source.get("virtual") or source.get("directory")
        if isinstance(where, str) and where.strip("./") == member.strip("./"):
            members |= deps | {key}
    return graph, members


class _Unreadable(Exception):
    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.line = line


def read_text(path: Path, root: Path, rel: str, max_bytes: int) -> tuple[str | None, Problem | None]:
    """The file's text, or the reason it is not read (outside the repo, too large, not UTF-8)."""
    if not _inside(path, root):
        return None, Problem("DEP012", rel, None, f"{rel} is a symlink to a file outside the repository: not read")
    # Only regular files are read: reading a FIFO named requirements.txt blocks until a writer comes
    # (forever), a device may never end, and a directory cannot be read at all.
    if not path.is_file():
        return None, Problem("DEP012", rel, None, f"{rel} is not a regular file ({_file_type(path)}): not read")
    try:
        size = path.stat().st_size
        if size > max_bytes:
            return None, Problem("DEP012", rel, None, f"{rel} is {size / 1e6:.1f} MB, over the {max_bytes / 1e6:.1f} "
                                 "MB limit (max_file_bytes): not read")
        data = path.read_bytes()
    except OSError as exc:
        return None, Problem("DEP012", rel, None, f"{rel} cannot be read: {exc.strerror or exc}")
    try:
        return data.decode("utf-8-sig"), None
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        return None, Problem("DEP012", rel, line, f"{rel} is not UTF-8 (byte {exc.start}, line {line}): not read")


def _file_type(path: Path) -> str:
    """What a non-regular path is, in words (for the problem's message)."""
    try:
        mode = path.stat().st_mode
    except OSError:
        return "a dangling symlink" if path.is_symlink() else "gone while the audit ran"
    for test, name in ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO"), (stat.S_ISSOCK, "a socket"),
                       (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device")):
        if test(mode):
            return name
    return "not a regular file"


def _inside(path: Path, root: Path) -> bool:
    try:
        path.resolve().relative_to(root)
    except (ValueError, OSError, RuntimeError):  # RuntimeError: a symlink loop
        return False
    return True


def _rel(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return path.as_posix()


def _short(text: str) -> str:
    text = " ".join(re.sub(r"\s--hash[= ]\S+", "", text).split())  # hashes are long and say nothing here
    return text if len(text) <= SPEC_LIMIT else text[:SPEC_LIMIT - 1] + "…"


def exact_version(specifier: SpecifierSet | str | None) -> str | None:
    """The version a specifier pins exactly (``==1.2.3`` / ``===1.2.3``), else None (``==1.*`` is a range)."""
    specs = list(specifier) if isinstance(specifier, SpecifierSet) else None
    if specs is None:
        try:
            specs = list(SpecifierSet(specifier or ""))
        except Exception:  # noqa: BLE001 — an invalid specifier pins nothing; the caller reports it
            return None
    if len(specs) == 1 and specs[0].operator in ("==", "===") and "*" not in specs[0].version:
        return specs[0].version
    return None


# ----------------------------------------------------------------------------------------------------
# Parsers: (path, repo-relative name, text) -> (declared, problems, includes [(line, target)]).

Parsed = tuple[list[Declared], list[Problem], list[tuple[int, str]]]


def parse_requirements(path: Path, rel: str, text: str) -> Parsed:
    """A pip requirements file, read with pip-requirements-parser (pip's own grammar: continuations,
    options, --hash, markers, -r/-c, -e, URLs); its requirement objects carry packaging specifiers."""
    del text  # decoded already (UTF-8 checked); the parser reads the file itself
    try:
        parsed = pip_requirements_parser.RequirementsFile.from_file(str(path), include_nested=False)
    except Exception as exc:  # noqa: BLE001 — the parser raises bare Exceptions on broken files
        raise _Unreadable(f"does not parse as a requirements file: {_first_line(exc)}") from None
    declared: list[Declared] = []
    problems: list[Problem] = []
    includes: list[tuple[int, str]] = []
    for bad in parsed.invalid_lines:
        problems.append(Problem("DEP011", rel, bad.line_number,
                                f"{rel}:{bad.line_number}: {_first_line(bad.error_message)}", _short(bad.line)))
    for option in parsed.options:
        for target in option.options.get("requirements", []) or []:
            includes.append((option.line_number, target))
    for req in parsed.requirements:
        spec = _short(req.line or str(req.req or ""))
        if not req.name:
            continue  # a local path or "-e .": the project's own code, not a third-party package
        if req.is_editable or req.link is not None:
            if req.link is not None and req.link.is_file:
                continue  # a local directory or archive: local code
            declared.append(Declared(req.name, rel, req.line_number, "requirements", spec, None,
                                     "a URL/VCS requirement: no index version to check"))
            continue
        version = exact_version(req.specifier)
        declared.append(Declared(req.name, rel, req.line_number, "requirements", spec, version,
                                 "" if version else "not pinned to one version"))
    return declared, problems, includes


def parse_pyproject(path: Path, rel: str, text: str) -> Parsed:
    data = _toml(text)
    own = normalise(str(_get(data, "project", "name") or "")) if _get(data, "project", "name") else None
    finder = _LineFinder(text)
    strings: list[str] = []
    strings += _str_list(_get(data, "project", "dependencies"))
    for group in (_get(data, "project", "optional-dependencies") or {}).values():
        strings += _str_list(group)
    for group in (_get(data, "dependency-groups") or {}).values():
        strings += _str_list(group)  # {include-group = ...} tables are skipped: their strings are listed too
    strings += _str_list(_get(data, "tool", "uv", "dev-dependencies"))
    declared: list[Declared] = []
    problems: list[Problem] = []
    for raw in strings:
        line = finder.quoted(raw)
        try:
            req = Requirement(raw)
        except InvalidRequirement as exc:
            problems.append(Problem("DEP011", rel, line, f"{rel}:{line}: {_first_line(exc)}", _short(raw)))
            continue
        if own and normalise(req.name) == own:
            continue  # the project's own extras ("myproject[test]")
        if req.url:
            declared.append(Declared(req.name, rel, line, "pyproject", _short(raw), None,
                                     "a URL/VCS requirement: no index version to check"))
            continue
        version = exact_version(req.specifier)
        declared.append(Declared(req.name, rel, line, "pyproject", _short(raw), version,
                                 "" if version else "not pinned to one version"))
    declared += _poetry_dependencies(data, rel, finder)
    return declared, problems, []


def _poetry_dependencies(data: dict[str, Any], rel: str, finder: _LineFinder) -> list[Declared]:
    """[tool.poetry.dependencies] and groups: name = "constraint" | {version = ..., git/path/url = ...}.
    Poetry's "1.2.3" (no operator) means exactly 1.2.3; ^ and ~ are ranges."""
    poetry = _get(data, "tool", "poetry") or {}
    tables = [poetry.get("dependencies"), poetry.get("dev-dependencies")]
    tables += [g.get("dependencies") for g in (poetry.get("group") or {}).values() if isinstance(g, dict)]
    out: list[Declared] = []
    for table in tables:
        if not isinstance(table, dict):
            continue
        for name, value in table.items():
            if name.lower() == "python":
                continue
            for item in value if isinstance(value, list) else [value]:
                constraint = item.get("version") if isinstance(item, dict) else item
                line = finder.key(name)
                spec = _short(f"{name} = {json.dumps(item)}")
                if isinstance(item, dict) and any(k in item for k in ("path", "develop")):
                    continue  # local code
                if isinstance(item, dict) and any(k in item for k in ("git", "url")):
                    out.append(Declared(name, rel, line, "pyproject", spec, None,
                                        "a URL/VCS requirement: no index version to check"))
                    continue
                constraint = str(constraint or "").strip()
                version = exact_version(constraint) or (constraint if re.fullmatch(r"\d[\w.!+]*", constraint) else None)
                out.append(Declared(name, rel, line, "pyproject", spec, version,
                                    "" if version else "not pinned to one version"))
    return out


def parse_pipfile(path: Path, rel: str, text: str) -> Parsed:
    data = _toml(text)
    finder = _LineFinder(text)
    out: list[Declared] = []
    for table in (data.get("packages"), data.get("dev-packages")):
        if not isinstance(table, dict):
            continue
        for name, value in table.items():
            spec = _short(f"{name} = {json.dumps(value)}")
            if isinstance(value, dict) and any(k in value for k in ("path", "file")):
                continue
            if isinstance(value, dict) and "git" in value:
                out.append(Declared(name, rel, finder.key(name), "Pipfile", spec, None,
                                    "a URL/VCS requirement: no index version to check"))
                continue
            constraint = value.get("version", "*") if isinstance(value, dict) else value
            version = exact_version(str(constraint))
            out.append(Declared(name, rel, finder.key(name), "Pipfile", spec, version,
                                "" if version else "not pinned to one version"))
    return out, [], []


def parse_pipfile_lock(path: Path, rel: str, text: str) -> Parsed:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise _Unreadable(f"is not valid JSON: {exc.msg} (line {exc.lineno})", exc.lineno) from None
    if not isinstance(data, dict):
        raise _Unreadable("is not a Pipfile.lock (no JSON object)")
    out: list[Declared] = []
    lines = text.splitlines()
    for section in ("default", "develop"):
        table = data.get(section)
        if not isinstance(table, dict):
            continue
        for name, value in table.items():
            if not isinstance(value, dict):
                continue
            line = next((i for i, l in enumerate(lines, 1) if l.strip().startswith(f'"{name}"')), None)
            if value.get("path") or value.get("file"):
                continue
            if value.get("git"):
                out.append(Declared(name, rel, line, "Pipfile.lock", _short(f"{name} {value.get('git')}"), None,
                                    "a VCS requirement: no index version to check"))
                continue
            raw = str(value.get("version", ""))
            version = exact_version(raw)
            out.append(Declared(name, rel, line, "Pipfile.lock", _short(f"{name}{raw}"), version,
                                "" if version else "the lock entry has no exact version"))
    return out, [], []


def _lock_entries(packages: Any, rel: str, kind: str, finder: _LineFinder,
                  source_of: Callable[[dict[str, Any]], str]) -> Parsed:
    """[[package]] tables of poetry.lock / uv.lock / pylock.toml: name, version, and where it came from
    (an index: audited; git/url: not auditable; the project itself or a local path: left out)."""
    out: list[Declared] = []
    problems: list[Problem] = []
    if not isinstance(packages, list):
        return out, problems, []
    for entry in packages:
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            problems.append(Problem("DEP011", rel, None, f"{rel}: a package entry without a name", _short(str(entry))))
            continue
        name = entry["name"]
        line = finder.entry(name)
        origin = source_of(entry)
        if origin == _LOCAL:
            continue
        version = entry.get("version")
        spec = _short(f"{name}=={version}" if version else name)
        if origin:
            out.append(Declared(name, rel, line, kind, spec, None, origin))
        elif not isinstance(version, str) or not version:
            out.append(Declared(name, rel, line, kind, spec, None, "the lock entry has no version"))
        else:
            out.append(Declared(name, rel, line, kind, spec, version))
    return out, problems, []


def parse_poetry_lock(path: Path, rel: str, text: str) -> Parsed:
    def origin(entry: dict[str, Any]) -> str:
        kind = (entry.get("source") or {}).get("type") if isinstance(entry.get("source"), dict) else None
        if kind in ("directory", "file"):
            return _LOCAL
        if kind in ("git", "url"):
            return f"a {kind} dependency: no index version to check"
        return ""  # None or "legacy" (a private index): a version from an index

    return _lock_entries(_toml(text).get("package"), rel, "poetry.lock", _LineFinder(text), origin)


def parse_uv_lock(path: Path, rel: str, text: str) -> Parsed:
    def origin(entry: dict[str, Any]) -> str:
        source = entry.get("source") if isinstance(entry.get("source"), dict) else {}
        if any(k in source for k in ("editable", "virtual", "directory", "path")):
            return _LOCAL
        if any(k in source for k in ("git", "url")):
            return "a git/URL dependency: no index version to check"
        return ""

    return _lock_entries(_toml(text).get("package"), rel, "uv.lock", _LineFinder(text), origin)


def parse_pylock(path: Path, rel: str, text: str) -> Parsed:
    """PEP 751 pylock.toml: [[packages]] with name, version and one of vcs/directory/archive/sdist/wheels."""
    def origin(entry: dict[str, Any]) -> str:
        if "directory" in entry:
            return _LOCAL
        if "vcs" in entry:
            return "a VCS dependency: no index version to check"
        return ""

    return _lock_entries(_toml(text).get("packages"), rel, "pylock.toml", _LineFinder(text), origin)


PARSERS: dict[str, Callable[[Path, str, str], Parsed]] = {
    "requirements": parse_requirements,
    "pyproject": parse_pyproject,
    "Pipfile": parse_pipfile,
    "Pipfile.lock": parse_pipfile_lock,
    "poetry.lock": parse_poetry_lock,
    "uv.lock": parse_uv_lock,
    "pylock.toml": parse_pylock,
    **nodego.PARSERS,
}


# ----------------------------------------------------------------------------------------------------
# Helpers

def _toml(text: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        match = re.search(r"line (\d+)", str(exc))
        raise _Unreadable(f"is not valid TOML: {_first_line(exc)}", int(match.group(1)) if match else None) from None


def _get(data: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data


def _str_list(value: Any) -> list[str]:
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def _first_line(value: object) -> str:
    return (str(value).strip().splitlines() or [""])[0][:200]


class _LineFinder:
    """Line numbers for TOML values (tomllib gives none): good enough to point a reader at the entry."""

    def __init__(self, text: str) -> None:
        self.lines = text.splitlines()

    def _first(self, predicate: Callable[[str], bool]) -> int | None:
        return next((i for i, line in enumerate(self.lines, 1) if predicate(line)), None)

    def quoted(self, value: str) -> int | None:
        return self._first(lambda line: f'"{value}"' in line or f"'{value}'" in line)

    def key(self, name: str) -> int | None:
        pattern = re.compile(rf'^\s*["\']?{re.escape(name)}["\']?\s*=', re.IGNORECASE)
        return self._first(lambda line: bool(pattern.match(line)))

    def entry(self, name: str) -> int | None:
        pattern = re.compile(rf'^\s*name\s*=\s*["\']{re.escape(name)}["\']', re.IGNORECASE)
        return self._first(lambda line: bool(pattern.match(line)))
