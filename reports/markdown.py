"""report.md: a short GitHub-flavoured Markdown summary for a PR comment or $GITHUB_STEP_SUMMARY.

Verdict line, one table row per check, the worst findings, a pointer to report.html. Every piece of
target-derived text goes through ``md_escape`` (no raw HTML, no pipes breaking tables, no code spans,
no links, no @-mentions), and the whole document stays under ``MAX_BYTES`` (GitHub caps step summaries
at 1 MiB and comments at 65536 characters)."""

from __future__ import annotations

import re
from typing import ClassVar

from auditor.model import Report
from reports.common import (STATUS_EMOJI, STATUS_WORDS, VERDICT_EMOJI, VERDICT_WORDS, count_phrase,
                            endpoint_inventory, fail_on, format_duration, format_location, one_line,
                            section_heading, severity_counts)

MAX_BYTES = 60_000
TOP_FINDINGS = 15
ENDPOINTS_LISTED = 20  # created/modified/removed operations listed per kind
SEVERITY_EMOJI = {"critical": "🟥", "high": "🔴", "medium": "🟠", "low": "🔵", "info": "⚪"}

# Markdown punctuation that can open or close inline markup, code spans, links or table cells; escaped
# with a backslash. (Block markers such as "#" or "-" only matter at a line start, where escaped text
# never is: it always follows a fixed prefix.)
_MD_SPECIAL = re.compile(r"([\\`*_\[\]|~])")


def md_escape(text: object, limit: int = 200) -> str:
    """One line of untrusted text made inert in GitHub Markdown, tables included: HTML-special characters
    become entities, Markdown punctuation is backslash-escaped, @ cannot mention anyone."""
    text = one_line(text, limit)
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    text = _MD_SPECIAL.sub(r"\\\1", text)
    return text.replace("@", "&#64;").replace("://", "&#58;//")  # no mention, no autolinked URL


class MarkdownRenderer:
    format: ClassVar[str] = "md"
    filename: ClassVar[str] = "report.md"

    def render(self, report: Report) -> str:
        head = self._head(report)
        tail = ["", "Full report with evidence and remediation: **report.html** (next to this file in the "
                "audit output directory or CI artifact). Data: report.json.", ""]
        body = self._checks(report) + self._endpoints(report) + self._findings(report)
        return _fit(head, body, tail)

    @staticmethod
    def _head(report: Report) -> list[str]:
        threshold = fail_on(report)
        exit_code = report.gate.get("exit_code")
        target = report.target.get("url") or report.target.get("repo") or "unnamed target"
        findings = [f for _, f in report.findings()]
        suppressed = sum(1 for _, f in report.findings(include_suppressed=True) if f.suppressed)
        gate = "never fails on findings" if threshold == "never" else f"fails on {threshold} or worse"
        return [
            f"## {VERDICT_EMOJI[report.verdict]} {VERDICT_WORDS[report.verdict]} — production readiness of "
            f"{md_escape(target, 120)}",
            "",
            f"**Verdict: {report.verdict}** · exit code {exit_code if exit_code is not None else '—'} · gate "
            f"{gate} · {count_phrase(severity_counts(findings))}"
            + (f" ({suppressed} suppressed)" if suppressed else ""),
            "",
            f"{md_escape(report.started_at, 40)} · {format_duration(report.duration_s)} · "
            f"{md_escape(report.tool.get('name', ''), 40)} {md_escape(report.tool.get('version', ''), 30)}",
        ]

    @staticmethod
    def _checks(report: Report) -> list[str]:
        lines = ["", "| Check | Section | Status | Summary | Findings |", "|---|---|---|---|---|"]
        for check in report.checks:
            open_ = sum(1 for f in check.findings if not f.suppressed)
            hidden = len(check.findings) - open_
            count = f"{open_}" + (f" (+{hidden} suppressed)" if hidden else "")
            lines.append(f"| {md_escape(check.id, 40)} | {section_heading(check.section)} | "
                         f"{STATUS_EMOJI[check.status]} {STATUS_WORDS[check.status]} | "
                         f"{md_escape(check.summary, 200)} | {count} |")
        if not report.checks:
            lines.append("| — | — | — | no check ran | 0 |")
        return lines

    @staticmethod
    def _endpoints(report: Report) -> list[str]:
        """Report section 1 in brief: the counts, then the created/modified/removed operations."""
        inventory = endpoint_inventory(report)
        if inventory is None:
            return []
        lines = ["", "### API endpoints", "", md_escape(inventory.headline, 200)]
        if inventory.baseline is None:
            return lines + ["", "No baseline: pass --baseline (a previous report.json or an older spec) to list "
                            "created, modified and removed operations."]
        for label, rows in (("Created", inventory.created), ("Modified", inventory.modified),
                            ("Removed", inventory.removed)):
            if not rows:
                continue
            lines += ["", f"**{label}** ({len(rows)})", ""]
            for row in rows[:ENDPOINTS_LISTED]:
                extra = f" — {md_escape(row['changes'], 80)}" if row.get("changes") else ""
                lines.append(f"- {md_escape(row['method'], 12)} {md_escape(row['path'], 150)}{extra}")
            if len(rows) > ENDPOINTS_LISTED:
                lines.append(f"- … {len(rows) - ENDPOINTS_LISTED} more in report.html")
        return lines

    @staticmethod
    def _findings(report: Report) -> list[str]:
        pairs = report.findings()
        if not pairs:
            return ["", "No unsuppressed findings."]
        shown = pairs[:TOP_FINDINGS]
        title = f"### Top findings ({len(shown)} of {len(pairs)}, worst first)" if len(pairs) > len(shown) \
            else f"### Findings ({len(pairs)}, worst first)"
        lines = ["", title, "", "| Severity | Rule | Title | Location |", "|---|---|---|---|"]
        for check, finding in shown:
            sev = str(finding.severity)
            lines.append(f"| {SEVERITY_EMOJI[sev]} {sev} | {md_escape(finding.rule_id, 20)} | "
                         f"{md_escape(finding.title, 150)} | {md_escape(format_location(finding.location), 120)} |")
        return lines


def _fit(head: list[str], body: list[str], tail: list[str]) -> str:
    """Head and tail always; body lines while they fit in MAX_BYTES, then a note of what was left out."""
    budget = MAX_BYTES - len("\n".join(head + tail).encode()) - 200
    kept: list[str] = []
    used = 0
    for index, line in enumerate(body):
        size = len(line.encode()) + 1
        if used + size > budget:
            kept += ["", f"_… truncated: {len(body) - index} more lines; see report.html._"]
            break
        kept.append(line)
        used += size
    return "\n".join(head + kept + tail)
