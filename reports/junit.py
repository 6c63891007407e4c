"""junit.xml: one <testsuite> per check, one <testcase> per rule id seen in it, so CI test tabs show
what failed the gate.

- a rule with new, unsuppressed findings at or above the gate (in a failed check) -> <failure> listing them;
- known findings (in the --baseline report), findings below the gate or in a warn check -> the testcase
  passes, the findings go to <system-out>, each tagged "(known: in the baseline)" etc.;
- a rule whose findings are all suppressed -> <skipped> with the suppression's reason (accepted, not
  judged: CI test tabs count it apart instead of showing a silent pass), the findings in <system-out>;
- check status error -> one testcase with <error>; skipped -> one testcase with <skipped>;
- no findings -> one passing testcase named after the check.
- each testsuite with known or suppressed findings has <properties> "known" and "suppressed" (counts).

Built with xml.etree.ElementTree (escaping handled); characters XML cannot carry are replaced first.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import ClassVar

from auditor.model import CheckResult, Finding, Report, Status
from reports.common import (EVIDENCE_LIMIT, SHORT_LIMIT, fails_gate, format_location, one_line, sort_findings,
                            threshold_for, truncate, xml_safe)
from reports.gate_view import suppression_note

EVIDENCE_IN_JUNIT = 1000  # evidence characters per finding; the full text is in report.json / report.html


def _finding_text(finding: Finding) -> str:
    lines = [f"[{finding.severity}] {finding.rule_id} {one_line(finding.title)}"
             + (" (known: in the baseline)" if finding.known else "")
             + (" (suppressed)" if finding.suppressed else "")]
    note = suppression_note(finding)
    if note is not None:
        lines.append(f"  suppressed: {note.text}")
    where = format_location(finding.location)
    if where:
        lines.append(f"  at {where}")
    if finding.message:
        lines.append(f"  {truncate(finding.message)}")
    if finding.evidence:
        lines.append("  evidence: " + truncate(finding.evidence, min(EVIDENCE_IN_JUNIT, EVIDENCE_LIMIT)))
    if finding.remediation:
        lines.append(f"  fix: {truncate(finding.remediation)}")
    return "\n".join(lines)


def _set(element: ET.Element, **attrs: object) -> ET.Element:
    for key, value in attrs.items():
        element.set(key, xml_safe(value))
    return element


class JunitRenderer:
    format: ClassVar[str] = "junit"
    filename: ClassVar[str] = "junit.xml"

    def render(self, report: Report) -> str:
        root = ET.Element("testsuites")
        totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
        for check in report.checks:
            suite = self._suite(check, threshold_for(report, check.id))
            root.append(suite)
            for key in totals:
                totals[key] += int(suite.get(key, "0"))
        _set(root, name=report.tool.get("name", "backend-auditor"), time=f"{report.duration_s:.3f}", **totals)
        ET.indent(root)
        return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"

    def _suite(self, check: CheckResult, threshold: str) -> ET.Element:
        suite = _set(ET.Element("testsuite"), name=check.id, time=f"{check.duration_s:.3f}")
        counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}

        def case(name: str) -> ET.Element:
            counts["tests"] += 1
            element = _set(ET.SubElement(suite, "testcase"), classname=check.id, name=name)
            return element

        summary = one_line(check.summary, SHORT_LIMIT) or str(check.status)
        if check.status == Status.ERROR:
            element = case(check.id)
            element.set("time", f"{check.duration_s:.3f}")
            _set(ET.SubElement(element, "error"), message=summary, type="error").text = xml_safe(check.summary)
            counts["errors"] += 1
        elif check.status == Status.SKIPPED:
            _set(ET.SubElement(case(check.id), "skipped"), message=summary)
            counts["skipped"] += 1
        elif not check.findings:
            element = case(check.id)
            if check.status == Status.WARN or check.summary:
                ET.SubElement(element, "system-out").text = xml_safe(f"{check.status}: {check.summary}")
        else:
            by_rule: dict[str, list[Finding]] = {}
            for finding in sort_findings(check.findings):
                by_rule.setdefault(finding.rule_id, []).append(finding)
            for rule_id, findings in by_rule.items():
                element = case(f"{rule_id} {one_line(findings[0].title, 200)}")
                failing = [f for f in findings if fails_gate(check, f, threshold)]
                others = [f for f in findings if not fails_gate(check, f, threshold)]
                if failing:
                    worst = failing[0].severity
                    _set(ET.SubElement(element, "failure"), type=str(worst),
                         message=f"{len(failing)} {'finding' if len(failing) == 1 else 'findings'} at or above "
                                 f"{threshold}: {one_line(failing[0].title, 200)}"
                         ).text = xml_safe("\n\n".join(_finding_text(f) for f in failing))
                    counts["failures"] += 1
                if not failing and all(f.suppressed for f in findings):
                    _set(ET.SubElement(element, "skipped"), message=_accepted(findings))
                    counts["skipped"] += 1
                if others:
                    ET.SubElement(element, "system-out").text = xml_safe(
                        "below the gate, known, suppressed or not gating:\n\n"
                        + "\n\n".join(_finding_text(f) for f in others))
        _properties(suite, check)
        return _set(suite, **counts)


def _accepted(findings: list[Finding]) -> str:
    """The <skipped> message of a rule whose findings are all suppressed: the first one's reason."""
    note = suppression_note(findings[0])
    reason = note.text if note is not None else "suppressed"
    count = f"{len(findings)} findings" if len(findings) > 1 else "1 finding"
    return one_line(f"{count} suppressed: {reason}", SHORT_LIMIT)


def _properties(suite: ET.Element, check: CheckResult) -> None:
    """Counts of known and suppressed findings, first in the testsuite (as the JUnit schema orders it)."""
    known = sum(1 for f in check.findings if f.known)
    suppressed = sum(1 for f in check.findings if f.suppressed)
    if not (known or suppressed):
        return
    properties = ET.Element("properties")
    for name, value in (("known", known), ("suppressed", suppressed)):
        _set(ET.SubElement(properties, "property"), name=name, value=value)
    suite.insert(0, properties)
