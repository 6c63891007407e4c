"""The one report model every check fills and every renderer reads.

Plain dataclasses with explicit ``to_dict``/``from_dict`` so that report.json is exactly the documented
schema (reports/schema/report.schema.json) and a saved report re-renders without the target.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

SCHEMA_VERSION = "1.2"
# 1.1 and 1.2 only added optional fields: an older report reads as is.
READABLE_SCHEMA_VERSIONS = ("1.0", "1.1", "1.2")


def location_text(location: dict[str, Any] | None) -> str:
    """A finding's location in words: "GET /books/{id}", "app/main.py:42", a URL, or "key=value, ..." for
    anything else (parts joined by " · ")."""
    if not location:
        return ""
    parts = []
    if location.get("endpoint"):
        parts.append(str(location["endpoint"]))
    if location.get("file"):
        line = location.get("line")
        parts.append(f"{location['file']}:{line}" if line not in (None, "") else str(location["file"]))
    if location.get("url"):
        parts.append(str(location["url"]))
    parts.extend(f"{k}={v}" for k, v in location.items() if k not in ("endpoint", "file", "line", "url"))
    return " · ".join(parts)


class Severity(StrEnum):
    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
    INFO = "info"

    @property
    def rank(self) -> int:
        """Higher is worse; used to sort findings and to compare against --fail-on."""
        return _SEVERITY_RANK[self]


_SEVERITY_RANK = {
    Severity.CRITICAL: 4,
    Severity.HIGH: 3,
    Severity.MEDIUM: 2,
    Severity.LOW: 1,
    Severity.INFO: 0,
}


class Status(StrEnum):
    PASS = "pass"
    WARN = "warn"
    FAIL = "fail"
    ERROR = "error"
    SKIPPED = "skipped"


class Verdict(StrEnum):
    PASS = "pass"
    FAIL = "fail"
    ERROR = "error"


# How a verdict reads to a person (console, HTML banner, Markdown heading).
VERDICT_WORDS = {Verdict.PASS: "READY", Verdict.FAIL: "NOT READY", Verdict.ERROR: "INCOMPLETE"}


class Section(StrEnum):
    """The seven report sections a check can feed; "concerns" and "next steps" are derived."""

    ENDPOINTS = "endpoints"
    MIGRATIONS = "migrations"
    COVERAGE = "coverage"
    PERFORMANCE = "performance"
    SECURITY = "security"
    OPENAPI = "openapi"
    DEPLOYMENT = "deployment"


# The fixed outline of the readiness report, in order: (key, heading).
OUTLINE: tuple[tuple[str, str], ...] = (
    (Section.ENDPOINTS, "API endpoints"),
    (Section.MIGRATIONS, "Database schema changes and migrations"),
    (Section.COVERAGE, "Test coverage and passing status"),
    (Section.PERFORMANCE, "Performance metrics"),
    (Section.SECURITY, "Security considerations"),
    (Section.OPENAPI, "OpenAPI documentation"),
    (Section.DEPLOYMENT, "Deployment checklist"),
    ("concerns", "Performance and security concerns"),
    ("next_steps", "Next steps and recommendations"),
)


@dataclass
class Finding:
    """One thing a check found. ``location`` is {"endpoint": "GET /x"} or {"file": ..., "line": ...}
    or {"url": ...} for service-level findings that belong to no operation."""

    rule_id: str
    severity: Severity
    title: str
    message: str
    location: dict[str, Any] = field(default_factory=dict)
    evidence: str = ""
    remediation: str = ""
    fingerprint: str = ""
    suppressed: bool = False
    # Set by the gate's policy after the checks ran (auditor/policy.py), never by a check:
    # ``known`` — the finding is in the --baseline report (reported, but it does not gate);
    # ``suppression`` — the .audit-ignore.toml entry that suppressed it: {"reason", "expires", "entry"}.
    known: bool = False
    suppression: dict[str, Any] | None = None
    # The defect this finding is about, when another check can see the same one ("committed-env:.env"):
    # the core's de-duplication (auditor/dedupe.py) keeps one finding per defect and lists the others in
    # ``also_seen_by`` ({"check", "rule_id", "fingerprint"}). ``defect`` is not written to report.json.
    defect: str = ""
    also_seen_by: list[dict[str, str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.severity = Severity(self.severity)
        if not self.fingerprint:
            self.fingerprint = fingerprint(self.rule_id, self.location)

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule_id": self.rule_id,
            "severity": str(self.severity),
            "title": self.title,
            "message": self.message,
            "location": self.location,
            "evidence": self.evidence,
            "remediation": self.remediation,
            "fingerprint": self.fingerprint,
            "suppressed": self.suppressed,
            "known": self.known,
            "suppression": self.suppression,
            **({"also_seen_by": self.also_seen_by} if self.also_seen_by else {}),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Finding:
        return cls(**{k: data[k] for k in _FINDING_KEYS if k in data})


_FINDING_KEYS = ("rule_id", "severity", "title", "message", "location", "evidence", "remediation",
                 "fingerprint", "suppressed", "known", "suppression", "also_seen_by")


# Location keys that move when unrelated code is edited above them: never part of a fingerprint.
VOLATILE_LOCATION_KEYS = frozenset({"line", "end_line", "column", "end_column", "lines"})


def fingerprint(rule_id: str, location: dict[str, Any], key: str = "") -> str:
    """Stable across runs, line shifts and reformatting: rule, location without line numbers (and an
    optional discriminator such as the whitespace-free source line), never the message, which may carry
    measured numbers that change every run. Two findings that still collide are told apart by
    ``disambiguate`` in their order of appearance."""
    stable = {k: v for k, v in location.items() if k not in VOLATILE_LOCATION_KEYS}
    canonical = json.dumps([rule_id, stable, key], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def disambiguate(findings: list[Finding]) -> None:
    """Give the second, third... finding with one fingerprint its own (its ordinal folded in), in the
    order of their lines: the n-th same-looking finding in a file keeps its identity when lines move."""
    ordered = sorted(findings, key=lambda f: (f.location.get("file", ""), _line_of(f)))
    seen: dict[str, int] = {}
    for finding in ordered:
        count = seen.get(finding.fingerprint, 0) + 1
        seen[finding.fingerprint] = count
        if count > 1:
            digest = hashlib.sha256(f"{finding.fingerprint}#{count}".encode()).hexdigest()[:16]
            finding.fingerprint = digest


def _line_of(finding: Finding) -> int:
    line = finding.location.get("line")
    return line if isinstance(line, int) else 0


@dataclass
class Outcome:
    """What a check's ``run`` returns; the runner adds id, title, section, timing and status.

    ``status`` is only for a check that must say more than its findings do: WARN for "insufficient
    data" (never a silent pass). Errors are raised (CheckError), skips too (CheckSkipped)."""

    summary: str
    metrics: dict[str, Any] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)
    status: Status | None = None


