"""OSV records (https://ossf.github.io/osv-schema/) read from a local directory and matched locally, for
auditing without network: PyPI versions with `packaging` (PEP 440), npm and Go versions with `semver`
(SemVer 2.0; Go's "v" prefix and pseudo-versions included).

Layouts accepted: pypa/advisory-database (vulns/<package>/PYSEC-*.yaml), OSV's per-ecosystem export
(one JSON file per record, or the all.zip it is published as), or any folder of .json/.yaml/.yml records.
A record that cannot be read is reported (DEP030) and left out; it never stops the audit.
"""

from __future__ import annotations

import json
import os
import re
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import semver
import yaml
from packaging.version import InvalidVersion, Version

from checks.dependencies import severity as severity_mod
from checks.dependencies.model import GO, NPM, PYPI, Vulnerability, normalise

_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
# The ecosystems matched here, by the lower-case form of OSV's name ("PyPI", "npm", "Go").
ECOSYSTEMS = {"pypi": PYPI, "npm": NPM, "go": GO}
ECOSYSTEM = "pypi"  # the one this database was first written for (kept for callers that ask)
SUFFIXES = (".json", ".yaml", ".yml")
_ECOSYSTEM_FIELD = re.compile(r"ecosystem[\"']?\s*[:=]\s*[\"']?(pypi|npm|go)\b", re.I)


def parse_version(ecosystem: str, raw: str) -> Any:
    """A comparable version of the ecosystem: packaging's Version for PyPI, semver's for npm and Go (a
    leading "v" dropped). Raises InvalidVersion when the string is not one."""
    if ecosystem == PYPI:
        return Version(raw)
    text = raw.strip().removeprefix("v")
    if text == "0":
        text = "0.0.0"  # OSV's "introduced": "0" means from the beginning
    try:
        return semver.Version.parse(text)
    except (ValueError, TypeError):
        raise InvalidVersion(f"{raw!r} is not a SemVer version") from None


class MalformedRecord(Exception):
    """A record that is not a usable OSV object; the message is one line."""


@dataclass
class Range:
    events: list[tuple[Any, str]]          # (version, "introduced" | "fixed" | "last_affected"), sorted


@dataclass
class Affected:
    key: str                               # the name as the ecosystem compares it (PEP 503 for PyPI)
    versions: frozenset[Any]               # explicit affected versions
    ranges: list[Range]
    ecosystem: str = PYPI


@dataclass
class Record:
    id: str
    aliases: tuple[str, ...]
    summary: str
    affected: list[Affected]
    severity: Any                          # (Severity | None, score | None, label)
    source: str                            # file it came from, for messages


@dataclass
class Database:
    path: Path
    index: dict[tuple[str, str], list[Record]] = field(default_factory=dict)   # (ecosystem, name) → records
    ecosystems: set[str] = field(default_factory=set)                          # ecosystems any record names
    files: int = 0            # record documents seen (.json/.yaml/.yml, zip members included)
    records: int = 0          # PyPI records parsed and indexed
    unrelated: int = 0        # PyPI documents not naming any audited package: not parsed
    withdrawn: int = 0
    other_ecosystems: int = 0
    malformed: list[tuple[str, str]] = field(default_factory=list)  # (file, why)
    complete: bool = True

    @property
    def knows_pypi(self) -> bool:
        return self.knows(PYPI)

    def knows(self, ecosystem: str) -> bool:
        """Whether the database holds any advisory of the ecosystem at all; if not, a package it does not
        flag is not "clean", it is unaudited."""
        return ecosystem in self.ecosystems


