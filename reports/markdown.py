"""report.md: GitHub-flavoured Markdown for a sticky PR comment and $GITHUB_STEP_SUMMARY.

The first line is the hidden marker ``<!-- backend-auditor:report -->``, so a sticky-comment action finds
the comment it wrote last time and updates it. Then the verdict line, the gate's policy and baseline,
warnings (metric regressions, expired ignore-file entries), a compact table of checks, the NEW findings
first, the regressions and the ignore file's expired and unused entries; known (in the baseline),
suppressed and fixed findings are counted in a collapsible <details> that lists the first of them.
Nothing is hidden: what does not fit is counted ("… and N more") and is in report.html.

Every piece of target-derived text goes through ``md_escape`` (no raw HTML, no pipes breaking tables,
no code spans, no links, no @-mentions or #-references). The document stays under ``MAX_BYTES`` bytes,
so under GitHub's 65,536-character comment limit (step summaries are capped at 1 MiB): every list is
capped by count, and ``_fit`` shortens the blocks by priority should long texts still not fit.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar

from auditor.model import CheckResult, Finding, Report
from reports.common import (STATUS_EMOJI, STATUS_WORDS, VERDICT_EMOJI, VERDICT_WORDS, count_phrase,
                            endpoint_inventory, fail_on, format_duration, format_location, one_line,
                            severity_counts)
from reports.gate_view import GateView, gate_view, has_baseline, suppression_note
from reports import digest

if TYPE_CHECKING:
    from auditor.compare import Comparison

MARKER = "<!-- backend-auditor:report -->"
MAX_BYTES = 60_000
TOP_FINDINGS = 15        # new (or, without a baseline, unsuppressed) findings listed
LIST_LIMIT = 10          # rows of each secondary list: known, suppressed, fixed, regressions, entries
CHECK_ROWS = 50          # rows of the checks table
HEADLINE_CHECKS = 12     # checks whose headline figure leads the document
ENDPOINTS_LISTED = 20    # created/modified/removed operations listed per kind
SEVERITY_EMOJI = {"critical": "🟥", "high": "🔴", "medium": "🟠", "low": "🔵", "info": "⚪"}

# Markdown punctuation that can open or close inline markup, code spans, links or table cells; escaped
# with a backslash.
_MD_SPECIAL = re.compile(r"([\\`*_\[\]|~])")
# Block markers, which only matter at the start of a line (escaped text may start a list item's text):
# an ATX heading, a bullet or ordered list item, a setext underline or thematic break.
_LINE_START = re.compile(r"^(?:#{1,6}|[-+]|\d{1,9}[.)])(?:\s|$)|^[-=\s]+$")
WORD_JOINER = "\u2060"   # invisible; breaks "@name" and "#123" for GitHub's reference filters


def md_escape(text: object, limit: int = 200) -> str:
    """One line of untrusted text made inert in GitHub Markdown, tables and list items included: HTML
    special characters become entities, Markdown punctuation and a leading block marker are
    backslash-escaped, and nothing is autolinked. GitHub finds @mentions and #123 references in the
    rendered text, where an entity is a plain "@" again, so an invisible word joiner follows "@" and a
    "#" before a digit; URL autolinks are matched in the source, so an entity in "://" and "www." is enough."""
    text = one_line(text, limit)
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    text = _MD_SPECIAL.sub(r"\\\1", text)
    text = _escape_line_start(text)
    text = text.replace("@", "@" + WORD_JOINER)
    text = re.sub(r"#(?=\d)", "#" + WORD_JOINER, text)
    text = re.sub(r"(?i)\bwww\.", lambda m: m.group(0)[:3] + "&#46;", text)
    return text.replace("://", "&#58;//")


def _escape_line_start(text: str) -> str:
    if not _LINE_START.match(text):
        return text
    digits = len(text) - len(text.lstrip("0123456789"))
    # A backslash before the marker's first punctuation (after an ordered list's digits): "# x" becomes
    # a literal "#", "1. x" a literal "1.", as CommonMark's backslash escapes of ASCII punctuation.
    return text[:digits] + "\\" + text[digits:]


@dataclass
class Block:
    """A part of the document that ``_fit`` may shorten: ``head`` and ``tail`` stay together, ``items``
    (table rows, list items) are cut from the end, and ``more`` says how many were left out, counting
    ``hidden`` (left out by a count cap before fitting)."""

    priority: int                             # lower: kept first when room is short
    head: list[str]
    items: list[str] = field(default_factory=list)
    tail: list[str] = field(default_factory=list)
    hidden: int = 0
    more: Callable[[int], list[str]] = lambda n: [f"- … and {n} more in report.html"]


def _after_table(what: str) -> Callable[[int], list[str]]:
    """The "… and N more" line under a table: a blank line first, or GFM would make it a row."""
    return lambda n: ["", f"… and {n} more {what} in report.html."]


def _capped(items: list[str], limit: int) -> tuple[list[str], int]:
    return items[:limit], max(0, len(items) - limit)


Pair = tuple[CheckResult, Finding]


class MarkdownRenderer:
    format: ClassVar[str] = "md"
    filename: ClassVar[str] = "report.md"
    comparison_filename: ClassVar[str] = "compare.md"  # `audit compare`

    def render_comparison(self, comparison: Comparison) -> str:
        """`audit compare`'s compare.md."""
        from reports.compare_render import render_markdown  # it imports this module

        return render_markdown(comparison)

    @staticmethod
    def figures(report: Report) -> str:
        """The same figures as plain text, for the console verdict (auditor.reporting.headline_figures)."""
        return " · ".join(digest.figures(report, HEADLINE_CHECKS))

    def render(self, report: Report) -> str:
        gate = gate_view(report)
        baseline = has_baseline(report)
        pairs = report.findings(include_suppressed=True)
        new = [(c, f) for c, f in pairs if not f.suppressed and not f.known]
        known = [(c, f) for c, f in pairs if not f.suppressed and f.known]
        suppressed = [(c, f) for c, f in pairs if f.suppressed]
        head = self._head(report, gate, new, known, suppressed, baseline)
        tail = ["", "Full report with evidence and remediation: **report.html** (next to this file in the "
                "audit output directory or CI artifact). Data: report.json.", ""]
        blocks = [self._why(report), self._checks(report, baseline), self._findings(new, baseline),
                  *self._regressions(gate),
                  *self._entries(gate), *self._others(known, suppressed, gate), *self._endpoints(report)]
        return _fit(head, [b for b in blocks if b is not None], tail)

    @staticmethod
    def _head(report: Report, gate: GateView, new: list[Pair], known: list[Pair], suppressed: list[Pair],
              baseline: bool) -> list[str]:
        threshold = fail_on(report)
        exit_code = report.gate.get("exit_code")
        target = report.target.get("url") or report.target.get("repo") or "unnamed target"
        word = "gate never fails on findings" if threshold == "never" else f"gate fails on {threshold} or worse"
        tally = count_phrase(severity_counts(f for _, f in new))
        counts = (f"{len(new)} new: {tally}" if new else "no new findings") if baseline else tally
        if known:
            counts += f" · {len(known)} known"
        if suppressed:
            counts += f" · {len(suppressed)} suppressed"
        figures = " · ".join(f"**{md_escape(figure, 80)}**" for figure in digest.figures(report, HEADLINE_CHECKS))
        lines = [
            MARKER,
            f"## {VERDICT_EMOJI[report.verdict]} {VERDICT_WORDS[report.verdict]} — production readiness of "
            f"{md_escape(target, 120)}",
            "",
            f"**Verdict: {report.verdict}** · exit code {exit_code if exit_code is not None else '—'} · "
            f"{word} · {counts}",
            "",
            *([figures, ""] if figures else []),
            f"{md_escape(report.started_at, 40)} · {format_duration(report.duration_s)} · "
            f"{md_escape(report.tool.get('name', ''), 40)} {md_escape(report.tool.get('version', ''), 30)}",
        ]
        for notice in (report.target.get("safety") or {}).get("notices") or []:
            lines += ["", f"> ▲ {md_escape(notice, 300)}"]
        if gate.custom_policy:
            parts = [f"preset **{md_escape(gate.preset, 20)}**"] if gate.preset else []
            if gate.levels:
                parts.append("levels " + md_escape(", ".join(f"{c} {lv}" for c, lv in gate.levels), 300))
            if gate.fail_on_by_check:
                parts.append("fail on per check " + md_escape(", ".join(f"{c} {t}" for c, t in gate.fail_on_by_check),
                                                              300))
            lines += ["", "Policy: " + " · ".join(parts)]
        if gate.has_baseline:
            lines += ["", f"Baseline {md_escape(gate.baseline_path, 150)}: **{gate.new} new** · {gate.known} known "
                          f"(reported, not gating) · {gate.fixed_total} fixed since"]
        warnings = []
        if gate.regressions_total:
            warnings.append(f"{gate.regressions_total} metric regression{'s' if gate.regressions_total != 1 else ''}")
        if gate.expired_total:
            warnings.append(f"{gate.expired_total} expired ignore-file entr{'ies' if gate.expired_total != 1 else 'y'}")
        if warnings:
            lines += ["", f"> ⚠️ **Gate warnings:** {' and '.join(warnings)} — see below."]
        return lines

    @staticmethod
    def _why(report: Report) -> Block:
        """What decided the verdict, first: the findings that fail the gate, one line each (or what was
        verified and what was not), and the states that are not failures with their one action."""
        why = digest.why(report)
        items = [f"{i}. {SEVERITY_EMOJI.get(str(g.severity), '')} **{md_escape(g.first.rule_id, 20)}** "
                 f"{md_escape(g.first.title, 120)} — {md_escape(g.where, 100)}"
                 + (f" ({g.places} places)" if g.places > 1 else "")
                 + (f" · {md_escape(g.detail, 110)}" if g.detail else "")
                 for i, g in enumerate(why.gating, start=1)]
        if items:
            items.append("")  # the bullets below are a list of their own
        items += [f"- 💥 **{md_escape(c.id, 40)}** could not finish: {md_escape(c.summary, 200)}" for c in why.errored]
        if why.verified:
            items.append(f"- Verified: {md_escape(', '.join(why.verified), 300)}")
        items += [f"- ⏸️ Not verified — {md_escape(u.check_id, 40)}: {md_escape(u.what, 150)}"
                  + (f" — *{md_escape(u.action, 150)}*" if u.action else "") for u in why.unverified]
        if why.more:
            items.append(f"- … and {why.more} more cause{'s' if why.more != 1 else ''} failing the gate (below)")
        heading = "Why it is ready" if report.verdict == "pass" else "Why it is not ready"
        return Block(priority=-2, head=["", f"### {heading}", "", f"**{md_escape(why.sentence, 400)}**", ""],
                     items=items)

    @staticmethod
    def _checks(report: Report, baseline: bool) -> Block:
        rows = []
        for check in report.checks:
            open_ = [f for f in check.findings if not f.suppressed]
            hidden = len(check.findings) - len(open_)
            if baseline:
                known = sum(1 for f in open_ if f.known)
                count = f"{len(open_) - known} new, {known} known"
            else:
                count = f"{len(open_)}"
            count += f" (+{hidden} suppressed)" if hidden else ""
            rows.append(f"| {STATUS_EMOJI[check.status]} {STATUS_WORDS[check.status]} | {md_escape(check.id, 40)} | "
                        f"{md_escape(digest.headline(check), 80)} | {count} |")
        if not rows:
            rows.append("| — | — | no check ran | 0 |")
        shown, hidden_rows = _capped(rows, CHECK_ROWS)
        return Block(priority=2, head=["", "| Status | Check | Figure | Findings |", "|---|---|---|---|"],
                     items=shown, hidden=hidden_rows, more=_after_table("checks"))

    @staticmethod
    def _findings(new: list[Pair], baseline: bool) -> Block:
        word = "new findings" if baseline else "findings"
        if not new:
            return Block(priority=1, head=["", f"No {word}." if baseline else "No unsuppressed findings."])
        title = f"### {word.capitalize()} ({len(new)}, worst first)"
        rows = [_finding_row(f) for _, f in new]
        shown, hidden = _capped(rows, TOP_FINDINGS)
        return Block(priority=1, head=["", title, "", "| Severity | Rule | Title | Location |", "|---|---|---|---|"],
                     items=shown, hidden=hidden, more=_after_table(word))

    @staticmethod
    def _regressions(gate: GateView) -> list[Block]:
        if not gate.regressions_total:
            return []
        rows = [f"| {md_escape(r.check, 40)} | {md_escape(r.metric, 40)} | {md_escape(r.endpoint or '—', 120)} | "
                f"{md_escape(r.baseline, 30)} → **{md_escape(r.current, 30)}** | {md_escape(r.limit or '—', 60)} |"
                for r in gate.regressions]
        shown, hidden = _capped(rows, LIST_LIMIT)
        hidden += gate.regressions_total - len(gate.regressions)
        return [Block(priority=0, head=["", f"### ⚠️ Metric regressions ({gate.regressions_total})", "",
                                        "Worse than the baseline beyond the policy's band; each is a new finding above.",
                                        "", "| Check | Metric | Endpoint | Baseline → current | Limit |",
                                        "|---|---|---|---|---|"],
                      items=shown, hidden=hidden, more=_after_table("regressions"))]

    @staticmethod
    def _entries(gate: GateView) -> list[Block]:
        blocks = []
        file = md_escape(gate.ignore_file or "ignore file", 120)
        if gate.expired_total:
            items = [f"- entry {md_escape(e.entry, 10)} ({md_escape(e.selectors, 150)}) expired "
                     f"**{md_escape(e.expires, 20)}**"
                     + (f", would match {e.matches} finding{'s' if e.matches != 1 else ''}" if e.matches is not None
                        else "")
                     + (f", owner {md_escape(e.owner, 60)}" if e.owner else "")
                     + f": {md_escape(e.reason, 200)}" for e in gate.expired]
            shown, hidden = _capped(items, LIST_LIMIT)
            blocks.append(Block(priority=0, head=[
                "", f"### ⚠️ Expired ignore-file entries ({gate.expired_total})", "",
                f"These entries of {file} no longer suppress anything: the findings they match gate again. "
                "Renew them with a new date and reason, or fix the findings.", ""],
                items=shown, hidden=hidden + gate.expired_total - len(gate.expired)))
        if gate.unused_total:
            items = [f"- entry {md_escape(e.entry, 10)} ({md_escape(e.selectors, 150)})"
                     + (f", owner {md_escape(e.owner, 60)}" if e.owner else "") + f": {md_escape(e.reason, 200)}"
                     for e in gate.unused]
            shown, hidden = _capped(items, LIST_LIMIT)
            blocks.append(Block(priority=3, head=[
                "", f"### Unused ignore-file entries ({gate.unused_total})", "",
                f"These entries of {file} matched no finding in this run: fixed (remove them), or their check did "
                "not run.", ""],
                items=shown, hidden=hidden + gate.unused_total - len(gate.unused)))
        return blocks

    @staticmethod
    def _others(known: list[Pair], suppressed: list[Pair], gate: GateView) -> list[Block]:
        """Known, suppressed and fixed findings: counted in a <details> summary, the first of each listed."""
        counts = []
        if known:
            counts.append(f"{len(known)} known finding{'s' if len(known) != 1 else ''} (in the baseline)")
        if suppressed:
            counts.append(f"{len(suppressed)} suppressed")
        if gate.fixed_total:
            counts.append(f"{gate.fixed_total} fixed since the baseline")
        if not counts:
            return []
        blocks = [Block(priority=-1, head=["", f"<details><summary>{' · '.join(counts)}</summary>"])]
        if known:
            rows, hidden = _capped([_finding_row(f) for _, f in known], LIST_LIMIT)
            blocks.append(Block(priority=4, head=["", "**Known (in the baseline: reported, not gating)**", "",
                                                  "| Severity | Rule | Title | Location |", "|---|---|---|---|"],
                                items=rows, hidden=hidden, more=_after_table("known findings")))
        if suppressed:
            items = [f"- {SEVERITY_EMOJI[str(f.severity)]} {f.severity} {md_escape(f.rule_id, 20)} "
                     f"{md_escape(f.title, 120)}"
                     + (f" ({md_escape(format_location(f.location), 100)})" if f.location else "")
                     + f" — {_suppression_text(f)}" for _, f in suppressed]
            rows, hidden = _capped(items, LIST_LIMIT)
            blocks.append(Block(priority=4, head=["", "**Suppressed (not gating)**", ""], items=rows, hidden=hidden))
        if gate.fixed_total:
            items = [f"- {md_escape(r.check, 40)} {md_escape(r.rule_id, 20)} {md_escape(r.title, 120)}"
                     + (f" ({md_escape(r.location, 100)})" if r.location else "") for r in gate.fixed]
            rows, hidden = _capped(items, LIST_LIMIT)
            blocks.append(Block(priority=4, head=["", "**Fixed since the baseline**", ""], items=rows,
                                hidden=hidden + gate.fixed_total - len(gate.fixed)))
        # The tags are blocks of their own with the highest priority: both always there, never left open.
        blocks.append(Block(priority=-1, head=["", "</details>"]))
        return blocks

    @staticmethod
    def _endpoints(report: Report) -> list[Block]:
        """Report section 1 in brief: the counts, then the created/modified/removed operations."""
        inventory = endpoint_inventory(report)
        if inventory is None:
            return []
        head = ["", "### API endpoints", "", md_escape(inventory.headline, 200)]
        if inventory.baseline is None:
            return [Block(priority=5, head=head + [
                "", "No baseline: pass --baseline (a previous report.json or an older spec) to list "
                "created, modified and removed operations."])]
        blocks = [Block(priority=5, head=head)]
        for label, rows in (("Created", inventory.created), ("Modified", inventory.modified),
                            ("Removed", inventory.removed)):
            if not rows:
                continue
            items = []
            for row in rows:
                extra = f" — {md_escape(row['changes'], 80)}" if row.get("changes") else ""
                items.append(f"- {md_escape(row['method'], 12)} {md_escape(row['path'], 150)}{extra}")
            shown, hidden = _capped(items, ENDPOINTS_LISTED)
            blocks.append(Block(priority=5, head=["", f"**{label}** ({len(rows)})", ""], items=shown, hidden=hidden))
        return blocks