@dataclass
class CheckResult:
    id: str
    title: str
    section: Section
    status: Status
    summary: str
    duration_s: float = 0.0
    metrics: dict[str, Any] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.section = Section(self.section)
        self.status = Status(self.status)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "section": str(self.section),
            "status": str(self.status),
            "summary": self.summary,
            "duration_s": round(self.duration_s, 3),
            "metrics": self.metrics,
            "findings": [f.to_dict() for f in self.findings],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CheckResult:
        return cls(
            id=data["id"],
            title=data["title"],
            section=data["section"],
            status=data["status"],
            summary=data["summary"],
            duration_s=data.get("duration_s", 0.0),
            metrics=data.get("metrics", {}),
            findings=[Finding.from_dict(f) for f in data.get("findings", [])],
        )


@dataclass
class Report:
    tool: dict[str, str]
    target: dict[str, Any]
    started_at: str
    duration_s: float
    verdict: Verdict
    checks: list[CheckResult]
    # Optional parts (documented in docs/report-schema.md): gate = {"fail_on", "exit_code", and since 1.1
    # the policy's preset/levels, baseline, regressions, suppressions}; service = what --serve observed (start, shutdown).
    gate: dict[str, Any] = field(default_factory=dict)
    service: dict[str, Any] | None = None
    schema_version: str = SCHEMA_VERSION

    def __post_init__(self) -> None:
        self.verdict = Verdict(self.verdict)

    def findings(self, *, include_suppressed: bool = False) -> list[tuple[CheckResult, Finding]]:
        """Every finding with its check, worst first (severity, then check order)."""
        pairs = [(c, f) for c in self.checks for f in c.findings if include_suppressed or not f.suppressed]
        return sorted(pairs, key=lambda cf: -cf[1].severity.rank)

    def checks_in(self, section: str) -> list[CheckResult]:
        return [c for c in self.checks if c.section == section]

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "schema_version": self.schema_version,
            "tool": self.tool,
            "target": self.target,
            "started_at": self.started_at,
            "duration_s": round(self.duration_s, 3),
            "verdict": str(self.verdict),
            "gate": self.gate,
            "checks": [c.to_dict() for c in self.checks],
        }
        if self.service is not None:
            data["service"] = self.service
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Report:
        return cls(
            tool=data["tool"],
            target=data["target"],
            started_at=data["started_at"],
            duration_s=data["duration_s"],
            verdict=data["verdict"],
            checks=[CheckResult.from_dict(c) for c in data["checks"]],
            gate=data.get("gate", {}),
            service=data.get("service"),
        )
