"""The reviewer's minute: what every format leads with, decided once here from the Report (pure).

- ``headline(check)``: one figure per check ("coverage 91.2 %", "p95 109 ms of 100", "3 secrets",
  "completeness 63.5 %"), from the metric keys of the contract; a plugin check may give its own as
  ``metrics["headline"]``; else the first clause of its summary.
- ``why(report)``: the verdict in one sentence and the findings that decided it — those that fail the
  gate (new, unsuppressed, at or above the threshold; metric regressions are LAT900-style findings),
  grouped by root cause, worst first, then by how many places they affect — or, for a READY report,
  what was verified and what was not.
- ``groups(pairs)``: findings grouped the way people fix them: one item per root cause (same check, rule,
  title and remedy) with every place it affects, so a missing description on 25 operations is one item.
- ``not_verified(report)``: states that are not failures ("not audited offline", "not verified on
  SQLite", "inconclusive"), each with the one action that resolves it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from auditor.model import VERDICT_WORDS, CheckResult, Finding, Report, Severity, Status, Verdict
from reports.common import fails_gate, format_location, format_number, one_line, threshold_for

WHY_LIMIT = 10            # findings listed under the verdict; the rest are counted
HEADLINE_LIMIT = 60
DETAIL_LIMIT = 110


# -- headline figures -------------------------------------------------------------------------------------

def _num(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _count(check: CheckResult, prefix: str, *rules: str) -> int:
    return sum(1 for f in check.findings if not f.suppressed and (f.rule_id in rules or (not rules and
                                                                                          f.rule_id.startswith(prefix))))


def _health(check: CheckResult) -> str | None:
    m = check.metrics
    if not any(k in m for k in ("liveness_path", "readiness_path", "metrics_path")):
        return None
    marks = [f"{name} {'✓' if m.get(key) else '✗'}" for name, key in
             (("live", "liveness_path"), ("ready", "readiness_path"), ("metrics", "metrics_path"))]
    return " · ".join(marks)


def _openapi(check: CheckResult) -> str | None:
    percent = _num(check.metrics.get("completeness_percent"))
    return f"completeness {format_number(round(percent, 1))} %" if percent is not None else None


def _latency(check: CheckResult) -> str | None:
    p95, budget = _num(check.metrics.get("p95_ms")), _num(check.metrics.get("p95_budget_ms"))
    if p95 is None:
        return None
    shown = round(p95) if p95 >= 10 else round(p95, 1)
    text = f"p95 {format_number(shown)} ms" + (f" of {format_number(budget)}" if budget else "")
    if check.metrics.get("insufficient_data"):
        return text + " (insufficient data)"
    return text + (" (inconclusive)" if check.metrics.get("inconclusive") else "")


def _nplusone(check: CheckResult) -> str | None:
    found = _count(check, "", "NPQ001")
    profiled = check.metrics.get("requests_profiled")
    if found:
        return f"{found} potential N+1"
    return f"no N+1 in {profiled} requests" if isinstance(profiled, int) else None


def _security(check: CheckResult) -> str | None:
    m = check.metrics
    parts = []
    # A secret is one the check stands by (medium or worse): the placeholders in tests and docs it reports
    # low or info are "possible", as its summary says ("0 committed secrets (137 lower-severity ...)").
    found = [f for f in check.findings if not f.suppressed and f.rule_id in ("SEC010", "SEC011", "SEC012", "SEC013")]
    secrets = sum(1 for f in found if f.severity.rank >= Severity.MEDIUM.rank)
    if secrets:
        parts.append(f"{secrets} secret{'s' if secrets != 1 else ''}")
    elif found:
        parts.append(f"{len(found)} low-severity possible secret{'s' if len(found) != 1 else ''}")
    bandit = _count(check, "", "SEC001")
    if bandit:
        parts.append(f"{bandit} code issue{'s' if bandit != 1 else ''}")
    service = sum(1 for f in check.findings if not f.suppressed and f.rule_id[:4] in ("SEC2", "SEC3", "SEC4", "SEC5")
                  and f.severity.rank >= Severity.MEDIUM.rank)
    if service:
        parts.append(f"{service} service issue{'s' if service != 1 else ''}")
    if parts:
        return " · ".join(parts)
    return "no issues" if "secrets_found" in m or "requests" in m else None


def _dependencies(check: CheckResult) -> str | None:
    m = check.metrics
    packages, audited = m.get("packages"), m.get("audited")
    if not isinstance(packages, int):
        return None
    if audited == 0 and packages:
        return f"{packages} packages not audited"
    vulnerable = m.get("vulnerable") or 0
    return f"{vulnerable} of {packages} packages vulnerable" if vulnerable else f"{packages} packages, none vulnerable"


def _coverage(check: CheckResult) -> str | None:
    percent = _num(check.metrics.get("percent_covered"))
    return f"coverage {percent:.1f} %" if percent is not None else None


def _migrations(check: CheckResult) -> str | None:
    count = check.metrics.get("migrations")
    if not isinstance(count, int):
        return None
    scratch = check.metrics.get("scratch")
    result = scratch[0].get("result", "") if isinstance(scratch, list) and scratch and isinstance(scratch[0], dict) else ""
    first = str(result).split(";")[0].strip()
    return f"{count} migration{'s' if count != 1 else ''}" + (f", {first}" if first else "")


def _deployment(check: CheckResult) -> str | None:
    m = check.metrics
    parts = [m.get(k) for k in ("items_passed", "items_warned", "items_failed", "items_not_checked")]
    if not all(isinstance(p, int) for p in parts):
        return None
    return f"{parts[0]} of {sum(parts)} deployment items pass"


HEADLINES: dict[str, Callable[[CheckResult], str | None]] = {
    "health": _health, "openapi": _openapi, "latency": _latency, "nplusone": _nplusone, "security": _security,
    "dependencies": _dependencies, "coverage": _coverage, "migrations": _migrations, "deployment": _deployment,
}


def headline(check: CheckResult) -> str:
    """The check's one figure; "skipped"/"could not finish" when it measured nothing."""
    if check.status == Status.SKIPPED:
        return "skipped"
    if check.status == Status.ERROR:
        return "could not finish"
    own = check.metrics.get("headline")
    text = own if isinstance(own, str) and own.strip() else None
    if text is None and check.id in HEADLINES:
        try:
            text = HEADLINES[check.id](check)
        except (TypeError, ValueError, KeyError, AttributeError):  # a saved report of another version
            text = None
    if text is None:
        text = (check.summary or "").split(";")[0]
    return one_line(text, HEADLINE_LIMIT)


