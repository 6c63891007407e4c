"""Helpers every renderer shares, so that HTML, Markdown and JUnit say the same thing the same way:
gate membership, severity grouping, location and truncation of untrusted text, section headlines and
the "next steps" list. Pure functions over the report model; no output format knowledge here."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from auditor import gate
from auditor.model import VERDICT_WORDS  # noqa: F401 — re-exported: the renderers take their words from here
from auditor.model import OUTLINE, CheckResult, Finding, Report, Section, Severity, Status, Verdict, location_text

# Relative link base of the check catalogue (one file per check, one anchor per rule id).
CATALOGUE_BASE = "docs/checks/"

VERDICT_EMOJI = {Verdict.PASS: "✅", Verdict.FAIL: "❌", Verdict.ERROR: "⚠️"}

# Colour is never the only signal: every status has a word and a text icon beside its colour.
STATUS_WORDS = {Status.PASS: "pass", Status.WARN: "warn", Status.FAIL: "fail", Status.ERROR: "error",
                Status.SKIPPED: "skipped"}
STATUS_ICONS = {Status.PASS: "✔", Status.WARN: "▲", Status.FAIL: "✖", Status.ERROR: "!", Status.SKIPPED: "–"}
STATUS_EMOJI = {Status.PASS: "✅", Status.WARN: "⚠️", Status.FAIL: "❌", Status.ERROR: "💥", Status.SKIPPED: "⏭️"}
NOT_AUDITED = "not audited"

SEVERITIES: tuple[Severity, ...] = tuple(sorted(Severity, key=lambda s: -s.rank))  # worst first
SEVERITY_COLOURS = {Severity.CRITICAL: "#8b1a1a", Severity.HIGH: "#d23f31", Severity.MEDIUM: "#e08a00",
                    Severity.LOW: "#3f7fbf", Severity.INFO: "#7a7a7a"}

# Truncation limits for untrusted text (characters).
EVIDENCE_LIMIT = 4000
TEXT_LIMIT = 2000
SHORT_LIMIT = 300
CELL_LIMIT = 500

# Characters XML 1.0 cannot carry at all (escaping does not help): control characters, lone surrogates.
_XML_ILLEGAL = re.compile("[^\u0009\u000a\u000d\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_RANK_OF_STATUS_FOR_SECTION = {Status.FAIL: 5, Status.ERROR: 4, Status.WARN: 3, Status.PASS: 2, Status.SKIPPED: 1}


def truncate(text: Any, limit: int = TEXT_LIMIT, note: str = "… [truncated, {n} more characters]") -> str:
    """``text`` as a string of at most about ``limit`` characters; a note says how much was cut."""
    text = "" if text is None else str(text)
    if len(text) <= limit:
        return text
    return text[:limit] + note.format(n=len(text) - limit)


def one_line(text: Any, limit: int = SHORT_LIMIT) -> str:
    """Whitespace (newlines included) collapsed to single spaces, then truncated."""
    return truncate(" ".join(str(text or "").split()), limit, note="…")


def xml_safe(text: Any) -> str:
    """Drop characters that make an XML document unparseable (terminal escapes in bodies, NUL...)."""
    return _XML_ILLEGAL.sub("\ufffd", "" if text is None else str(text))


def format_location(location: dict[str, Any] | None) -> str:
    """"GET /books/{id}", "app/main.py:42", a URL, or "key=value, ..." for anything else, on one line."""
    return one_line(location_text(location), SHORT_LIMIT)


def catalogue_link(check_id: str, rule_id: str) -> str:
    """Relative link to a rule's catalogue entry; both parts percent-quoted so no scheme can sneak in."""
    return f"{CATALOGUE_BASE}{quote(str(check_id), safe='')}.md#{quote(str(rule_id).lower(), safe='')}"


def fail_on(report: Report) -> str:
    return str(report.gate.get("fail_on") or "high")


def threshold_for(report: Report, check_id: str) -> str:
    """The fail-on threshold a check was gated with: its own (policy ``fail_on_by_check``) or the run's."""
    own = report.gate.get("fail_on_by_check")
    if isinstance(own, dict) and isinstance(own.get(check_id), str):
        return own[check_id]
    return fail_on(report)


def fails_gate(check: CheckResult, finding: Finding, threshold: str) -> bool:
    """True when this finding is one that made its check fail: the check is "fail" (its status carries
    the policy level: a "warn"-level check never fails) and auditor.gate says the finding gates."""
    if check.status != Status.FAIL:
        return False
    try:
        return gate.fails_gate(finding, threshold)
    except ValueError:  # a saved report with a threshold this version does not know
        return False


