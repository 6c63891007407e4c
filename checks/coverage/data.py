"""Coverage data in one shape, from coverage.py's JSON report or a Cobertura coverage.xml.

Pure parsing: no code of the repo runs here. The total is coverage.py's own figure: ``totals.
percent_covered`` of its JSON report, or, from XML, the same formula coverage.py uses for its total
((covered lines + covered branches) / (lines + branches)).
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET  # noqa: S405 — see _parse_xml on why defusedxml is not needed
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

MAX_DATA_BYTES = 200 * 1024 * 1024


class DataError(Exception):
    """Coverage data that cannot be read; one line."""


@dataclass
class FileCoverage:
    path: str                      # repo-relative, POSIX separators (absolute when outside the repo)
    executed: list[int]
    missing: list[int]
    percent: float

    @property
    def statements(self) -> int:
        return len(self.executed) + len(self.missing)


@dataclass
class CoverageData:
    percent: float                 # coverage.py's total
    covered_lines: int
    statements: int
    files: list[FileCoverage] = field(default_factory=list)
    branch: bool = False
    origin: str = ""               # where it came from: "coverage run", "coverage.json", ...

    def by_path(self) -> dict[str, FileCoverage]:
        return {f.path: f for f in self.files}


def relative(path: str, repo: Path, base: Path | None = None) -> str:
    """A measured file's path relative to the repo, POSIX style; absolute paths outside stay absolute."""
    p = Path(path)
    if not p.is_absolute():
        p = (base or repo) / p
    try:
        return PurePosixPath(p.resolve().relative_to(repo.resolve())).as_posix()
    except (ValueError, OSError):
        return PurePosixPath(p).as_posix()


def parse_json_report(path: Path, repo: Path, *, origin: str, base: Path | None = None) -> CoverageData:
    """coverage.py's `coverage json` output (format 2 and 3)."""
    try:
        if path.stat().st_size > MAX_DATA_BYTES:
            raise DataError(f"{path.name} is larger than {MAX_DATA_BYTES // 2**20} MiB")
        doc = json.loads(path.read_text(encoding="utf-8"))
        totals = doc["totals"]
        files = []
        for name, entry in doc.get("files", {}).items():
            summary = entry.get("summary", {})
            files.append(FileCoverage(path=relative(name, repo, base),
                                      executed=sorted(int(n) for n in entry.get("executed_lines", [])),
                                      missing=sorted(int(n) for n in entry.get("missing_lines", [])),
                                      percent=float(summary.get("percent_covered", 100.0))))
        return CoverageData(percent=float(totals["percent_covered"]), covered_lines=int(totals["covered_lines"]),
                            statements=int(totals["num_statements"]), files=files,
                            branch=bool(doc.get("meta", {}).get("branch_coverage")), origin=origin)
    except DataError:
        raise
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise DataError(f"{path.name} is not a coverage.py JSON report ({type(exc).__name__}: {exc})") from None


def parse_xml_report(path: Path, repo: Path) -> CoverageData:
    """A Cobertura coverage.xml (coverage.py's `coverage xml`, or another tool's)."""
    try:
        if path.stat().st_size > MAX_DATA_BYTES:
            raise DataError(f"{path.name} is larger than {MAX_DATA_BYTES // 2**20} MiB")
        # The stdlib parser is enough here: it never fetches external entities, and the expat it is built
        # with (>= 2.4.1 in every supported CPython) refuses entity-expansion bombs.
        root = ET.parse(path).getroot()  # noqa: S314
        if root.tag != "coverage":
            raise DataError(f"{path.name}: root element is <{root.tag}>, not Cobertura <coverage>")
        sources = [Path(s.text.strip()) for s in root.iter("source") if s.text and s.text.strip()]
        base = next((s for s in sources if s.is_dir()), sources[0] if sources else repo)
        per_file: dict[str, tuple[set[int], set[int]]] = {}
        for cls in root.iter("class"):
            name = relative(cls.get("filename", ""), repo, base)
            executed, missing = per_file.setdefault(name, (set(), set()))
            for line in cls.iter("line"):
                number = int(line.get("number", "0"))
                (executed if int(line.get("hits", "0")) > 0 else missing).add(number)
        files = []
        for name, (executed, missing) in per_file.items():
            missing -= executed
            total = len(executed) + len(missing)
            files.append(FileCoverage(name, sorted(executed), sorted(missing),
                                      100.0 * len(executed) / total if total else 100.0))
        lines_valid = int(root.get("lines-valid", sum(f.statements for f in files)))
        lines_covered = int(root.get("lines-covered", sum(len(f.executed) for f in files)))
        branches_valid = int(root.get("branches-valid", 0) or 0)
        branches_covered = int(root.get("branches-covered", 0) or 0)
        denominator = lines_valid + branches_valid
        percent = 100.0 * (lines_covered + branches_covered) / denominator if denominator else 100.0
        return CoverageData(percent=percent, covered_lines=lines_covered, statements=lines_valid, files=files,
                            branch=branches_valid > 0, origin=path.name)
    except DataError:
        raise
    except (OSError, ET.ParseError, ValueError) as exc:
        raise DataError(f"{path.name} is not a readable Cobertura XML report ({exc})") from None


def line_ranges(numbers: list[int]) -> str:
    """[1, 2, 3, 7, 9, 10] -> "1-3, 7, 9-10", as coverage.py's "Missing" column writes them."""
    parts: list[str] = []
    start = prev = None
    for n in sorted(set(numbers)):
        if start is None:
            start = prev = n
        elif n == prev + 1:
            prev = n
        else:
            parts.append(f"{start}-{prev}" if start != prev else str(start))
            start = prev = n
    if start is not None:
        parts.append(f"{start}-{prev}" if start != prev else str(start))
    return ", ".join(parts)
