"""junit.xml: one <testsuite> per check, one <testcase> per rule id seen in it, so CI test tabs show
what failed the gate.

- a rule with unsuppressed findings at or above the gate (in a failed check) -> <failure> listing them;
- below the gate, suppressed or in a warn check -> the testcase passes, the findings go to <system-out>;
- check status error -> one testcase with <error>; skipped -> one testcase with <skipped>;
- no findings -> one passing testcase named after the check.

Built with xml.etree.ElementTree (escaping handled); characters XML cannot carry are replaced first.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import ClassVar

from auditor.model import CheckResult, Finding, Report, Status
from reports.common import (EVIDENCE_LIMIT, SHORT_LIMIT, fail_on, fails_gate, format_location, one_line,
                            sort_findings, truncate, xml_safe)

EVIDENCE_IN_JUNIT = 1000  # evidence characters per finding; the full text is in report.json / report.html


def _finding_text(finding: Finding) -> str:
    lines = [f"[{finding.severity}] {finding.rule_id} {one_line(finding.title)}"
             + (" (suppressed)" if finding.suppressed else "")]
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
        threshold = fail_on(report)
        root = ET.Element("testsuites")
        totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
        for check in report.checks:
            suite = self._suite(check, threshold)
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
                if others:
                    ET.SubElement(element, "system-out").text = xml_safe(
                        "below the gate, suppressed or not gating:\n\n" + "\n\n".join(_finding_text(f) for f in others))
        return _set(suite, **counts)