def sort_findings(findings: Iterable[Finding]) -> list[Finding]:
    """Worst first; stable, so equal severities keep the check's order."""
    return sorted(findings, key=lambda f: -f.severity.rank)


Pair = tuple[CheckResult, Finding]


def group_by_severity(pairs: Iterable[Pair]) -> list[tuple[Severity, list[Pair]]]:
    """(severity, pairs) worst first, only severities that occur."""
    groups: dict[Severity, list[Pair]] = {}
    for check, finding in pairs:
        groups.setdefault(finding.severity, []).append((check, finding))
    return [(sev, groups[sev]) for sev in SEVERITIES if sev in groups]


def severity_counts(findings: Iterable[Finding]) -> dict[Severity, int]:
    counts = {sev: 0 for sev in SEVERITIES}
    for finding in findings:
        counts[finding.severity] += 1
    return counts


def count_phrase(counts: dict[Severity, int]) -> str:
    """"2 high, 1 low" (worst first), or "no findings"."""
    parts = [f"{n} {sev}" for sev, n in counts.items() if n]
    return ", ".join(parts) or "no findings"


def section_status(checks: Sequence[CheckResult]) -> Status | None:
    """The worst status of a section's checks (fail > error > warn > pass > skipped); None: no check."""
    if not checks:
        return None
    return max((c.status for c in checks), key=lambda s: _RANK_OF_STATUS_FOR_SECTION[s])


def section_ran(checks: Sequence[CheckResult]) -> bool:
    return any(c.status != Status.SKIPPED for c in checks)


def section_headline(checks: Sequence[CheckResult], limit: int = 160) -> str:
    """The headline figure of a section: the summaries of its checks, or "not audited"."""
    if not checks:
        return NOT_AUDITED
    if not section_ran(checks):
        return f"{NOT_AUDITED} (skipped)"
    parts = [one_line(c.summary, limit) for c in checks if c.status != Status.SKIPPED and c.summary]
    return " · ".join(parts) or ", ".join(STATUS_WORDS[c.status] for c in checks)


def skip_reasons(checks: Sequence[CheckResult]) -> list[tuple[str, str]]:
    """(check id, reason) of the skipped checks of a section."""
    return [(c.id, one_line(c.summary, SHORT_LIMIT)) for c in checks if c.status == Status.SKIPPED]


def outline_sections() -> list[tuple[str, str]]:
    """The seven sections a check can feed: (key, heading)."""
    return [(str(key), heading) for key, heading in OUTLINE if key in set(Section)]


def section_heading(section: str) -> str:
    return dict((str(k), h) for k, h in OUTLINE).get(str(section), str(section))


@dataclass
class NextStep:
    rule_id: str
    severity: Severity
    title: str
    remediation: str
    check_id: str
    places: int = 0
    locations: list[str] = field(default_factory=list)
    known: int = 0          # of ``places``, how many are known (in the --baseline report)


def next_steps(report: Report, limit: int = 10) -> tuple[list[NextStep], int]:
    """The remediation of the top unsuppressed findings (known ones included, counted apart), one entry
    per rule id, worst first; and how many further rules were left out by ``limit``."""
    steps: dict[str, NextStep] = {}
    for check, finding in report.findings():
        step = steps.get(finding.rule_id)
        if step is None:
            step = steps[finding.rule_id] = NextStep(finding.rule_id, finding.severity, finding.title,
                                                     finding.remediation, check.id)
        step.places += 1
        step.known += finding.known
        if not step.remediation and finding.remediation:
            step.remediation = finding.remediation
        where = format_location(finding.location)
        if where and where not in step.locations:
            step.locations.append(where)
    ordered = sorted(steps.values(), key=lambda s: -s.severity.rank)
    return ordered[:limit], max(0, len(ordered) - limit)


