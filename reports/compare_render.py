"""compare.md and compare.html for `audit compare` (auditor.compare.Comparison).

Markdown: GitHub-flavoured, short tables, fit for a PR comment; every target-derived string goes through
reports.markdown.md_escape and the document stays under its MAX_BYTES. HTML: one self-contained page
(inline CSS, no script, no external request, a CSP that forbids both), jinja2 autoescape on, sharing the
readiness report's stylesheet.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from reports.common import VERDICT_EMOJI, VERDICT_WORDS, format_location, one_line
from reports.html import make_environment
from reports.markdown import MAX_BYTES, SEVERITY_EMOJI, md_escape

if TYPE_CHECKING:
    from auditor.compare import Comparison, FindingDiff
    from auditor.regressions import MetricChange

MD_ROWS = 30     # rows per Markdown table before "… and N more"
HTML_ROWS = 500  # rows per HTML table; the rest are counted


def render_markdown(result: Comparison) -> str:
    icon = "❌" if result.exit_code else "✅"
    lines = [
        f"## {icon} Audit compare: {md_escape(result.headline(), 200)}",
        "",
        f"{md_escape(result.old_label, 120)} → {md_escape(result.new_label, 120)} · verdict "
        f"{VERDICT_EMOJI[result.old.verdict]} {VERDICT_WORDS[result.old.verdict]} → "
        f"{VERDICT_EMOJI[result.new.verdict]} {VERDICT_WORDS[result.new.verdict]} · gate on "
        f"{result.fail_on} or worse",
        "",
        "| | count |",
        "|---|---|",
        f"| new findings | {len(result.new_findings)} ({len(result.gating)} failing) |",
        f"| fixed findings | {len(result.fixed)} |",
        f"| unchanged findings | {len(result.unchanged)} |",
    ]
    if result.not_rechecked:
        lines.append(f"| not re-checked (check skipped or errored) | {len(result.not_rechecked)} |")
    lines += [f"| regressed metrics | {len(result.regressed)} |", f"| improved metrics | {len(result.improved)} |"]
    body: list[str] = []
    body += _md_findings("New findings", result.new_findings, show_gate=True)
    body += _md_findings("Fixed findings", result.fixed)
    body += _md_metrics("Regressed metrics", result.regressed)
    body += _md_metrics("Improved metrics", result.improved)
    if result.statuses:
        body += ["", "### Check status changes", "", "| check | before | after |", "|---|---|---|"]
        body += [f"| {md_escape(s.check, 60)} | {s.old or 'absent'} | {s.new or 'absent'} |" for s in result.statuses]
    return _fit(lines, body) + "\n"


def _md_findings(heading: str, diffs: list[FindingDiff], *, show_gate: bool = False) -> list[str]:
    if not diffs:
        return []
    lines = ["", f"### {heading}", "", "| severity | rule | check | title | location | |", "|---|---|---|---|---|---|"]
    for diff in diffs[:MD_ROWS]:
        f = diff.finding
        flags = ["suppressed"] if f.suppressed else []
        if show_gate and diff.gating:
            flags.append("**fails the gate**")
        lines.append(f"| {SEVERITY_EMOJI.get(str(f.severity), '')} {f.severity} | {md_escape(f.rule_id, 20)} | "
                     f"{md_escape(diff.check, 40)} | {md_escape(f.title, 120)} | {md_escape(_where(diff), 120)} | "
                     f"{', '.join(flags)} |")
    if len(diffs) > MD_ROWS:
        lines.append(f"| | | | … and {len(diffs) - MD_ROWS} more | | |")
    return lines


def _md_metrics(heading: str, changes: list[MetricChange]) -> list[str]:
    if not changes:
        return []
    lines = ["", f"### {heading}", "", "| check | metric | change | band |", "|---|---|---|---|"]
    for change in changes[:MD_ROWS]:
        lines.append(f"| {change.check} | {md_escape(change.label, 160)} | {change.describe()} | "
                     f"{change.limit} |")
    if len(changes) > MD_ROWS:
        lines.append(f"| | … and {len(changes) - MD_ROWS} more | | |")
    return lines


def _fit(head: list[str], body: list[str]) -> str:
    budget = MAX_BYTES - len("\n".join(head).encode()) - 200
    kept: list[str] = []
    for index, line in enumerate(body):
        budget -= len(line.encode()) + 1
        if budget < 0:
            kept += ["", f"_… truncated: {len(body) - index} more lines; see compare.html._"]
            break
        kept.append(line)
    return "\n".join(head + kept)


def _where(diff: FindingDiff) -> str:
    return format_location(diff.finding.location)


def render_html(result: Comparison) -> str:
    template = make_environment().get_template("compare.html.j2")
    return template.render(**_view(result))


def _view(result: Comparison) -> dict[str, Any]:
    def rows(diffs: list[FindingDiff]) -> dict[str, Any]:
        return {"rows": [{"severity": str(d.finding.severity), "rule_id": d.finding.rule_id, "check": d.check,
                          "title": one_line(d.finding.title, 300), "where": _where(d),
                          "suppressed": d.finding.suppressed, "gating": d.gating} for d in diffs[:HTML_ROWS]],
                "more": max(0, len(diffs) - HTML_ROWS)}

    def metric_rows(changes: list[MetricChange]) -> list[dict[str, str]]:
        return [{"check": c.check, "label": c.label, "change": c.describe(), "limit": c.limit} for c in changes]

    return {
        "result": result, "failed": bool(result.exit_code), "headline": result.headline(),
        "old_label": one_line(result.old_label, 300), "new_label": one_line(result.new_label, 300),
        "old_verdict": VERDICT_WORDS[result.old.verdict], "new_verdict": VERDICT_WORDS[result.new.verdict],
        "old_started": one_line(result.old.started_at, 60), "new_started": one_line(result.new.started_at, 60),
        "groups": [("New findings", "new", rows(result.new_findings)), ("Fixed findings", "fixed", rows(result.fixed)),
                   ("Not re-checked (the check was skipped or errored in the new report)", "not-rechecked",
                    rows(result.not_rechecked)),
                   ("Unchanged findings", "unchanged", rows(result.unchanged))],
        "regressed": metric_rows(result.regressed), "improved": metric_rows(result.improved),
        "statuses": result.statuses,
    }
