"""What the check passes between gathering, auditing and judging: plain data, no I/O."""

from __future__ import annotations

from dataclasses import dataclass, field

from packaging.utils import canonicalize_name

from auditor.model import Severity


PYPI = "PyPI"
NPM = "npm"
GO = "Go"


def normalise(name: str, ecosystem: str = PYPI) -> str:
    """The name as its ecosystem compares it: PEP 503 for PyPI (lower case, runs of -_. collapsed to one
    dash: ``Flask_SQLAlchemy`` → ``flask-sqlalchemy``), lower case for npm, as written for Go modules."""
    if ecosystem == PYPI:
        return canonicalize_name(name)
    return name.lower() if ecosystem == NPM else name


@dataclass(frozen=True)
class Declared:
    """One dependency as a manifest states it."""

    name: str                 # as written
    file: str                 # repo-relative, forward slashes
    line: int | None
    kind: str                 # "requirements", "pyproject", "poetry.lock", ...
    spec: str                 # the requirement as written (shortened), for evidence
    version: str | None       # the exact version when pinned, else None
    reason: str = ""          # why it cannot be audited (unpinned, URL, editable ...); "" when pinned
    ecosystem: str = PYPI     # OSV's ecosystem name: "PyPI", "npm", "Go"

    @property
    def key(self) -> str:
        return normalise(self.name, self.ecosystem)


@dataclass(frozen=True)
class Problem:
    """A manifest that could not be read, or a line that does not parse (DEP011/DEP012)."""

    rule_id: str
    file: str
    line: int | None
    message: str
    evidence: str = ""


@dataclass(frozen=True)
class Manifest:
    file: str
    kind: str
    dependencies: int


@dataclass
class Inventory:
    """Everything the repo declares."""

    manifests: list[Manifest] = field(default_factory=list)
    declared: list[Declared] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    complete: bool = True     # false when the walk was cut short (deadline)
    parent_locks: list[str] = field(default_factory=list)   # lock files read above the repo ("../uv.lock")

    def pins(self) -> dict[Package, list[Declared]]:
        """Every exact (name, version) with the places that pin it, in manifest order."""
        out: dict[Package, list[Declared]] = {}
        for entry in self.declared:
            if entry.version is not None and not entry.reason:
                out.setdefault(Package(entry.key, entry.version, entry.ecosystem), []).append(entry)
        return out

    def unresolved(self) -> list[Declared]:
        """Declarations no manifest pins: an unpinned name in pyproject.toml is fine when a lock file
        pins it (that pin is audited)."""
        pinned = {(p.ecosystem, p.key) for p in self.pins()}
        return [d for d in self.declared if (d.version is None or d.reason) and (d.ecosystem, d.key) not in pinned]

    def keys(self) -> list[str]:
        return sorted({d.key for d in self.declared})


@dataclass(frozen=True, order=True)
class Package:
    key: str                 # the name as its ecosystem compares it (PEP 503 for PyPI)
    version: str             # exact version as pinned
    ecosystem: str = PYPI

    def __str__(self) -> str:
        return f"{self.key}=={self.version}" if self.ecosystem == PYPI else f"{self.key}@{self.version}"


@dataclass(frozen=True)
class Vulnerability:
    """One advisory (merged with its aliases) that affects one package version."""

    id: str
    aliases: tuple[str, ...] = ()
    fixed: tuple[str, ...] = ()          # fixed versions above the installed one, ascending
    summary: str = ""
    severity: Severity | None = None     # from CVSS or the database's own rating; None: not given
    score: float | None = None           # CVSS base score when computable
    rating: str = ""                     # how the severity was obtained ("CVSS:3.1 9.8", "GHSA HIGH")


@dataclass
class SourceResult:
    """What a vulnerability source says about the packages it was given."""

    source: str                                                   # short name for metrics/summary
    audited: set[Package] = field(default_factory=set)
    vulnerable: dict[Package, list[Vulnerability]] = field(default_factory=dict)
    not_audited: dict[Package, str] = field(default_factory=dict)  # package → reason
    malformed: list[tuple[str, str]] = field(default_factory=list)  # (record file, why) for DEP030
    facts: dict[str, object] = field(default_factory=dict)         # extra metrics (records loaded ...)