def format_number(value: Any) -> str:
    """Metric scalars for humans: 84.0 -> "84", 0.012345 -> "0.0123", True -> "yes", None -> "—"."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            return str(value)
        if value == int(value) and abs(value) < 1e15:
            return str(int(value))
        if abs(value) >= 100:
            return f"{value:.1f}"
        return f"{value:.4g}"
    return str(value)


def format_duration(seconds: Any) -> str:
    try:
        seconds = float(seconds)
    except (TypeError, ValueError):
        return "—"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(seconds, 60)
    return f"{int(minutes)} min {rest:.0f} s"


# --- report section 1: the API endpoint inventory ---------------------------------------------------
# Section 1 has no check of its own: it is rendered from the endpoint inventory in the metrics of the
# check named here (metrics "endpoints" and, with --baseline, "changes"; docs/checks/openapi.md), and
# its status from that check's breaking-change findings (rule ids below).
INVENTORY_CHECK = "openapi"
BREAKING_RULE_PREFIX = "OAS5"
INVENTORY_ROW_LIMIT = 2000


@dataclass
class EndpointInventory:
    check: CheckResult
    operations: int
    endpoints: list[dict[str, str]]      # method, path, operation_id, secured — display strings
    baseline: str | None                 # None: no --baseline, so nothing is created/modified/removed
    created: list[dict[str, str]]
    modified: list[dict[str, str]]       # also "changes" (what changed) and "breaking" (count)
    removed: list[dict[str, str]]
    breaking: int
    status: Status
    truncated: int = 0                   # rows left out of ``endpoints`` (over INVENTORY_ROW_LIMIT)

    @property
    def headline(self) -> str:
        count = f"{self.operations} operation{'s' if self.operations != 1 else ''}"
        if self.baseline is None:
            return f"{count} documented (no baseline)"
        text = f"{count}: {len(self.created)} created, {len(self.modified)} modified, {len(self.removed)} removed"
        return text + (f", {self.breaking} breaking change{'s' if self.breaking != 1 else ''}" if self.breaking else "")


def _endpoint_rows(value: Any, extra: tuple[str, ...] = ()) -> list[dict[str, str]]:
    """Rows of untrusted metrics made into display strings; anything malformed is skipped."""
    rows: list[dict[str, str]] = []
    if not isinstance(value, list):
        return rows
    for item in value[:INVENTORY_ROW_LIMIT]:
        if not isinstance(item, dict) or not isinstance(item.get("method"), str) or not isinstance(
                item.get("path"), str):
            continue
        row = {"method": one_line(item["method"].upper(), 12), "path": one_line(item["path"], SHORT_LIMIT),
               "operation_id": one_line(item.get("operation_id") or "", 120)}
        if "secured" in item:
            row["secured"] = format_number(bool(item["secured"]))
        for key in extra:
            raw = item.get(key)
            row[key] = one_line(", ".join(map(str, raw)) if isinstance(raw, list) else format_number(raw), 200)
        rows.append(row)
    return rows


def endpoint_inventory(report: Report) -> EndpointInventory | None:
    """Section 1's content, or None when the inventory check did not run (or left no inventory)."""
    check = next((c for c in report.checks if c.id == INVENTORY_CHECK
                  and c.status not in (Status.SKIPPED, Status.ERROR)), None)
    if check is None or not isinstance(check.metrics.get("endpoints"), list):
        return None
    metrics = check.metrics
    endpoints = _endpoint_rows(metrics["endpoints"])
    operations = metrics.get("operations")
    count = operations if isinstance(operations, int) and not isinstance(operations, bool) else len(endpoints)
    changes = metrics.get("changes") if isinstance(metrics.get("changes"), dict) else None
    threshold = threshold_for(report, check.id)
    breaking_findings = [f for f in check.findings if f.rule_id.startswith(BREAKING_RULE_PREFIX) and not f.suppressed]
    # A breaking change already in the --baseline report is shown but, like in the gate, fails nothing.
    if any(threshold != "never" and not f.known and f.severity.rank >= Severity(threshold).rank
           for f in breaking_findings):
        status = Status.FAIL
    elif breaking_findings:
        status = Status.WARN
    else:
        status = Status.PASS
    breaking = changes.get("breaking_changes") if changes else 0
    return EndpointInventory(
        check=check, operations=count, endpoints=endpoints,
        baseline=one_line(changes.get("baseline") or "baseline", SHORT_LIMIT) if changes is not None else None,
        created=_endpoint_rows(changes.get("created")) if changes else [],
        modified=_endpoint_rows(changes.get("modified"), ("changes", "breaking")) if changes else [],
        removed=_endpoint_rows(changes.get("removed")) if changes else [],
        breaking=breaking if isinstance(breaking, int) and not isinstance(breaking, bool) else len(breaking_findings),
        status=status, truncated=max(0, len(metrics["endpoints"]) - INVENTORY_ROW_LIMIT))