def figures(report: Report, limit: int = 12) -> list[str]:
    """One figure per check that measured something, in report order, at most ``limit`` (then a count)."""
    measured = [c for c in report.checks if c.status not in (Status.SKIPPED, Status.ERROR)]
    out = [headline(c) for c in measured[:limit]]
    if len(measured) > limit:
        out.append(f"… {len(measured) - limit} more checks")
    return out


def first_sentence(text: str) -> str:
    """Up to the first '.', ';' or ':' that ends a clause (followed by a space or the end) — not one inside
    `code` (an SQL fingerprint's `SELECT ... FROM`) nor an ellipsis."""
    in_code = False
    for i, char in enumerate(text):
        if char == "`":
            in_code = not in_code
        elif (char in ".;:" and not in_code and (i + 1 == len(text) or text[i + 1].isspace())
              and not (char == "." and i > 0 and text[i - 1] == ".")):
            return text[:i + 1]
    return text


# -- groups -----------------------------------------------------------------------------------------------

Pair = tuple[CheckResult, Finding]


@dataclass
class Group:
    """One root cause: findings of one check with the same rule, title and remedy."""

    check: CheckResult
    findings: list[Finding] = field(default_factory=list)
    anchor: str = ""

    @property
    def first(self) -> Finding:
        return self.findings[0]

    @property
    def severity(self) -> Severity:
        return max((f.severity for f in self.findings), key=lambda s: s.rank)

    @property
    def places(self) -> int:
        return len(self.findings)

    @property
    def locations(self) -> list[str]:
        return list(dict.fromkeys(w for w in (format_location(f.location) for f in self.findings) if w))

    @property
    def where(self) -> str:
        places = self.locations
        if not places:
            return f"check {self.check.id}"
        return places[0] + (f" and {len(places) - 1} more" if len(places) > 1 else "")

    @property
    def detail(self) -> str:
        """One key figure or fact: the first sentence of the finding's message, after the place it opens
        with — "GET /books: Server error — answered 500; ..." or "Potential N+1 at GET /books: `SELECT ...`
        ran 20 times ..." would otherwise give the list line its place twice and no fact."""
        message = " ".join((self.first.message or "").split())
        head, colon, rest = message.partition(": ")
        where = format_location(self.first.location)
        if colon and rest and where and head.endswith(where):
            message = rest
        return one_line(first_sentence(message).rstrip(";:,"), DETAIL_LIMIT)

    @property
    def known(self) -> int:
        return sum(1 for f in self.findings if f.known)


def _root_cause(check: CheckResult, finding: Finding) -> tuple[str, str, str, str]:
    return (check.id, finding.rule_id, finding.title, finding.remediation or "")


def groups(pairs: Iterable[Pair]) -> list[Group]:
    """Groups worst first (severity), then by how many places they affect, then in report order. Anchors
    (``g1``, ``g2``...) follow that order, so every format links the same way."""
    by_cause: dict[tuple[str, str, str, str], Group] = {}
    for check, finding in pairs:
        group = by_cause.setdefault(_root_cause(check, finding), Group(check))
        group.findings.append(finding)
    ordered = sorted(by_cause.values(), key=lambda g: (-g.severity.rank, -g.places))
    for number, group in enumerate(ordered, start=1):
        group.anchor = f"g{number}"
    return ordered