def _finding_row(finding: Finding) -> str:
    sev = str(finding.severity)
    return (f"| {SEVERITY_EMOJI[sev]} {sev} | {md_escape(finding.rule_id, 20)} | {md_escape(finding.title, 150)} | "
            f"{md_escape(format_location(finding.location), 120) or '—'} |")


def _suppression_text(finding: Finding) -> str:
    note = suppression_note(finding)
    if note is None or note.in_source:
        return "suppressed in the audited code (e.g. # nosec)"
    text = md_escape(note.reason or "no reason given", 200)
    text += f" · expires {md_escape(note.expires, 20)}" if note.expires else " · no expiry"
    return text + (f" · owner {md_escape(note.owner, 60)}" if note.owner else "")


def _size(lines: list[str]) -> int:
    return sum(len(line.encode()) + 1 for line in lines)


def _fit(head: list[str], blocks: list[Block], tail: list[str]) -> str:
    """Head and tail always; then the blocks by priority, each with as many items as still fit and a line
    counting the rest; a block whose head does not fit is left out and counted. Laid out in document order."""
    budget = MAX_BYTES - _size(head) - _size(tail) - 300  # room for the "left out" note
    kept: dict[int, list[str]] = {}
    dropped = 0
    for index in sorted(range(len(blocks)), key=lambda i: blocks[i].priority):
        block = blocks[index]
        fixed = _size(block.head) + _size(block.tail)
        if fixed + _size(block.more(len(block.items) + block.hidden)) > budget:
            dropped += 1
            continue
        budget -= fixed
        items: list[str] = []
        for position, item in enumerate(block.items):
            rest = len(block.items) - position - 1 + block.hidden
            cost = _size([item]) + (_size(block.more(rest)) if rest else 0)
            if cost > budget:
                break
            items.append(item)
            budget -= _size([item])
        left_out = len(block.items) - len(items) + block.hidden
        more = block.more(left_out) if left_out else []
        budget -= _size(more)
        kept[index] = block.head + items + more + block.tail
    body = [line for index in sorted(kept) for line in kept[index]]
    if dropped:
        body += ["", f"_… {dropped} more part{'s' if dropped != 1 else ''} of this summary left out to stay under "
                     "GitHub's comment size limit: see report.html._"]
    return "\n".join(head + body + tail)
