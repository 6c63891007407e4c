"""What the gate's policy did to a report (schema 1.1), made into display rows every renderer shows the
same way: the preset and levels when not the default, the --baseline (new, known, fixed), metric
regressions and the ignore file's expired and unused entries; and each finding's state (new, known,
suppressed) with the suppression's reason, expiry and owner.

report.gate comes from a saved, untrusted report.json: the schema only requires a few keys of each item,
so every value is checked for its type here and shortened to one line; nothing malformed raises.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from auditor.model import Finding, Report
from reports.common import SHORT_LIMIT, fail_on, format_location, format_number, one_line

ROW_LIMIT = 1000          # rows of each gate list kept at all (the rest are counted only)
IN_SOURCE_NOTE = "suppressed in the audited code (a marker such as # nosec), not by the ignore file"

State = Literal["new", "known", "suppressed"]


def finding_state(finding: Finding) -> State:
    """Suppressed wins over known: a suppressed finding is shown with its reason wherever it is."""
    if finding.suppressed:
        return "suppressed"
    return "known" if finding.known else "new"


def has_baseline(report: Report) -> bool:
    """True when the run was compared with a --baseline report (so "new" means something)."""
    return isinstance(report.gate.get("baseline"), dict)


@dataclass
class SuppressionNote:
    reason: str
    expires: str | None       # "YYYY-MM-DD", None: no expiry
    owner: str | None
    entry: str | None         # "entry 2 of .audit-ignore.toml"
    in_source: bool           # suppressed by the check itself (# nosec), no ignore-file entry

    @property
    def text(self) -> str:
        if self.in_source:
            return IN_SOURCE_NOTE
        parts = [self.reason or "no reason given"]
        parts.append(f"expires {self.expires}" if self.expires else "no expiry")
        if self.owner:
            parts.append(f"owner {self.owner}")
        if self.entry:
            parts.append(self.entry)
        return " · ".join(parts)


def suppression_note(finding: Finding) -> SuppressionNote | None:
    """Why a suppressed finding is suppressed (None: it is not)."""
    if not finding.suppressed:
        return None
    data = finding.suppression
    if not isinstance(data, dict):
        return SuppressionNote("", None, None, None, in_source=True)
    entry = data.get("entry")
    file = data.get("file")
    where = None
    if isinstance(entry, int) and not isinstance(entry, bool):
        where = f"entry {entry}" + (f" of {one_line(file, SHORT_LIMIT)}" if isinstance(file, str) and file else "")
    return SuppressionNote(reason=one_line(data.get("reason") or "", SHORT_LIMIT), expires=_text(data.get("expires"), 20),
                           owner=_text(data.get("owner"), 120), entry=where, in_source=False)


@dataclass
class EntryRow:
    """An ignore-file entry as report.json lists it under gate.suppressions.expired/unused."""
    entry: str
    selectors: str            # "rule SEC101 · path tests/**"
    reason: str
    expires: str              # "2025-06-30" or "never"
    owner: str
    matches: int | None       # expired entries: findings of this run it would have suppressed


@dataclass
class RegressionRow:
    check: str
    metric: str
    endpoint: str
    baseline: str
    current: str
    limit: str
    rule_id: str


@dataclass
class FixedRow:
    check: str
    rule_id: str
    title: str
    location: str


@dataclass
class GateView:
    fail_on: str
    preset: str | None = None                       # None: the default preset
    levels: list[tuple[str, str]] = field(default_factory=list)
    fail_on_by_check: list[tuple[str, str]] = field(default_factory=list)
    baseline_path: str | None = None                # None: no --baseline report
    new: int = 0
    known: int = 0
    fixed: list[FixedRow] = field(default_factory=list)
    fixed_total: int = 0
    regressions: list[RegressionRow] = field(default_factory=list)
    regressions_total: int = 0
    ignore_file: str | None = None                  # None: no ignore file was read
    applied: int = 0
    expired: list[EntryRow] = field(default_factory=list)
    expired_total: int = 0
    unused: list[EntryRow] = field(default_factory=list)
    unused_total: int = 0

    @property
    def has_baseline(self) -> bool:
        return self.baseline_path is not None

    @property
    def has_ignore_file(self) -> bool:
        return self.ignore_file is not None

    @property
    def custom_policy(self) -> bool:
        return bool(self.preset or self.levels or self.fail_on_by_check)

    @property
    def warnings(self) -> int:
        """Things the reader must see: regressions and expired ignore-file entries."""
        return self.regressions_total + self.expired_total

    @property
    def empty(self) -> bool:
        return not (self.custom_policy or self.has_baseline or self.regressions_total or self.has_ignore_file)


def gate_view(report: Report) -> GateView:
    gate = report.gate if isinstance(report.gate, dict) else {}
    view = GateView(fail_on=fail_on(report))
    preset = gate.get("preset")
    if isinstance(preset, str) and preset != "default":
        view.preset = one_line(preset, 40)
    view.levels = _pairs(gate.get("levels"))
    view.fail_on_by_check = _pairs(gate.get("fail_on_by_check"))
    baseline = gate.get("baseline")
    if isinstance(baseline, dict):
        view.baseline_path = one_line(baseline.get("path") or "baseline", SHORT_LIMIT)
        view.new, view.known = _count(baseline.get("new")), _count(baseline.get("known"))
        fixed = _dicts(baseline.get("fixed"))
        view.fixed_total = len(fixed)
        view.fixed = [FixedRow(check=_text(f.get("check"), 64) or "", rule_id=_text(f.get("rule_id"), 20) or "",
                               title=one_line(f.get("title") or "", 200),
                               location=format_location(f.get("location") if isinstance(f.get("location"), dict)
                                                        else None))
                      for f in fixed[:ROW_LIMIT]]
    regressions = _dicts(gate.get("regressions"))
    view.regressions_total = len(regressions)
    view.regressions = [_regression(r) for r in regressions[:ROW_LIMIT]]
    suppressions = gate.get("suppressions")
    if isinstance(suppressions, dict):
        view.ignore_file = one_line(suppressions.get("file") or "ignore file", SHORT_LIMIT)
        view.applied = _count(suppressions.get("applied"))
        expired, unused = _dicts(suppressions.get("expired")), _dicts(suppressions.get("unused"))
        view.expired_total, view.unused_total = len(expired), len(unused)
        view.expired = [_entry(e) for e in expired[:ROW_LIMIT]]
        view.unused = [_entry(e) for e in unused[:ROW_LIMIT]]
    return view


def _regression(item: dict[str, Any]) -> RegressionRow:
    return RegressionRow(check=_text(item.get("check"), 64) or "", metric=_text(item.get("metric"), 64) or "",
                         endpoint=_text(item.get("endpoint"), SHORT_LIMIT) or "",
                         baseline=one_line(format_number(item.get("baseline")), 40),
                         current=one_line(format_number(item.get("current")), 40),
                         limit=_text(item.get("limit"), 120) or "", rule_id=_text(item.get("rule_id"), 20) or "")


def _entry(item: dict[str, Any]) -> EntryRow:
    number = item.get("entry")
    selectors = " · ".join(f"{key} {one_line(item[key], SHORT_LIMIT)}"
                           for key in ("rule", "fingerprint", "path", "endpoint") if isinstance(item.get(key), str))
    matches = item.get("matches")
    return EntryRow(entry=str(number) if isinstance(number, int) and not isinstance(number, bool) else "?",
                    selectors=selectors, reason=one_line(item.get("reason") or "", SHORT_LIMIT),
                    expires=_text(item.get("expires"), 20) or "never", owner=_text(item.get("owner"), 120) or "",
                    matches=matches if isinstance(matches, int) and not isinstance(matches, bool) else None)


def _text(value: Any, limit: int) -> str | None:
    return one_line(value, limit) if isinstance(value, (str, int, float)) and not isinstance(value, bool) \
        and str(value) else None


def _count(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else 0


def _dicts(value: Any) -> list[dict[str, Any]]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _pairs(value: Any) -> list[tuple[str, str]]:
    if not isinstance(value, dict):
        return []
    return [(one_line(k, 64), one_line(v, 20)) for k, v in list(value.items())[:ROW_LIMIT]]