# -- not verified -----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Unverified:
    check_id: str
    what: str        # "dependencies not audited offline"
    action: str      # "give --vuln-db DIR (an OSV database)"


def not_verified(report: Report) -> list[Unverified]:
    """What the audit could not verify, from skipped checks, a check's own ``metrics["not_verified"]``
    ([{"what", "action"}]) and the built-in checks' known states; never a finding, never a failure."""
    out: list[Unverified] = []
    for check in report.checks:
        own = check.metrics.get("not_verified")
        if isinstance(own, list):
            out += [Unverified(check.id, one_line(item.get("what", ""), 200), one_line(item.get("action", ""), 200))
                    for item in own if isinstance(item, dict) and item.get("what")]
            continue
        if check.status == Status.SKIPPED:
            out.append(Unverified(check.id, f"{check.id} not run", one_line(check.summary, 200)))
        elif check.id == "dependencies" and any(f.rule_id == "DEP020" and not f.suppressed for f in check.findings):
            out.append(Unverified(check.id, "dependencies not audited offline",
                                  "give --vuln-db DIR (an OSV database), or run with network access"))
        elif check.id == "latency" and check.metrics.get("insufficient_data"):
            endpoints = check.metrics["insufficient_data"]
            count = len(endpoints) if isinstance(endpoints, list) else 1
            out.append(Unverified(check.id, f"latency inconclusive on {count} endpoint{'s' if count != 1 else ''}: "
                                            "too few samples", "raise --load-duration or check fewer endpoints"))
        elif check.metrics.get("verified") is False:
            out.append(Unverified(check.id, f"{check.id} verified nothing", one_line(check.summary, 200)))
    return out


# -- why (not) ready --------------------------------------------------------------------------------------

@dataclass
class Why:
    sentence: str
    gating: list[Group] = field(default_factory=list)    # at most WHY_LIMIT
    more: int = 0                                        # gating groups left out
    errored: list[CheckResult] = field(default_factory=list)
    verified: list[str] = field(default_factory=list)    # READY: the checks that verified something
    unverified: list[Unverified] = field(default_factory=list)


def gating_pairs(report: Report) -> list[Pair]:
    return [(c, f) for c, f in report.findings() if fails_gate(c, f, threshold_for(report, c.id))]


def why(report: Report, all_groups: list[Group] | None = None) -> Why:
    """The verdict in one sentence and what decided it. ``all_groups`` (the report's grouped unsuppressed
    findings) lends its anchors to the gating groups, so links land on the same cards."""
    word = VERDICT_WORDS[report.verdict]
    unverified = not_verified(report)
    errored = [c for c in report.checks if c.status == Status.ERROR]
    gating = groups(gating_pairs(report))
    if all_groups is not None:
        anchors = {_root_cause(g.check, g.first): g.anchor for g in all_groups}
        for group in gating:
            group.anchor = anchors.get(_root_cause(group.check, group.first), group.anchor)
    result = Why(sentence="", gating=gating[:WHY_LIMIT], more=max(0, len(gating) - WHY_LIMIT), errored=errored,
                 unverified=unverified)
    if report.verdict == Verdict.ERROR:
        if errored:
            names = ", ".join(c.id for c in errored)
            result.sentence = (f"{word}: {len(errored)} check{'s' if len(errored) != 1 else ''} could not finish "
                               f"({names}), so the audit cannot be trusted.")
        else:
            result.sentence = f"{word}: no check could verify anything."
        if gating:
            result.sentence += f" Also {_findings_phrase(gating)} fail the gate."
    elif report.verdict == Verdict.FAIL:
        checks = sorted({g.check.id for g in gating}, key=[c.id for c in report.checks].index)
        result.sentence = (f"{word}: {_findings_phrase(gating)} at or above the gate's threshold fail it, in "
                           f"{', '.join(checks)}." if gating else f"{word}: a check failed (see below).")
    else:
        result.verified = [c.id for c in report.checks if c.status in (Status.PASS, Status.WARN)
                           and c.metrics.get("verified", True) is not False]
        result.sentence = (f"{word}: nothing fails the gate; verified by {len(result.verified)} "
                           f"check{'s' if len(result.verified) != 1 else ''}"
                           + (f", {len(unverified)} thing{'s' if len(unverified) != 1 else ''} not verified."
                              if unverified else ", nothing left unverified."))
    return result


def _findings_phrase(gating: list[Group]) -> str:
    findings = sum(g.places for g in gating)
    causes = len(gating)
    text = f"{findings} finding{'s' if findings != 1 else ''}"
    if causes != findings:
        text += f" ({causes} cause{'s' if causes != 1 else ''})"
    return text
