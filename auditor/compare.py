"""`audit compare OLD.json NEW.json`: what changed between two saved reports.

Findings are matched by fingerprint (stable across runs and line shifts): **new** (only in NEW), **fixed**
(only in OLD, and NEW ran that check — a finding of a check that was skipped or errored in NEW is
"not re-checked", never fixed), **unchanged** (in both). Suppressed findings are listed, flagged. The
gate's own regression findings (LAT900, COV900, NPQ900, OAS900) are left out of the finding diff: the
metrics are compared directly, with the same rules and bands as the gate (auditor.regressions), into
**regressed** and **improved** metrics. Check status changes and both verdicts complete the picture.

Exit code (``Comparison.exit_code``): 1 when NEW has a new, unsuppressed finding at or above ``fail_on``
(or its check's own threshold) or a regressed metric, else 0. Bad input raises CompareError (a
BaselineError), one line, which the CLI turns into exit 2.

Entry point for the CLI::

    run_compare(old_path, new_path, *, renderers=None, output_dir=None, formats=("md", "html", "json"),
                limits=None, fail_on="high", fail_on_by_check=None) -> tuple[int, list[str], list[Path]]

returns (exit code, the lines to print, the files written); it prints nothing itself.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path
from typing import Any

from auditor.baseline import BaselineError
from auditor.config import PRESETS, RegressionSettings
from auditor.model import VERDICT_WORDS, CheckResult, Finding, Report, Severity, Status, location_text
from auditor.regressions import REGRESSION_RULE_IDS, MetricChange, metric_changes
from auditor.report_file import ReportLoadError, load_report

# compare.json is the core's own (Comparison.to_json); the other formats come from the report renderers
# (entry points, auditor.registry) that implement ``render_comparison`` and ``comparison_filename``.
FORMATS = ("md", "html", "json")
JSON_FILENAME = "compare.json"
TEXT_LISTED = 20  # findings / metrics listed per group on the console; the rest are counted

# Terminal control characters and bidi overrides in target-derived text must not reach a console.
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


class CompareError(BaselineError):
    """A report that cannot be compared, an unknown format or an unwritable output; one line."""


@dataclass(frozen=True)
class FindingDiff:
    check: str
    finding: Finding
    gating: bool = False  # a new finding that fails the comparison

    def to_dict(self) -> dict[str, Any]:
        f = self.finding
        return {"check": self.check, "rule_id": f.rule_id, "severity": str(f.severity), "title": f.title,
                "location": f.location, "fingerprint": f.fingerprint, "suppressed": f.suppressed,
                "gating": self.gating}


@dataclass(frozen=True)
class StatusChange:
    check: str
    title: str
    old: str | None  # None: the check is not in that report
    new: str | None

    def to_dict(self) -> dict[str, Any]:
        return {"check": self.check, "title": self.title, "old": self.old, "new": self.new}


@dataclass
class Comparison:
    old: Report
    new: Report
    old_label: str
    new_label: str
    fail_on: str
    limits: RegressionSettings
    new_findings: list[FindingDiff] = field(default_factory=list)
    fixed: list[FindingDiff] = field(default_factory=list)
    unchanged: list[FindingDiff] = field(default_factory=list)
    not_rechecked: list[FindingDiff] = field(default_factory=list)
    regressed: list[MetricChange] = field(default_factory=list)
    improved: list[MetricChange] = field(default_factory=list)
    steady: int = 0
    statuses: list[StatusChange] = field(default_factory=list)

    @property
    def gating(self) -> list[FindingDiff]:
        return [d for d in self.new_findings if d.gating]

    @property
    def exit_code(self) -> int:
        return 1 if self.gating or self.regressed else 0

    def headline(self) -> str:
        """"1 new finding at high or worse, 1 metric regressed" or "no new finding, no regression"."""
        parts = []
        if self.gating:
            parts.append(f"{_count(len(self.gating), 'new finding')} at {self.fail_on} or worse")
        if self.regressed:
            parts.append(f"{_count(len(self.regressed), 'metric')} regressed")
        return ", ".join(parts) if parts else "no new finding at the threshold, no regression"

    def to_text(self) -> list[str]:
        """Plain lines for the console (target-derived text cleaned of control characters)."""
        lines = [f"compare {clean(self.old_label)} → {clean(self.new_label)}",
                 f"verdict: {_verdict(self.old)} → {_verdict(self.new)}",
                 f"findings: {len(self.new_findings)} new ({len(self.gating)} failing at {self.fail_on} or worse), "
                 f"{len(self.fixed)} fixed, {len(self.unchanged)} unchanged"
                 + (f", {len(self.not_rechecked)} not re-checked" if self.not_rechecked else "")]
        for sign, group in (("+", self.new_findings), ("-", self.fixed)):
            for diff in group[:TEXT_LISTED]:
                lines.append(f"  {sign} {finding_line(diff)}")
            if len(group) > TEXT_LISTED:
                lines.append(f"  {sign} … and {len(group) - TEXT_LISTED} more")
        lines.append(f"metrics: {len(self.regressed)} regressed, {len(self.improved)} improved, "
                     f"{self.steady} within the bands")
        for sign, changes in (("▲ worse", self.regressed), ("▼ better", self.improved)):
            for change in changes[:TEXT_LISTED]:
                lines.append(f"  {sign}: {clean(change.label)} {change.describe()} (band {change.limit})")
            if len(changes) > TEXT_LISTED:
                lines.append(f"  {sign}: … and {len(changes) - TEXT_LISTED} more")
        for status in self.statuses:
            lines.append(f"check {clean(status.check)}: {status.old or 'absent'} → {status.new or 'absent'}")
        lines.append(f"{'FAIL' if self.exit_code else 'PASS'}: {self.headline()}")
        return lines

    def to_json(self) -> str:
        data = {
            "old": _side(self.old, self.old_label), "new": _side(self.new, self.new_label),
            "fail_on": self.fail_on, "limits": self.limits.model_dump(), "exit_code": self.exit_code,
            "findings": {"new": [d.to_dict() for d in self.new_findings], "fixed": [d.to_dict() for d in self.fixed],
                         "unchanged": [d.to_dict() for d in self.unchanged],
                         "not_rechecked": [d.to_dict() for d in self.not_rechecked]},
            "metrics": {"regressed": [_change(c) for c in self.regressed],
                        "improved": [_change(c) for c in self.improved], "steady": self.steady},
            "checks": [s.to_dict() for s in self.statuses],
        }
        return json.dumps(data, indent=2) + "\n"



def compare(old: Report, new: Report, limits: RegressionSettings | None = None, *, fail_on: str = "high",
            fail_on_by_check: Mapping[str, str] | None = None, old_label: str = "old",
            new_label: str = "new") -> Comparison:
    """Compare two reports; ``limits`` are the regression bands (any None: the default preset's)."""
    preset = PRESETS["default"].regressions.model_dump()
    limits = RegressionSettings(**{k: v if v is not None else preset[k]
                                   for k, v in (limits or RegressionSettings()).model_dump().items()})
    thresholds = dict(fail_on_by_check or {})
    result = Comparison(old, new, old_label, new_label, fail_on, limits)
    old_pairs, new_pairs = _pairs(old.checks), _pairs(new.checks)
    old_prints = {f.fingerprint for _, f in old_pairs}
    new_prints = {f.fingerprint for _, f in new_pairs}
    ran = {c.id for c in new.checks if c.status not in (Status.ERROR, Status.SKIPPED)}
    for check, finding in new_pairs:
        if finding.fingerprint in old_prints:
            result.unchanged.append(FindingDiff(check.id, finding))
        else:
            gating = _fails(finding, thresholds.get(check.id, fail_on))
            result.new_findings.append(FindingDiff(check.id, finding, gating))
    for check, finding in old_pairs:
        if finding.fingerprint not in new_prints:
            (result.fixed if check.id in ran else result.not_rechecked).append(FindingDiff(check.id, finding))
    for change in metric_changes(old.checks, new.checks, limits):
        if change.direction == "regressed":
            result.regressed.append(change)
        elif change.direction == "improved":
            result.improved.append(change)
        else:
            result.steady += 1
    result.statuses = _status_changes(old.checks, new.checks)
    return result


def comparison_writers(renderers: Mapping[str, Any]) -> dict[str, tuple[str, Callable[[Comparison], str]]]:
    """{format: (file name, render)}: JSON from the core, the rest from the renderers that can."""
    writers: dict[str, tuple[str, Callable[[Comparison], str]]] = {"json": (JSON_FILENAME, Comparison.to_json)}
    for fmt, cls in renderers.items():
        if hasattr(cls, "render_comparison") and hasattr(cls, "comparison_filename"):
            writers[fmt] = (cls.comparison_filename, lambda result, cls=cls: cls().render_comparison(result))
    return writers


def run_compare(old_path: str | PathLike[str], new_path: str | PathLike[str], *,
                renderers: Mapping[str, Any] | None = None, output_dir: Path | None = None,
                formats: Iterable[str] = FORMATS, limits: RegressionSettings | None = None, fail_on: str = "high",
                fail_on_by_check: Mapping[str, str] | None = None) -> tuple[int, list[str], list[Path]]:
    """Load both reports, compare them, write compare.<fmt> for each format into ``output_dir`` (none
    without it) through ``renderers`` (auditor.registry.load_renderers(); JSON needs none) and return
    (exit code 0/1, console lines, written files). CompareError on bad input."""
    writers = comparison_writers(renderers or {})
    formats = list(dict.fromkeys(formats))
    unknown = [f for f in formats if f not in writers] if output_dir is not None else []
    if unknown:
        raise CompareError(f"compare: unknown format {unknown[0]!r} (choose from {', '.join(writers)})")
    old, new = _load(old_path), _load(new_path)
    result = compare(old, new, limits, fail_on=fail_on, fail_on_by_check=fail_on_by_check,
                     old_label=str(old_path), new_label=str(new_path))
    written: list[Path] = []
    if output_dir is not None:
        try:
            output_dir.mkdir(parents=True, exist_ok=True)
            for fmt in formats:
                filename, render = writers[fmt]
                path = output_dir / filename
                path.write_text(render(result), encoding="utf-8")
                written.append(path)
        except OSError as exc:
            raise CompareError(f"compare: cannot write to {output_dir}: {exc.strerror or exc}") from None
    return result.exit_code, result.to_text(), written


def clean(text: Any, limit: int = 200) -> str:
    """One line of untrusted text fit for a terminal: no control characters, whitespace collapsed."""
    text = " ".join(_UNPRINTABLE.sub("?", str(text or "")).split())
    return text if len(text) <= limit else text[:limit] + "…"


def finding_line(diff: FindingDiff) -> str:
    f = diff.finding
    where = location_text(dict(f.location))
    flag = " (suppressed)" if f.suppressed else ""
    return f"[{f.severity}] {clean(f.rule_id, 20)} {clean(diff.check, 40)}: {clean(f.title, 120)}" \
           f"{' — ' + clean(where, 120) if where else ''}{flag}"


def _load(path: str | PathLike[str]) -> Report:
    try:
        return load_report(path)
    except ReportLoadError as exc:
        raise CompareError(f"compare: {exc}") from None


def _pairs(checks: list[CheckResult]) -> list[tuple[CheckResult, Finding]]:
    pairs = [(c, f) for c in checks for f in c.findings if f.rule_id not in REGRESSION_RULE_IDS]
    return sorted(pairs, key=lambda cf: -cf[1].severity.rank)  # worst first, check order otherwise


def _fails(finding: Finding, threshold: str) -> bool:
    if finding.suppressed or threshold == "never":
        return False
    try:
        return finding.severity.rank >= Severity(threshold).rank
    except ValueError:  # a threshold from a hand-edited report: gate on everything rather than nothing
        return True


def _status_changes(old: list[CheckResult], new: list[CheckResult]) -> list[StatusChange]:
    before = {c.id: c for c in old}
    after = {c.id: c for c in new}
    changes = []
    for check_id in list(dict.fromkeys([*after, *before])):
        a, b = before.get(check_id), after.get(check_id)
        old_status = str(a.status) if a else None
        new_status = str(b.status) if b else None
        if old_status != new_status:
            title = b.title if b else a.title if a else check_id
            changes.append(StatusChange(check_id, title, old_status, new_status))
    return changes


def _verdict(report: Report) -> str:
    return f"{report.verdict} ({VERDICT_WORDS[report.verdict]})"


def _side(report: Report, label: str) -> dict[str, Any]:
    return {"path": label, "started_at": report.started_at, "verdict": str(report.verdict),
            "target": report.target}


def _change(change: MetricChange) -> dict[str, Any]:
    item = change.to_dict()
    item["direction"] = change.direction
    return item


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"
