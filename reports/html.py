"""report.html: one self-contained page (inline CSS and SVG, no script, no external request) that a
reviewer reads in a minute: the verdict and, right under it, why (the findings that fail the gate, one
line each, linked to their cards; or what was verified and what was not), tiles with one figure per
section, the nine sections, and the findings grouped by root cause (reports/digest.py), low and info
folded away. `<details>`, anchors and CSS only.

All the deciding happens here, in plain Python (the view model); the jinja2 templates only lay it
out, with autoescape on for every template. Everything from the target is untrusted: it is escaped by
the template engine, truncated here, and never used as a URL.

Custom per-check content: if ``reports/templates/checks/<check id>.html.j2`` exists it is included
under that check's metrics with ``check`` (the CheckResult), ``metrics`` and ``svg`` (reports.svg) in the
context, e.g. ``{{ svg.bar_chart(labels, values, budget=100, unit="ms") }}``. Metric keys it draws
itself are declared at its top, ``{% set renders = ["checklist"] %}``, and left out of the generic block.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from jinja2 import Environment, PackageLoader, TemplateNotFound, select_autoescape

from auditor.model import OUTLINE, CheckResult, Finding, Report, Severity, Status
from reports import common, digest, svg
from reports.gate_view import finding_state, gate_view, has_baseline, suppression_note
from reports.common import (CELL_LIMIT, EVIDENCE_LIMIT, SEVERITIES, SEVERITY_COLOURS, SHORT_LIMIT,
                            STATUS_ICONS, STATUS_WORDS, TEXT_LIMIT, VERDICT_WORDS, format_location,
                            format_number, one_line, truncate)

if TYPE_CHECKING:
    from auditor.compare import Comparison

TABLE_VISIBLE_ROWS = 20      # rows of a list-of-dict metric shown before "show all"
TABLE_MAX_ROWS = 1000        # rows rendered at all (inside "show all"); the rest are counted only
TABLE_MAX_COLUMNS = 20
DICT_MAX_KEYS = 50
SCALAR_LIST_MAX = 50
NEXT_STEPS_LIMIT = 10
_SAFE_TEMPLATE_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def make_environment() -> Environment:
    env = Environment(
        loader=PackageLoader("reports", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["num"] = format_number
    env.filters["duration"] = common.format_duration
    env.filters["location"] = format_location
    env.globals.update(svg=svg, status_word=lambda s: STATUS_WORDS[Status(s)],
                       status_icon=lambda s: STATUS_ICONS[Status(s)], catalogue_link=common.catalogue_link,
                       truncate_text=truncate, one_line=one_line, suppression_note=suppression_note,
                       finding_state=finding_state)
    return env


@dataclass
class Table:
    name: str
    columns: list[str]
    rows: list[list[str]]          # every rendered row; the template shows the first TABLE_VISIBLE_ROWS
    total: int                     # rows in the metric (may exceed len(rows))

    @property
    def visible(self) -> list[list[str]]:
        return self.rows[:TABLE_VISIBLE_ROWS]

    @property
    def hidden(self) -> list[list[str]]:
        return self.rows[TABLE_VISIBLE_ROWS:]


@dataclass
class CheckView:
    check: CheckResult
    method: str
    scalars: list[tuple[str, str]]
    tables: list[Table]
    dicts: list[tuple[str, list[tuple[str, str]]]]
    findings: list[Finding]
    custom_template: str | None = None
    groups: list[digest.Group] = field(default_factory=list)   # this check's unsuppressed findings, by cause
    suppressed: int = 0


@dataclass
class SectionView:
    number: int
    key: str
    heading: str
    status: Status | None
    headline: str
    checks: list[CheckView] = field(default_factory=list)
    summary: str = ""                                    # the full run-on summary, shown on expansion
    counts: str = ""                                     # unsuppressed findings by severity: "2 high, 1 low"
    skipped: list[tuple[str, str]] = field(default_factory=list)
    ran: bool = False
    inventory: common.EndpointInventory | None = None   # section 1 only: the endpoint inventory


def _cell(value: Any) -> str:
    if isinstance(value, (dict, list)):
        import json
        return truncate(json.dumps(value, default=str, ensure_ascii=False), CELL_LIMIT)
    return truncate(format_number(value), CELL_LIMIT)


Pairs = list[tuple[str, str]]


def metric_parts(metrics: dict[str, Any]) -> tuple[str, Pairs, list[Table], list[tuple[str, Pairs]]]:
    """Split a check's metrics for generic display: (method sentence, scalars, tables, small dicts).

    Scalars (and lists of scalars) go to a definition list; a list of dicts becomes a table whose
    columns are the union of keys in first-seen order; a dict becomes a key/value table."""
    method = one_line(metrics.get("method", ""), TEXT_LIMIT) if metrics.get("method") else ""
    scalars: list[tuple[str, str]] = []
    tables: list[Table] = []
    dicts: list[tuple[str, list[tuple[str, str]]]] = []
    for key, value in metrics.items():
        name = truncate(key, SHORT_LIMIT)
        if key == "method":
            continue
        if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            columns: list[str] = []
            for row in value:
                for column in row:
                    if column not in columns:
                        columns.append(column)
            columns = columns[:TABLE_MAX_COLUMNS]
            rows = [[_cell(row.get(c)) if c in row else "" for c in columns] for row in value[:TABLE_MAX_ROWS]]
            tables.append(Table(name, [truncate(c, SHORT_LIMIT) for c in columns], rows, len(value)))
        elif isinstance(value, dict):
            items = list(value.items())
            pairs = [(truncate(k, SHORT_LIMIT), _cell(v)) for k, v in items[:DICT_MAX_KEYS]]
            if len(items) > DICT_MAX_KEYS:
                pairs.append(("…", f"{len(items) - DICT_MAX_KEYS} more keys in report.json"))
            dicts.append((name, pairs))
        elif isinstance(value, list):
            shown = ", ".join(_cell(v) for v in value[:SCALAR_LIST_MAX])
            if len(value) > SCALAR_LIST_MAX:
                shown += f", … ({len(value)} in all)"
            scalars.append((name, truncate(shown or "none", CELL_LIMIT)))
        else:
            scalars.append((name, _cell(value)))
    return method, scalars, tables, dicts


class HtmlRenderer:
    format: ClassVar[str] = "html"
    filename: ClassVar[str] = "report.html"
    comparison_filename: ClassVar[str] = "compare.html"  # `audit compare`

    def __init__(self) -> None:
        self.env = make_environment()

    def render_comparison(self, comparison: Comparison) -> str:
        """`audit compare`'s compare.html."""
        from reports.compare_render import render_html  # it imports this module

        return render_html(comparison)

    def render(self, report: Report) -> str:
        return self.env.get_template("report.html.j2").render(**self.context(report))

    # -- view model -------------------------------------------------------------------------------

    def context(self, report: Report) -> dict[str, Any]:
        threshold = common.fail_on(report)
        thresholds = {c.id: common.threshold_for(report, c.id) for c in report.checks}
        groups = digest.groups(report.findings())
        sections = [self._section(report, number, str(key), heading, groups)
                    for number, (key, heading) in enumerate(OUTLINE[:7], start=1)]
        concerns = common.group_by_severity(report.findings())
        by_severity = [(sev, [g for g in groups if g.severity == sev]) for sev in SEVERITIES]
        suppressed = [(c, f) for c, f in report.findings(include_suppressed=True) if f.suppressed]
        steps, more_steps = common.next_steps(report, NEXT_STEPS_LIMIT)
        return {
            "report": report,
            "tool": report.tool,
            "target": report.target,
            "verdict": str(report.verdict),
            "verdict_word": VERDICT_WORDS[report.verdict],
            "exit_code": report.gate.get("exit_code"),
            "fail_on": threshold,
            "service": report.service or {},
            "sections": sections,
            "outline": [(str(k), h) for k, h in OUTLINE],
            "concerns": concerns,
            "concern_groups": [(sev, gs) for sev, gs in by_severity if gs],
            "folded": (Severity.LOW, Severity.INFO),
            "why": digest.why(report, groups),
            "concern_count": sum(len(pairs) for _, pairs in concerns),
            "suppressed": suppressed,
            "steps": steps,
            "more_steps": more_steps,
            "overview_chart": self._overview_chart(report, sections),
            "severity_chart": self._severity_chart(report),
            "counts": common.severity_counts(f for _, f in report.findings()),
            "count_phrase": common.count_phrase(common.severity_counts(f for _, f in report.findings())),
            "fails_gate": lambda check, finding: common.fails_gate(check, finding,
                                                                   thresholds.get(check.id, threshold)),
            "gating_count": lambda group: sum(common.fails_gate(group.check, f, thresholds.get(group.check.id, threshold))
                                              for f in group.findings),
            "gate": gate_view(report),
            "baseline": has_baseline(report),
            "known_count": sum(1 for _, f in report.findings() if f.known),
            "evidence_limit": EVIDENCE_LIMIT,
            "check_count": len(report.checks),
            "status_counts": {s: sum(1 for c in report.checks if c.status == s) for s in Status},
        }

    def _section(self, report: Report, number: int, key: str, heading: str,
                 groups: list[digest.Group]) -> SectionView:
        checks = report.checks_in(key)
        ran = [c for c in checks if c.status != Status.SKIPPED]
        view = SectionView(number=number, key=key, heading=heading, status=common.section_status(checks),
                           headline=" · ".join(digest.headline(c) for c in ran) if ran
                           else common.section_headline(checks),
                           summary=common.section_headline(checks, limit=2000) if ran else "",
                           counts=common.count_phrase(common.severity_counts(
                               f for c in checks for f in c.findings if not f.suppressed)),
                           skipped=common.skip_reasons(checks), ran=common.section_ran(checks))
        if key == "endpoints" and not checks:
            # Section 1 is fed by the openapi check's inventory (common.INVENTORY_CHECK), not by a check
            # of its own; its status comes from the breaking changes against --baseline.
            inventory = common.endpoint_inventory(report)
            if inventory is not None:
                view.inventory, view.ran = inventory, True
                view.status, view.headline = inventory.status, inventory.headline
        for check in checks:
            if check.status == Status.SKIPPED:
                continue
            template = self._custom_template(check.id)
            shown_by_template = self._rendered_by(template) if template else frozenset()
            method, scalars, tables, dicts = metric_parts(
                {k: v for k, v in check.metrics.items() if k not in shown_by_template})
            view.checks.append(CheckView(check=check, method=method, scalars=scalars, tables=tables,
                                         dicts=dicts, findings=common.sort_findings(check.findings),
                                         custom_template=template,
                                         groups=[g for g in groups if g.check is check],
                                         suppressed=sum(1 for f in check.findings if f.suppressed)))
        return view

    def _custom_template(self, check_id: str) -> str | None:
        if not _SAFE_TEMPLATE_ID.match(check_id):
            return None
        name = f"checks/{check_id}.html.j2"
        try:
            self.env.get_template(name)
        except TemplateNotFound:
            return None
        return name

    def _rendered_by(self, template: str) -> frozenset[str]:
        """The metric keys a per-check template draws itself, declared at its top level as
        ``{% set renders = ["checklist", ...] %}``; the generic metrics block leaves them out. Read from
        the template's syntax tree: rendering its module would need a check's metrics."""
        from jinja2 import nodes

        assert self.env.loader is not None
        source = self.env.loader.get_source(self.env, template)[0]
        for node in self.env.parse(source).body:
            if isinstance(node, nodes.Assign) and isinstance(node.target, nodes.Name) \
                    and node.target.name == "renders":
                try:
                    return frozenset(str(key) for key in node.node.as_const())
                except (nodes.Impossible, TypeError):
                    return frozenset()
        return frozenset()

    @staticmethod
    def _overview_chart(report: Report, sections: list[SectionView]) -> Any:
        """Unsuppressed findings per section, stacked by severity."""
        per_section = {s.key: common.severity_counts(f for c in report.checks_in(s.key) for f in c.findings
                                                     if not f.suppressed) for s in sections}
        series = [(str(sev), [per_section[s.key][sev] for s in sections]) for sev in SEVERITIES]
        return svg.stacked_bar_chart([s.heading for s in sections], series,
                                     colours={str(k): v for k, v in SEVERITY_COLOURS.items()},
                                     title="Unsuppressed findings per section, by severity")

    @staticmethod
    def _severity_chart(report: Report) -> Any:
        counts = common.severity_counts(f for _, f in report.findings())
        return svg.bar_chart([str(s) for s in SEVERITIES], [counts[s] for s in SEVERITIES],
                             title="Unsuppressed findings by severity")


def severity_class(severity: Severity | str) -> str:
    return f"sev-{Severity(severity)}"
