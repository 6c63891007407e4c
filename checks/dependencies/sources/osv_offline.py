"""Offline source: a local OSV database (--vuln-db DIR), matched with `packaging`; no network at all."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from packaging.version import InvalidVersion

from checks.dependencies import osv
from checks.dependencies.model import Package, SourceResult
from checks.dependencies.sources.interface import Budget, SourceUnavailable


class OsvOfflineSource:
    name = "osv-offline"

    def __init__(self, path: Path, *, max_bytes: int = 5_000_000) -> None:
        self.path = path
        self.max_bytes = max_bytes

    def audit(self, packages: list[Package], budget: Budget,
              progress: Callable[[str], None] = lambda message: None) -> SourceResult:
        progress(f"loading OSV records from {self.path}")
        try:
            db = osv.load(self.path, keys={(p.ecosystem, p.key) for p in packages}, max_bytes=self.max_bytes,
                          should_stop=budget.should_stop)
        except OSError as exc:
            raise SourceUnavailable(str(exc)) from None
        result = SourceResult(source=self.name, malformed=db.malformed)
        result.facts = {"vuln_db": str(self.path), "records_scanned": db.files, "records_matched_by_name": db.records,
                        "records_malformed": len(db.malformed), "records_withdrawn": db.withdrawn,
                        "records_other_ecosystems": db.other_ecosystems}
        if not db.complete:
            for package in packages:
                result.not_audited[package] = "the deadline came while the OSV database was being read"
            return result
        for package in packages:
            if not db.knows(package.ecosystem):
                # A database without a single record of the ecosystem knows nothing: not a clean audit.
                result.not_audited[package] = f"the OSV database at {self.path} holds no {package.ecosystem} record"
                continue
            try:
                found = osv.match(db, package.key, package.version, package.ecosystem)
            except InvalidVersion:
                scheme = "PEP 440" if package.ecosystem == "PyPI" else "SemVer"
                result.not_audited[package] = f"version {package.version!r} is not a {scheme} version"
                continue
            result.audited.add(package)
            if found:
                result.vulnerable[package] = found
        return result