_TOKEN = re.compile(r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?")


def load(path: Path, *, keys: set[str] | set[tuple[str, str]] | None = None, max_bytes: int = 5_000_000,
         should_stop: Callable[[], bool] = lambda: False) -> Database:
    """The records under ``path``; raises OSError (one line) when the directory itself is unusable.

    With ``keys`` ((ecosystem, name) pairs, or bare PyPI names), a document whose text names none of them
    (PyPI names compared after PEP 503 normalisation) is counted but not parsed: a real database has tens
    of thousands of records and an application a few dozen dependencies. Malformed records are then
    reported only among the ones that could concern those packages."""
    if not path.is_dir():
        raise OSError(f"vulnerability database {path} is not a directory")
    db = Database(path)
    pairs = None if keys is None else {k if isinstance(k, tuple) else (PYPI, k) for k in keys}
    pypi_keys = {name for eco, name in pairs or () if eco == PYPI}
    other_names = {name.lower() for eco, name in pairs or () if eco != PYPI}
    for name, raw in _documents(path, max_bytes, db):
        if should_stop():
            db.complete = False
            break
        db.files += 1
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            db.malformed.append((name, "not UTF-8"))
            continue
        lowered = text.lower()
        named = {ECOSYSTEMS[m.group(1).lower()] for m in _ECOSYSTEM_FIELD.finditer(text)}
        if not named and "pypi" in lowered:
            named = {PYPI}  # a broken PyPI record (no ecosystem field where expected) is still reported
        if not named:
            db.other_ecosystems += 1
            continue
        if pairs is not None:
            wanted = (PYPI in named and pypi_keys & set(_TOKEN.findall(re.sub(r"[-_.]+", "-", lowered)))) or \
                (named - {PYPI} and any(n in lowered for n in other_names))
            if not wanted:
                db.unrelated += 1
                db.ecosystems |= named  # a usable-looking record of these ecosystems, for other packages
                continue
        try:
            record = parse_record(_decode(name, text), name)
        except MalformedRecord as exc:
            db.malformed.append((name, str(exc)))
            continue
        if record is None:
            db.withdrawn += 1
            continue
        if not record.affected:
            db.other_ecosystems += 1
            continue
        db.records += 1
        db.ecosystems |= {a.ecosystem for a in record.affected}
        for key in {(a.ecosystem, a.key) for a in record.affected}:
            db.index.setdefault(key, []).append(record)
    return db


def _documents(root: Path, max_bytes: int, db: Database) -> Iterator[tuple[str, bytes]]:
    """(name relative to the database, bytes) of every candidate record, zip members included, in a
    stable order. Hidden directories (a checkout's .git) are not walked, symlinked directories are not
    followed, and a symlinked file is read only when it stays inside the database."""
    resolved = root.resolve()
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for filename in sorted(filenames):
            if filename.startswith("."):
                continue
            file = os.path.join(dirpath, filename)
            rel = os.path.relpath(file, root).replace(os.sep, "/")
            suffix = os.path.splitext(filename)[1].lower()
            if suffix not in SUFFIXES and suffix != ".zip":
                continue
            try:
                if os.path.islink(file) and not Path(file).resolve().is_relative_to(resolved):
                    db.malformed.append((rel, "symlink to a file outside the database: not read"))
                    continue
                if not os.path.isfile(file):
                    continue
                if suffix == ".zip":
                    yield from _zip_members(Path(file), rel, max_bytes, db)
                    continue
                size = os.path.getsize(file)
                if size > max_bytes:
                    db.malformed.append((rel, f"{size / 1e6:.1f} MB, over the {max_bytes / 1e6:.1f} MB limit: "
                                              "not read"))
                    continue
                with open(file, "rb") as handle:
                    data = handle.read()
            except OSError as exc:
                db.malformed.append((rel, f"cannot be read: {exc.strerror or exc}"))
                continue
            yield rel, data


def _zip_members(file: Path, rel: str, max_bytes: int, db: Database) -> Iterator[tuple[str, bytes]]:
    try:
        with zipfile.ZipFile(file) as archive:
            for info in archive.infolist():
                name = f"{rel}!{info.filename}"
                if info.is_dir() or not info.filename.lower().endswith(SUFFIXES):
                    continue
                if info.file_size > max_bytes:  # declared size: a zip bomb is refused before reading
                    db.malformed.append((name, "over the size limit: not read"))
                    continue
                yield name, archive.read(info)[: max_bytes + 1]
    except (zipfile.BadZipFile, OSError, RuntimeError) as exc:
        db.malformed.append((rel, f"not a readable zip archive: {exc}"))


def _decode(name: str, text: str) -> Any:
    try:
        if name.lower().endswith(".json"):
            return json.loads(text)
        # The safe loader (a record is data, never constructed objects), in C when libyaml is there:
        # about ten times faster over the thousands of records of a real database.
        return yaml.load(text, Loader=_YAML_LOADER)  # noqa: S506 — a SafeLoader
    except json.JSONDecodeError as exc:
        raise MalformedRecord(f"invalid JSON: {exc.msg} (line {exc.lineno})") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        raise MalformedRecord(f"invalid YAML: {getattr(exc, 'problem', None) or 'syntax error'}{where}") from None


def parse_record(data: Any, source: str = "") -> Record | None:
    """A Record keeping only its PyPI, npm and Go packages; None when withdrawn. Raises MalformedRecord."""
    if not isinstance(data, dict):
        raise MalformedRecord("not an OSV object (expected a mapping)")
    vuln_id = data.get("id")
    if not isinstance(vuln_id, str) or not vuln_id.strip():
        raise MalformedRecord("no id")
    if data.get("withdrawn"):
        return None
    affected_raw = data.get("affected")
    if not isinstance(affected_raw, list):
        raise MalformedRecord(f"{vuln_id}: no affected list")
    aliases = data.get("aliases") or []
    if not isinstance(aliases, list):
        raise MalformedRecord(f"{vuln_id}: aliases is not a list")
    affected: list[Affected] = []
    pypi_raw: list[dict[str, Any]] = []
    for item in affected_raw:
        package = item.get("package") if isinstance(item, dict) else None
        if not isinstance(package, dict) or not isinstance(package.get("name"), str):
            raise MalformedRecord(f"{vuln_id}: an affected entry without package.name")
        ecosystem = ECOSYSTEMS.get(str(package.get("ecosystem", "")).split(":")[0].lower())
        if ecosystem is None:
            continue
        affected.append(_affected(vuln_id, normalise(package["name"], ecosystem), item, ecosystem))
        pypi_raw.append(item)
    summary = data.get("summary") or data.get("details") or ""
    return Record(id=vuln_id.strip(), aliases=tuple(str(a) for a in aliases if a),
                  summary=" ".join(str(summary).split())[:300], affected=affected,
                  severity=severity_mod.rate(data, pypi_raw), source=source)


def _affected(vuln_id: str, key: str, item: dict[str, Any], ecosystem: str = PYPI) -> Affected:
    versions: set[Any] = set()
    raw_versions = item.get("versions") or []
    if not isinstance(raw_versions, list):
        raise MalformedRecord(f"{vuln_id}: versions is not a list")
    for raw in raw_versions:
        try:
            versions.add(parse_version(ecosystem, str(raw)))
        except InvalidVersion:
            continue  # a non-PEP 440 release string can never equal a pinned PEP 440 version
    ranges: list[Range] = []
    raw_ranges = item.get("ranges") or []
    if not isinstance(raw_ranges, list):
        raise MalformedRecord(f"{vuln_id}: ranges is not a list")
    for raw_range in raw_ranges:
        if not isinstance(raw_range, dict):
            raise MalformedRecord(f"{vuln_id}: a range is not a mapping")
        if raw_range.get("type") not in ("ECOSYSTEM", "SEMVER"):
            continue  # GIT ranges name commits, not releases
        events: list[tuple[Any, str]] = []
        for event in raw_range.get("events") or []:
            if not isinstance(event, dict) or len(event) != 1:
                raise MalformedRecord(f"{vuln_id}: an event must have exactly one of introduced/fixed/last_affected")
            (kind, value), = event.items()
            if kind == "limit":
                continue
            if kind not in ("introduced", "fixed", "last_affected"):
                raise MalformedRecord(f"{vuln_id}: unknown range event {kind!r}")
            try:
                events.append((parse_version(ecosystem, str(value)), kind))
            except InvalidVersion:
                raise MalformedRecord(f"{vuln_id}: {kind} version {str(value)[:40]!r} is not a "
                                      f"{'PEP 440' if ecosystem == PYPI else 'SemVer'} version") from None
        if not any(kind == "introduced" for _, kind in events):
            # The schema requires one; reading its absence as "since the beginning" flags more, never less.
            events.append((parse_version(ecosystem, "0"), "introduced"))
        # Sorted by version; at one version "introduced" comes first, so introduced X, fixed X is empty.
        events.sort(key=lambda e: (e[0], e[1] != "introduced"))
        ranges.append(Range(events))
    return Affected(key=key, versions=frozenset(versions), ranges=ranges, ecosystem=ecosystem)


def affects(affected: Affected, version: Any) -> tuple[bool, list[Any]]:
    """Whether ``version`` is affected, and the fixed versions above it (the upgrade targets).

    The OSV evaluation: walk a range's events in version order; an introduced at or below the version
    opens the vulnerable interval, a fixed at or below it (or a last_affected below it) closes it."""
    hit = version in affected.versions
    fixed_above: list[Any] = []
    for rng in affected.ranges:
        vulnerable = False
        for at, kind in rng.events:
            if kind == "introduced" and version >= at:
                vulnerable = True
            elif kind == "fixed" and version >= at:
                vulnerable = False
            elif kind == "last_affected" and version > at:
                vulnerable = False
        if vulnerable:
            hit = True
        fixed_above += [at for at, kind in rng.events if kind == "fixed" and at > version]
    return hit, sorted(set(fixed_above)) if hit else []


def match(db: Database, key: str, version: str, ecosystem: str = PYPI) -> list[Vulnerability]:
    """The advisories affecting ``key==version`` (of ``ecosystem``), aliases merged (a PYSEC record and the
    GHSA record it aliases are one vulnerability). Raises InvalidVersion for a version the ecosystem's
    scheme cannot read."""
    parsed = parse_version(ecosystem, version)
    hits: list[tuple[Record, list[Any]]] = []
    for record in db.index.get((ecosystem, key), []):
        affected_any = False
        fixed: list[Any] = []
        for item in record.affected:
            if item.key != key or item.ecosystem != ecosystem:
                continue
            hit, fix = affects(item, parsed)
            if hit:
                affected_any = True
                fixed += fix
        if affected_any:
            hits.append((record, fixed))
    return _merge_aliases(hits)


def _merge_aliases(hits: list[tuple[Record, list[Any]]]) -> list[Vulnerability]:
    groups: list[dict[str, Any]] = []
    for record, fixed in sorted(hits, key=lambda h: _id_rank(h[0].id)):
        names = {record.id, *record.aliases}
        group = next((g for g in groups if g["names"] & names), None)
        if group is None:
            group = {"records": [], "names": set(), "fixed": set()}
            groups.append(group)
        group["records"].append(record)
        group["names"] |= names
        group["fixed"] |= set(fixed)
    out: list[Vulnerability] = []
    for group in groups:
        primary = group["records"][0]
        rated = [r.severity for r in group["records"] if r.severity[0] is not None]
        sev, score, label = max(rated, key=lambda s: (s[0].rank, s[1] or 0)) if rated else (None, None, "")
        out.append(Vulnerability(
            id=primary.id,
            aliases=tuple(sorted(group["names"] - {primary.id}, key=_id_rank)),
            fixed=tuple(str(v) for v in sorted(group["fixed"])),
            summary=next((r.summary for r in group["records"] if r.summary), ""),
            severity=sev, score=score, rating=label))
    return sorted(out, key=lambda v: _id_rank(v.id))


def _id_rank(vuln_id: str) -> tuple[int, str]:
    """Which id names a merged group: the PyPI database's own (PYSEC), then GHSA, then CVE, then others."""
    for rank, prefix in enumerate(("PYSEC-", "GHSA-", "CVE-")):
        if vuln_id.startswith(prefix):
            return rank, vuln_id
    return 3, vuln_id
