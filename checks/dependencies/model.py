"""What the check passes between gathering, auditing and judging: plain data, no I/O."""

from __future__ import annotations

from dataclasses import dataclass, field

from packaging.utils import canonicalize_name

from auditor.model import Severity


def normalise(name: str) -> str:
    """PEP 503 name: lower case, runs of -_. collapsed to one dash (``Flask_SQLAlchemy`` → ``flask-sqlalchemy``)."""
    return canonicalize_name(name)


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

    @property
    def key(self) -> str:
        return normalise(self.name)


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

    def pins(self) -> dict[Package, list[Declared]]:
        """Every exact (name, version) with the places that pin it, in manifest order."""
        out: dict[Package, list[Declared]] = {}
        for entry in self.declared:
            if entry.version is not None and not entry.reason:
                out.setdefault(Package(entry.key, entry.version), []).append(entry)
        return out

    def unresolved(self) -> list[Declared]:
        """Declarations no manifest pins: an unpinned name in pyproject.toml is fine when a lock file
        pins it (that pin is audited)."""
        pinned = {p.key for p in self.pins()}
        return [d for d in self.declared if (d.version is None or d.reason) and d.key not in pinned]

    def keys(self) -> list[str]:
        return sorted({d.key for d in self.declared})


@dataclass(frozen=True, order=True)
class Package:
    key: str       # PEP 503 normalised name
    version: str   # exact version as pinned

    def __str__(self) -> str:
        return f"{self.key}=={self.version}"


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
